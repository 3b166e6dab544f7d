/*
 * secagree.c - choosing, encoding and comparing ipsec-3gpp mechanisms.
 */
#include "ipsec/secagree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- preferences --------------------------------------------------------- */

void ipsec_prefs_default(struct ipsec_prefs *p)
{
	static const struct ipsec_alg_pair def[] = {
		{ ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC },
		{ ESP_AUTH_HMAC_SHA1_96, ESP_ENC_NULL },
		{ ESP_AUTH_HMAC_MD5_96, ESP_ENC_AES_CBC },
		{ ESP_AUTH_HMAC_MD5_96, ESP_ENC_NULL },
		{ ESP_AUTH_HMAC_SHA1_96, ESP_ENC_DES_EDE3_CBC },
		{ ESP_AUTH_HMAC_MD5_96, ESP_ENC_DES_EDE3_CBC },
	};

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(def) / sizeof(def[0]); i++)
		p->v[p->n++] = def[i];
}

int ipsec_prefs_rank(const struct ipsec_prefs *p, enum esp_auth_alg alg, enum esp_enc_alg ealg)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->v[i].alg == alg && p->v[i].ealg == ealg)
			return (int)i;
	return -1;
}

int ipsec_prefs_add(struct ipsec_prefs *p, struct str text)
{
	struct ipsec_alg_pair pair;
	ptrdiff_t slash = str_chr(text, '/');

	if (slash < 0)
		return -EINVAL;
	if (esp_auth_alg_parse(str_trim(str_sub(text, 0, (size_t)slash)), &pair.alg) ||
	    esp_enc_alg_parse(str_trim(str_sub(text, (size_t)slash + 1, text.len)), &pair.ealg))
		return -EINVAL;
	if (ipsec_prefs_rank(p, pair.alg, pair.ealg) >= 0)
		return -EEXIST;
	if (p->n >= IPSEC_PREFS_MAX)
		return -ENOSPC;
	p->v[p->n++] = pair;
	return 0;
}

/* ---- offers -------------------------------------------------------------- */

enum entry_verdict {
	ENTRY_USE,
	ENTRY_IGNORE,
	ENTRY_MALFORMED,
};

#define NEED (SIP_SEC_ALG | SIP_SEC_SPI_C | SIP_SEC_SPI_S | SIP_SEC_PORT_C | SIP_SEC_PORT_S)

static enum entry_verdict entry_decode(const struct sip_secmech *s, struct ipsec_mech *m,
				       const char **why)
{
	/*
	 * Annex H: prot defaults to esp, mod to trans; an absent ealg means
	 * no encryption, the NULL cipher of RFC 2410.
	 */
	if ((s->present & SIP_SEC_PROT) && !str_caseeq_cstr(s->prot, "esp"))
		return ENTRY_IGNORE;
	if ((s->present & SIP_SEC_MOD) && !str_caseeq_cstr(s->mod, "trans"))
		return ENTRY_IGNORE;
	if ((s->present & NEED) != NEED) {
		*why = "ipsec-3gpp entry without alg, spi-c, spi-s, port-c or port-s";
		return ENTRY_MALFORMED;
	}
	if (s->spi_c < 256 || s->spi_s < 256) {
		*why = "ipsec-3gpp entry with an SPI in the reserved range 0..255";
		return ENTRY_MALFORMED;
	}
	if (s->spi_c == s->spi_s) {
		*why = "ipsec-3gpp entry with spi-c equal to spi-s";
		return ENTRY_MALFORMED;
	}
	if (s->port_c == 0 || s->port_s == 0) {
		*why = "ipsec-3gpp entry with port 0";
		return ENTRY_MALFORMED;
	}
	if (s->port_c == s->port_s) {
		*why = "ipsec-3gpp entry with port-c equal to port-s";
		return ENTRY_MALFORMED;
	}
	if (esp_auth_alg_parse(s->alg, &m->alg))
		return ENTRY_IGNORE;
	m->ealg = ESP_ENC_NULL;
	if ((s->present & SIP_SEC_EALG) && esp_enc_alg_parse(s->ealg, &m->ealg))
		return ENTRY_IGNORE;
	m->q = (s->present & SIP_SEC_Q) ? s->q : IPSEC_Q_NONE;
	m->sp.spi_c = s->spi_c;
	m->sp.spi_s = s->spi_s;
	m->sp.port_c = s->port_c;
	m->sp.port_s = s->port_s;
	return ENTRY_USE;
}

