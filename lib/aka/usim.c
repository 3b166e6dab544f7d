/*
 * The USIM's half of AKA, TS 33.102 §6.3.3 with the Annex C SQN array.
 */
#include "aka/usim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

int usim_init(struct usim *u, const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN],
	      enum milenage_opkind kind, const struct sqn_params *p)
{
	struct sqn_params def;
	int rc;

	memset(u, 0, sizeof(*u));
	if (!p) {
		sqn_params_default(&def);
		p = &def;
	}
	rc = sqn_ms_init(&u->sqn, p);
	if (rc)
		goto out;
	rc = milenage_init(&u->mil, k, op, kind);
out:
	return rc;
}

void usim_free(struct usim *u)
{
	milenage_free(&u->mil);
}

const char *usim_status_name(enum usim_status s)
{
	switch (s) {
	case USIM_OK:
		return "ok";
	case USIM_MAC_FAILURE:
		return "mac-failure";
	case USIM_SYNC_FAILURE:
		return "sync-failure";
	}
	return "?";
}

void usim_result_wipe(struct usim_result *r)
{
	OPENSSL_cleanse(r, sizeof(*r));
}

int usim_auts(struct milenage *m, const uint8_t rand[AKA_RAND_LEN], uint64_t sqn_ms,
	      uint8_t auts[AKA_AUTS_LEN])
{
	/* 33.102 §6.3.3: AMF* is a dummy, all zeros, so that MAC-S can never
	 * be replayed as a MAC-A. */
	static const uint8_t amf_star[AKA_AMF_LEN] = { 0x00, 0x00 };
	uint8_t sqnb[AKA_SQN_LEN], ak_star[AKA_AK_LEN];
	int rc;

	if (sqn_ms > AKA_SQN_MAX)
		return -EINVAL;
	aka_sqn_to_bytes(sqn_ms, sqnb);
	rc = milenage_f2_f5star(m, rand, NULL, NULL, NULL, NULL, ak_star);
	if (rc)
		goto out;
	rc = milenage_f1_f1star(m, rand, sqnb, amf_star, NULL, auts + AKA_SQN_LEN);
	if (rc)
		goto out;
	for (int i = 0; i < AKA_SQN_LEN; i++)
		auts[i] = sqnb[i] ^ ak_star[i];
out:
	OPENSSL_cleanse(ak_star, sizeof(ak_star));
	return rc;
}

int usim_authenticate(struct usim *u, const uint8_t rand[AKA_RAND_LEN],
		      const uint8_t autn[AKA_AUTN_LEN], struct usim_result *r)
{
	uint8_t ak[AKA_AK_LEN], sqnb[AKA_SQN_LEN], xmac[AKA_MAC_LEN];
	int rc;

	memset(r, 0, sizeof(*r));
	rc = milenage_f2_f5star(&u->mil, rand, r->res, r->ck, r->ik, ak, NULL);
	if (rc)
		goto fail;
	for (int i = 0; i < AKA_SQN_LEN; i++)
		sqnb[i] = autn[i] ^ ak[i];
	memcpy(r->amf, autn + AKA_SQN_LEN, AKA_AMF_LEN);
	rc = milenage_f1_f1star(&u->mil, rand, sqnb, r->amf, xmac, NULL);
	if (rc)
		goto fail;

	/* MAC first: a forged AUTN must not learn anything about our SQN
	 * state, and must not be able to provoke an AUTS. */
	if (CRYPTO_memcmp(xmac, autn + AKA_SQN_LEN + AKA_AMF_LEN, AKA_MAC_LEN) != 0) {
		usim_result_wipe(r);
		r->status = USIM_MAC_FAILURE;
		goto out;
	}
	r->sqn = aka_sqn_from_bytes(sqnb);
	r->sqn_verdict = sqn_ms_check(&u->sqn, r->sqn);
	if (r->sqn_verdict != SQN_FRESH) {
		OPENSSL_cleanse(r->res, sizeof(r->res));
		OPENSSL_cleanse(r->ck, sizeof(r->ck));
		OPENSSL_cleanse(r->ik, sizeof(r->ik));
		r->status = USIM_SYNC_FAILURE;
		rc = usim_auts(&u->mil, rand, sqn_ms_highest(&u->sqn), r->auts);
		if (rc)
			goto fail;
		goto out;
	}
	sqn_ms_accept(&u->sqn, r->sqn);
	r->status = USIM_OK;
	goto out;

fail:
	usim_result_wipe(r);
out:
	OPENSSL_cleanse(ak, sizeof(ak));
	OPENSSL_cleanse(xmac, sizeof(xmac));
	return rc;
}

/* ---- state file ------------------------------------------------------- */

