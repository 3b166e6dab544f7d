#include "core/str.h"

#include <errno.h>

static inline unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool str_caseeq(struct str a, struct str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (ascii_lower((unsigned char)a.s[i]) != ascii_lower((unsigned char)b.s[i]))
			return false;
	return true;
}

bool str_caseeq_cstr(struct str a, const char *b)
{
	return str_caseeq(a, str_from_cstr(b));
}

static inline bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct str str_trim(struct str a)
{
	while (a.len && is_lws(a.s[0])) {
		a.s++;
		a.len--;
	}
	while (a.len && is_lws(a.s[a.len - 1]))
		a.len--;
	return a;
}

struct str str_sub(struct str a, size_t off, size_t len)
{
	if (off > a.len)
		off = a.len;
	if (len > a.len - off)
		len = a.len - off;
	return (struct str){ a.s + off, len };
}

ptrdiff_t str_chr(struct str a, char c)
{
	const char *p = a.len ? memchr(a.s, c, a.len) : NULL;
	return p ? p - a.s : -1;
}

int str_to_u64(struct str a, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (a.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < a.len; i++) {
		unsigned d = (unsigned char)a.s[i] - '0';
		if (d > 9)
			return -EINVAL;
		if (d > max || v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int str_copy(char *dst, size_t dstsize, struct str a)
{
	if (dstsize == 0 || a.len >= dstsize)
		return -ENOSPC;
	if (a.len)
		memcpy(dst, a.s, a.len);
	dst[a.len] = '\0';
	return 0;
}
