#include "ipsec/keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "core/hex.h"

/* Wireshark's names for the algorithms (its esp_sa UAT enumerations). */
static const char *const ws_auth[ESP_AUTH__COUNT] = {
	[ESP_AUTH_HMAC_MD5_96] = "HMAC-MD5-96 [RFC2403]",
	[ESP_AUTH_HMAC_SHA1_96] = "HMAC-SHA-1-96 [RFC2404]",
};

static const char *const ws_enc[ESP_ENC__COUNT] = {
	[ESP_ENC_NULL] = "NULL",
	[ESP_ENC_AES_CBC] = "AES-CBC [RFC3602]",
	[ESP_ENC_DES_EDE3_CBC] = "TripleDES-CBC [RFC2451]",
};

int ipsec_keylog_format(const struct ipsec_sa_set *set, unsigned n, char *buf, size_t cap)
{
	const struct esp_keys *k = &set->p.keys;
	char src[IPSEC_ADDR_STRLEN], dst[IPSEC_ADDR_STRLEN];
	char ik[2 * ESP_AUTH_KEY_MAX + 3] = "0x", ck[2 * ESP_ENC_KEY_MAX + 3] = "0x";
	const struct ipsec_sa *sa;
	int len;

	if (n < 1 || n > IPSEC_SET_SAS || (unsigned)k->auth >= ESP_AUTH__COUNT ||
	    (unsigned)k->enc >= ESP_ENC__COUNT)
		return -EINVAL;
	sa = ipsec_sa_set_sa(set, n);
	hex_encode(k->ik_esp, k->ik_len, ik + 2);
	if (k->ck_len)
		hex_encode(k->ck_esp, k->ck_len, ck + 2);
	else
		ck[0] = '\0'; /* the NULL cipher has an empty key field */
	len = snprintf(buf, cap, "\"%s\",\"%s\",\"%s\",\"0x%08x\",\"%s\",\"%s\",\"%s\",\"%s\"",
		       sa->src.family == AF_INET ? "IPv4" : "IPv6", ipsec_addr_str(&sa->src, src),
		       ipsec_addr_str(&sa->dst, dst), sa->spi, ws_enc[k->enc], ck, ws_auth[k->auth],
		       ik);
	OPENSSL_cleanse(ik, sizeof(ik));
	OPENSSL_cleanse(ck, sizeof(ck));
	if (len < 0 || (size_t)len >= cap) {
		OPENSSL_cleanse(buf, cap);
		return -ENOSPC;
	}
	return len;
}

int ipsec_keylog_write(FILE *f, const struct ipsec_sa_set *set)
{
	char line[IPSEC_KEYLOG_LINE_MAX];
	int ret = 0;

	for (unsigned n = 1; n <= IPSEC_SET_SAS && !ret; n++) {
		int len = ipsec_keylog_format(set, n, line, sizeof(line));

		if (len < 0)
			ret = len;
		else if (fprintf(f, "%s\n", line) < 0)
			ret = -EIO;
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (!ret && fflush(f) != 0)
		ret = -EIO;
	return ret;
}

FILE *ipsec_keylog_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}