int ipsec_offer_decode(const struct sip_secmech *v, unsigned n, struct ipsec_offer *out,
		       const char **why)
{
	struct ipsec_offer o;
	const char *reason = NULL;
	int rc = 0;

	memset(&o, 0, sizeof(o));
	if (n > IPSEC_OFFER_MAX) {
		reason = "more security mechanisms than simreg looks at";
		rc = -E2BIG;
		goto out;
	}
	o.n_entries = n;
	for (unsigned i = 0; i < n; i++) {
		struct ipsec_mech m;

		memset(&m, 0, sizeof(m));
		if (!str_caseeq_cstr(v[i].mech, IPSEC_MECH_NAME)) {
			o.n_ignored++;
			continue;
		}
		switch (entry_decode(&v[i], &m, &reason)) {
		case ENTRY_USE:
			m.index = i;
			o.m[o.n++] = m;
			break;
		case ENTRY_IGNORE:
			o.n_ignored++;
			break;
		case ENTRY_MALFORMED:
			rc = -EBADMSG;
			goto out;
		}
	}
	*out = o;
out:
	if (why)
		*why = reason;
	return rc;
}

int ipsec_offer_from_msg(const struct sip_msg *m, enum sip_hdr_id id, struct ipsec_offer *out,
			 const char **why)
{
	struct sip_secmech v[IPSEC_OFFER_MAX];
	struct sip_error err = { 0 };
	unsigned n = 0;
	int rc;

	if (!sip_msg_hdr(m, id)) {
		if (why)
			*why = "no security mechanism header";
		return -ENOENT;
	}
	rc = sip_msg_secmechs(m, id, v, IPSEC_OFFER_MAX, &n, &err);
	if (rc == -ENOSPC) {
		if (why)
			*why = "more security mechanisms than simreg looks at";
		return -E2BIG;
	}
	if (rc) {
		/* lib/sip's reasons are static sentences naming the fault. */
		if (why)
			*why = err.reason ? err.reason : "security mechanism header does not decode";
		return -EBADMSG;
	}
	return ipsec_offer_decode(v, n, out, why);
}

int ipsec_offer_choose(const struct ipsec_offer *o, const struct ipsec_prefs *prefs,
		       struct ipsec_mech *out)
{
	int best = -1, best_rank = 0;

	for (unsigned i = 0; i < o->n; i++) {
		int r = ipsec_prefs_rank(prefs, o->m[i].alg, o->m[i].ealg);

		if (r >= 0 && (best < 0 || r < best_rank)) {
			best = (int)i;
			best_rank = r;
		}
	}
	if (best < 0)
		return -ENOENT;
	*out = o->m[best];
	return 0;
}

/* Absent q ranks below q=0 (RFC 3329 2.2 leaves it to local policy; last is safest). */
static int q_rank(uint16_t q)
{
	return q == IPSEC_Q_NONE ? -1 : (int)q;
}

int ipsec_offer_choose_by_q(const struct ipsec_offer *o, const struct ipsec_prefs *supported,
			    struct ipsec_mech *out)
{
	int best = -1;

	for (unsigned i = 0; i < o->n; i++) {
		if (ipsec_prefs_rank(supported, o->m[i].alg, o->m[i].ealg) < 0)
			continue;
		if (best < 0 || q_rank(o->m[i].q) > q_rank(o->m[best].q))
			best = (int)i;
	}
	if (best < 0)
		return -ENOENT;
	*out = o->m[best];
	return 0;
}

