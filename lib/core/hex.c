#include "core/hex.h"

#include <errno.h>

static int hex_nibble(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static struct str strip_0x(struct str hex)
{
	if (hex.len >= 2 && hex.s[0] == '0' && (hex.s[1] | 0x20) == 'x')
		return str_sub(hex, 2, hex.len - 2);
	return hex;
}

int hex_decode_var(struct str hex, uint8_t *out, size_t cap, size_t *outlen)
{
	hex = strip_0x(hex);
	if (hex.len % 2 != 0 || hex.len / 2 > cap)
		return -EMSGSIZE;
	for (size_t i = 0; i < hex.len / 2; i++) {
		int hi = hex_nibble((unsigned char)hex.s[2 * i]);
		int lo = hex_nibble((unsigned char)hex.s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = hex.len / 2;
	return 0;
}

int hex_decode(struct str hex, uint8_t *out, size_t len)
{
	size_t got;
	struct str h = strip_0x(hex);

	if (h.len != 2 * len)
		return -EMSGSIZE;
	return hex_decode_var(h, out, len, &got);
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(struct str b64, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = b64.len;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	/* Up to two '=' at the end; the remainder must be a valid quantum. */
	if (n >= 1 && b64.s[n - 1] == '=') {
		n--;
		if (n >= 1 && b64.s[n - 1] == '=')
			n--;
		if (b64.len % 4 != 0)
			return -EINVAL;
	}
	if (n % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)b64.s[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -EMSGSIZE;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or the text does not encode `out`. */
	if (acc != 0)
		return -EINVAL;
	*outlen = o;
	return 0;
}