int usim_state_format(const struct usim *u, char *buf, size_t size)
{
	const struct sqn_ms *ms = &u->sqn;
	size_t off = 0;
	int n;

	n = snprintf(buf, size,
		     "# simreg USIM SQN state (TS 33.102 Annex C)\n"
		     "ind_bits %u\ndelta %llu\nage_limit %llu\n",
		     ms->p.ind_bits, (unsigned long long)ms->p.delta,
		     (unsigned long long)ms->p.age_limit);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	off = (size_t)n;
	for (unsigned i = 0; i < (1u << ms->p.ind_bits); i++) {
		if (ms->seq[i] == 0)
			continue;
		n = snprintf(buf + off, size - off, "seq %u %llu\n", i,
			     (unsigned long long)ms->seq[i]);
		if (n < 0 || (size_t)n >= size - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

/* Split off the next space-separated word of *line. */
static struct str next_word(struct str *line)
{
	struct str w;
	ptrdiff_t sp;

	*line = str_trim(*line);
	sp = str_chr(*line, ' ');
	if (sp < 0) {
		w = *line;
		*line = STR_NULL;
	} else {
		w = str_make(line->s, (size_t)sp);
		*line = str_sub(*line, (size_t)sp + 1, line->len);
	}
	return w;
}

enum state_key { KEY_IND_BITS, KEY_DELTA, KEY_AGE_LIMIT, KEY__COUNT };
static const char *const state_keys[KEY__COUNT] = { "ind_bits", "delta", "age_limit" };
/* Bits of `seen`: one per key, and one once a seq line has been read. */
#define SEEN_ALL_KEYS ((1u << KEY__COUNT) - 1)
#define SEEN_SEQ (1u << KEY__COUNT)

static int parse_line(struct sqn_ms *ms, struct str line, unsigned *seen, uint8_t *slot_seen)
{
	struct str key = next_word(&line);
	struct str a = next_word(&line);
	struct str b = next_word(&line);
	uint64_t v, slot;

	if (key.len == 0 || a.len == 0)
		return -EINVAL;
	for (unsigned k = 0; k < KEY__COUNT; k++) {
		if (!str_eq_cstr(key, state_keys[k]))
			continue;
		if (b.len || (*seen & (1u << k)) || (*seen & SEEN_SEQ) ||
		    str_to_u64(a, k == KEY_IND_BITS ? SQN_IND_BITS_MAX : UINT64_MAX, &v))
			return -EINVAL;
		*seen |= 1u << k;
		if (k == KEY_IND_BITS)
			ms->p.ind_bits = (unsigned)v;
		else if (k == KEY_DELTA)
			ms->p.delta = v;
		else
			ms->p.age_limit = v;
		return 0;
	}
	if (!str_eq_cstr(key, "seq") || (*seen & SEEN_ALL_KEYS) != SEEN_ALL_KEYS || line.len)
		return -EINVAL;
	*seen |= SEEN_SEQ; /* parameters are fixed from here on */
	if (str_to_u64(a, (1u << ms->p.ind_bits) - 1, &slot) ||
	    str_to_u64(b, sqn_seq(AKA_SQN_MAX, ms->p.ind_bits), &v) || slot_seen[slot])
		return -EINVAL;
	slot_seen[slot] = 1;
	ms->seq[slot] = v;
	return 0;
}

int usim_state_parse(struct usim *u, struct str text, unsigned *err_line)
{
	struct sqn_ms ms;
	uint8_t slot_seen[1u << SQN_IND_BITS_MAX] = { 0 };
	unsigned seen = 0, lineno = 0;
	int rc = 0;

	memset(&ms, 0, sizeof(ms));
	while (text.len) {
		ptrdiff_t nl = str_chr(text, '\n');
		size_t len = nl < 0 ? text.len : (size_t)nl;
		struct str line = str_trim(str_make(text.s, len));

		text = str_sub(text, nl < 0 ? text.len : len + 1, text.len);
		lineno++;
		if (line.len == 0 || line.s[0] == '#')
			continue;
		rc = parse_line(&ms, line, &seen, slot_seen);
		if (rc)
			goto out;
	}
	lineno++;
	if ((seen & SEEN_ALL_KEYS) != SEEN_ALL_KEYS || sqn_params_check(&ms.p)) {
		rc = -EINVAL;
		goto out;
	}
	u->sqn = ms;
out:
	if (rc && err_line)
		*err_line = lineno;
	return rc;
}

int usim_state_save(const struct usim *u, const char *path)
{
	char buf[8192], tmp[4096];
	int fd = -1, len, rc = 0;
	size_t off = 0;

	len = usim_state_format(u, buf, sizeof(buf));
	if (len < 0)
		return len;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (off < (size_t)len) {
		ssize_t n = write(fd, buf + off, (size_t)len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto unlink_tmp;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		goto unlink_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto unlink_tmp;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto unlink_tmp;
	}
	goto out;

unlink_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	return rc;
}

int usim_state_load(struct usim *u, const char *path, unsigned *err_line)
{
	char buf[8192];
	size_t len = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			rc = -EFBIG; /* far more than any valid state */
			goto out;
		}
	}
	rc = usim_state_parse(u, str_make(buf, len), err_line);
out:
	close(fd);
	return rc;
}