/* ---- encoding ------------------------------------------------------------ */

static void print_q(struct buf *b, uint16_t q)
{
	if (q >= 1000) {
		buf_puts(b, ";q=1");
		return;
	}
	buf_printf(b, ";q=0.%03u", q);
	/* Trim trailing zeros: 0.100 -> 0.1, 0.000 -> 0.0 stays readable. */
	while (b->len >= 2 && b->p[b->len - 1] == '0' && b->p[b->len - 2] != '.')
		b->p[--b->len] = '\0';
}

void ipsec_mech_print(struct buf *b, const struct ipsec_mech *m)
{
	buf_printf(b, IPSEC_MECH_NAME ";prot=esp;mod=trans;spi-c=%u;spi-s=%u;port-c=%u;port-s=%u",
		   m->sp.spi_c, m->sp.spi_s, m->sp.port_c, m->sp.port_s);
	buf_printf(b, ";ealg=%s;alg=%s", esp_enc_alg_name(m->ealg), esp_auth_alg_name(m->alg));
	if (m->q != IPSEC_Q_NONE)
		print_q(b, m->q);
}

/* ---- canonical text ------------------------------------------------------ */

static void put_lower(struct buf *b, struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		char c = s.s[i];

		buf_putc(b, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
}

static int cmp_buf(const void *pa, const void *pb)
{
	const struct buf *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->p, b->p, n) : 0;

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static const char *const known_params[] = {
	"alg", "ealg", "prot", "mod", "spi-c", "spi-s", "port-c", "port-s",
	"q", "d-alg", "d-qop", "d-ver",
};

static bool is_known(struct str name)
{
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++)
		if (str_caseeq_cstr(name, known_params[i]))
			return true;
	return false;
}

static void canon_str(struct buf *b, const struct sip_secmech *s, uint32_t bit, const char *name,
		      struct str v)
{
	if (!(s->present & bit))
		return;
	buf_printf(b, ";%s=", name);
	put_lower(b, v);
}

static void canon_num(struct buf *b, const struct sip_secmech *s, uint32_t bit, const char *name,
		      uint32_t v)
{
	if (s->present & bit)
		buf_printf(b, ";%s=%u", name, v);
}

/* Parameters simreg does not know, as sorted "name=value" texts. */
static void canon_others(struct buf *b, const struct sip_secmech *s)
{
	struct str rest = s->params;
	struct sip_param p;
	struct buf *parts = NULL;
	unsigned n = 0;

	if (!s->n_other)
		return;
	parts = calloc(s->n_other, sizeof(*parts));
	if (!parts) {
		b->err = b->err ? b->err : -ENOMEM;
		return;
	}
	while (n < s->n_other && sip_param_next(&rest, &p) == 1) {
		if (is_known(p.name))
			continue;
		buf_init(&parts[n]);
		put_lower(&parts[n], p.name);
		if (p.value.s) {
			buf_putc(&parts[n], '=');
			if (p.quoted)
				buf_putc(&parts[n], '"');
			buf_put_str(&parts[n], p.value);
			if (p.quoted)
				buf_putc(&parts[n], '"');
		}
		n++;
	}
	qsort(parts, n, sizeof(*parts), cmp_buf);
	for (unsigned i = 0; i < n; i++) {
		buf_putc(b, ';');
		buf_put(b, parts[i].p, parts[i].len);
		if (buf_error(&parts[i]) && !b->err)
			b->err = buf_error(&parts[i]);
		buf_free(&parts[i]);
	}
	free(parts);
}

static void canon_entry(struct buf *b, const struct sip_secmech *s)
{
	put_lower(b, s->mech);
	canon_str(b, s, SIP_SEC_ALG, "alg", s->alg);
	canon_str(b, s, SIP_SEC_EALG, "ealg", s->ealg);
	canon_str(b, s, SIP_SEC_PROT, "prot", s->prot);
	canon_str(b, s, SIP_SEC_MOD, "mod", s->mod);
	canon_num(b, s, SIP_SEC_SPI_C, "spi-c", s->spi_c);
	canon_num(b, s, SIP_SEC_SPI_S, "spi-s", s->spi_s);
	canon_num(b, s, SIP_SEC_PORT_C, "port-c", s->port_c);
	canon_num(b, s, SIP_SEC_PORT_S, "port-s", s->port_s);
	canon_num(b, s, SIP_SEC_Q, "q", s->q);
	canon_str(b, s, SIP_SEC_D_ALG, "d-alg", s->d_alg);
	canon_str(b, s, SIP_SEC_D_QOP, "d-qop", s->d_qop);
	canon_str(b, s, SIP_SEC_D_VER, "d-ver", s->d_ver);
	canon_others(b, s);
}

void ipsec_secmech_canon(struct buf *b, const struct sip_secmech *v, unsigned n)
{
	struct buf *parts;

	if (n == 0)
		return;
	parts = calloc(n, sizeof(*parts));
	if (!parts) {
		b->err = b->err ? b->err : -ENOMEM;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		buf_init(&parts[i]);
		canon_entry(&parts[i], &v[i]);
	}
	/* Entries are a set: RFC 3329 orders by q, not by position. */
	qsort(parts, n, sizeof(*parts), cmp_buf);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		buf_put(b, parts[i].p, parts[i].len);
		if (buf_error(&parts[i]) && !b->err)
			b->err = buf_error(&parts[i]);
		buf_free(&parts[i]);
	}
	free(parts);
}

int ipsec_secmech_canon_msg(struct buf *b, const struct sip_msg *m, enum sip_hdr_id id)
{
	struct sip_secmech v[IPSEC_OFFER_MAX];
	unsigned n = 0;
	int rc;

	if (!sip_msg_hdr(m, id))
		return -ENOENT;
	rc = sip_msg_secmechs(m, id, v, IPSEC_OFFER_MAX, &n, NULL);
	if (rc == -ENOSPC)
		return -E2BIG;
	if (rc)
		return -EBADMSG;
	ipsec_secmech_canon(b, v, n);
	return buf_error(b);
}

/* ---- the bidding-down check --------------------------------------------- */

const char *ipsec_secagree_result_text(enum ipsec_secagree_result r)
{
	static const char *const text[] = {
#define X(id, t) t,
		IPSEC_SECAGREE_RESULTS(X)
#undef X
	};

	return (unsigned)r < IPSEC_SECAGREE__COUNT ? text[r] : "?";
}

/* Compare header `id` of m with a canonical text; 0 equal, 1 differ, or an error. */
static int compare(const struct sip_msg *m, enum sip_hdr_id id, struct str want)
{
	struct buf b;
	int rc;

	buf_init(&b);
	rc = ipsec_secmech_canon_msg(&b, m, id);
	if (rc == 0)
		rc = str_eq(buf_str(&b), want) ? 0 : 1;
	buf_free(&b);
	return rc;
}

enum ipsec_secagree_result ipsec_secagree_check(const struct sip_msg *m, struct str sent_server,
						struct str first_client)
{
	int rc;

	if (sent_server.len) {
		rc = compare(m, SIP_HDR_SECURITY_VERIFY, sent_server);
		if (rc == -ENOENT)
			return IPSEC_SECAGREE_NO_VERIFY;
		if (rc < 0)
			return IPSEC_SECAGREE_BAD_VERIFY;
		if (rc)
			return IPSEC_SECAGREE_VERIFY_MISMATCH;
	}
	if (first_client.len) {
		rc = compare(m, SIP_HDR_SECURITY_CLIENT, first_client);
		if (rc == -ENOENT)
			return IPSEC_SECAGREE_NO_CLIENT;
		if (rc < 0)
			return IPSEC_SECAGREE_BAD_CLIENT;
		if (rc)
			return IPSEC_SECAGREE_CLIENT_MISMATCH;
	}
	return IPSEC_SECAGREE_OK;
}
