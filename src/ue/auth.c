/*
 * auth.c - the USIM of the UE and the Authorization headers it makes.
 */
#define SLOG_COMPONENT "ue"
#include "ue/auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/hex.h"
#include "core/log.h"
#include "sip/msg.h"

int ue_usim_open(struct ue_usim *u, const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN],
		 enum milenage_opkind kind, unsigned ind_bits, const uint8_t *amf,
		 const char *state_path, char *why, size_t whylen)
{
	struct sqn_params p;
	unsigned line = 0;
	int rc;

	memset(u, 0, sizeof(*u));
	if (strlen(state_path) >= sizeof(u->state_path)) {
		snprintf(why, whylen, "SQN state path too long");
		return -EINVAL;
	}
	sqn_params_default(&p);
	p.ind_bits = ind_bits;
	rc = usim_init(&u->card, k, op, kind, &p);
	if (rc) {
		snprintf(why, whylen, "USIM: %s", strerror(-rc));
		return rc;
	}
	strcpy(u->state_path, state_path);
	if (amf) {
		u->check_amf = true;
		memcpy(u->amf, amf, AKA_AMF_LEN);
	}
	rc = usim_state_load(&u->card, state_path, &line);
	if (rc == -ENOENT) {
		rc = 0; /* a new card: every slot 0 */
	} else if (rc == -EINVAL) {
		snprintf(why, whylen, "%s:%u: not a USIM SQN state file", state_path, line);
	} else if (rc) {
		snprintf(why, whylen, "%s: %s", state_path, strerror(-rc));
	} else if (u->card.sqn.p.ind_bits != ind_bits) {
		snprintf(why, whylen, "%s: ind_bits %u, but ue.usim.sqn_ind_bits is %u", state_path,
			 u->card.sqn.p.ind_bits, ind_bits);
		rc = -EINVAL;
	}
	if (rc)
		usim_free(&u->card);
	return rc;
}

void ue_usim_close(struct ue_usim *u)
{
	usim_free(&u->card);
	OPENSSL_cleanse(u, sizeof(*u));
}

const char *ue_aka_verdict_name(enum ue_aka_verdict v)
{
	static const char *const names[] = {
		[UE_AKA_OK] = "ok",
		[UE_AKA_MAC_FAILURE] = "mac-failure",
		[UE_AKA_SYNC_FAILURE] = "sync-failure",
		[UE_AKA_BAD] = "bad-challenge",
	};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

void ue_challenge_wipe(struct ue_challenge *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

/* The first WWW-Authenticate value that is Digest with algorithm AKAv1-MD5. */
static bool find_aka_challenge(const struct sip_msg *msg, struct sip_auth *out)
{
	sip_msg_foreach(msg, SIP_HDR_WWW_AUTHENTICATE, h) {
		if (sip_auth_parse(h->value, true, out, NULL) < 0)
			continue;
		if (str_caseeq_cstr(out->scheme, "Digest") &&
		    str_caseeq_cstr(sip_auth_get(out, SIP_AUTH_ALGORITHM), "AKAv1-MD5"))
			return true;
	}
	return false;
}

/* qop="auth,auth-int": does the list hold "auth"? */
static bool qop_has_auth(struct str list)
{
	while (list.len) {
		ptrdiff_t comma = str_chr(list, ',');
		size_t n = comma < 0 ? list.len : (size_t)comma;

		if (str_caseeq_cstr(str_trim(str_make(list.s, n)), "auth"))
			return true;
		list = comma < 0 ? STR_NULL : str_sub(list, n + 1, list.len);
	}
	return false;
}

static int bad(struct ue_challenge *c, const char *why)
{
	c->verdict = UE_AKA_BAD;
	c->why = why;
	return 0;
}

int ue_usim_challenge(struct ue_usim *u, const struct sip_msg *msg, struct ue_challenge *c)
{
	struct sip_auth a;
	struct akav1_nonce n;
	struct usim_result r;
	struct str realm, nonce, opaque;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!find_aka_challenge(msg, &a))
		return bad(c, "no Digest AKAv1-MD5 challenge in WWW-Authenticate");
	realm = sip_auth_get(&a, SIP_AUTH_REALM);
	nonce = sip_auth_get(&a, SIP_AUTH_NONCE);
	opaque = sip_auth_get(&a, SIP_AUTH_OPAQUE);
	/* The values are echoed in quoted strings: refuse what needs escaping. */
	if (!realm.s || memchr(realm.s, '\\', realm.len) || memchr(realm.s, '"', realm.len) ||
	    str_copy(c->realm, sizeof(c->realm), realm) < 0)
		return bad(c, "realm missing, too long or escaped");
	if (!nonce.s || str_copy(c->nonce, sizeof(c->nonce), nonce) < 0)
		return bad(c, "nonce missing or too long");
	if (opaque.s) {
		if (memchr(opaque.s, '\\', opaque.len) || memchr(opaque.s, '"', opaque.len) ||
		    str_copy(c->opaque, sizeof(c->opaque), opaque) < 0)
			return bad(c, "opaque too long or escaped");
		c->has_opaque = true;
	}
	c->qop_auth = qop_has_auth(sip_auth_get(&a, SIP_AUTH_QOP));
	if (akav1_nonce_decode(nonce, &n) < 0)
		return bad(c, "nonce is not base64(RAND || AUTN)");
	memcpy(c->rand, n.rand, AKA_RAND_LEN);

	rc = usim_authenticate(&u->card, n.rand, n.autn, &r);
	if (rc)
		goto out;
	c->sqn_verdict = r.sqn_verdict;
	c->sqn = r.sqn;
	switch (r.status) {
	case USIM_MAC_FAILURE:
		c->verdict = UE_AKA_MAC_FAILURE;
		c->why = "MAC-A does not match: the network did not prove it knows K";
		break;
	case USIM_SYNC_FAILURE:
		c->verdict = UE_AKA_SYNC_FAILURE;
		memcpy(c->auts, r.auts, AKA_AUTS_LEN);
		break;
	case USIM_OK:
		if (u->check_amf && memcmp(r.amf, u->amf, AKA_AMF_LEN) != 0) {
			/*
			 * usim_authenticate() has already recorded the SQN;
			 * that is harmless: the vector is spent either way.
			 */
			c->verdict = UE_AKA_MAC_FAILURE;
			c->why = "AMF of the challenge is not the subscription's";
			break;
		}
		/* On disk before the response that proves acceptance leaves. */
		rc = usim_state_save(&u->card, u->state_path);
		if (rc) {
			log_error("USIM: cannot save SQN state to %s: %s; challenge not answered",
				  u->state_path, strerror(-rc));
			goto out;
		}
		c->verdict = UE_AKA_OK;
		memcpy(c->res, r.res, AKA_RES_LEN);
		memcpy(c->ck, r.ck, AKA_CK_LEN);
		memcpy(c->ik, r.ik, AKA_IK_LEN);
		break;
	}
out:
	usim_result_wipe(&r);
	OPENSSL_cleanse(&n, sizeof(n));
	return rc;
}

static void put_quoted(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, "%s=\"%s\"", name, value);
}

int ue_print_authorization(struct buf *b, enum ue_cred_kind kind, struct str impi,
			   struct str domain, struct ue_digest *d, const char *cnonce)
{
	char uri[300], auts[BASE64_ENCODED_LEN(AKA_AUTS_LEN) + 1], nc[9];
	struct digest_request r;
	const uint8_t *pw = NULL;
	size_t pwlen = 0;
	bool qop;
	int rc;

	snprintf(uri, sizeof(uri), "sip:%.*s", STR_FMT(domain));
	buf_printf(b, "Authorization: Digest username=\"%.*s\", ", STR_FMT(impi));
	if (kind == UE_CRED_INITIAL) {
		/* 24.229 5.1.1.2.1: realm is the home domain, nonce and response empty. */
		buf_printf(b, "realm=\"%.*s\", uri=\"%s\", nonce=\"\", response=\"\"\r\n",
			   STR_FMT(domain), uri);
		return 0;
	}
	if (!d->have)
		return -EINVAL;
	put_quoted(b, "realm", d->ch.realm);
	buf_puts(b, ", ");
	put_quoted(b, "uri", uri);
	buf_puts(b, ", ");
	put_quoted(b, "nonce", d->ch.nonce);
	buf_puts(b, ", algorithm=AKAv1-MD5");
	if (d->ch.has_opaque) {
		buf_puts(b, ", ");
		put_quoted(b, "opaque", d->ch.opaque);
	}
	switch (kind) {
	case UE_CRED_MAC_FAIL:
		/* 5.1.1.5.3: no auts, an empty response. */
		buf_puts(b, ", response=\"\"\r\n");
		return 0;
	case UE_CRED_LAST:
		/* 5.1.1.4.1: the last nonce and the last calculated response. */
		buf_printf(b, ", response=\"%s\"\r\n", d->response);
		return 0;
	case UE_CRED_RESPONSE:
		pw = d->ch.res;
		pwlen = AKA_RES_LEN;
		break;
	case UE_CRED_AUTS:
		/* RFC 3310 3.4: the response of a resync uses an empty password. */
		break;
	case UE_CRED_INITIAL:
		break;
	}
	qop = d->ch.qop_auth;
	if (qop && d->nc == 0)
		snprintf(d->cnonce, sizeof(d->cnonce), "%s", cnonce);
	snprintf(nc, sizeof(nc), "%08x", d->nc + 1);
	memset(&r, 0, sizeof(r));
	r.username = impi;
	r.realm = str_from_cstr(d->ch.realm);
	r.nonce = str_from_cstr(d->ch.nonce);
	r.uri = str_from_cstr(uri);
	r.method = STR_LIT("REGISTER");
	r.qop = qop ? DIGEST_QOP_AUTH : DIGEST_QOP_NONE;
	r.nc = str_from_cstr(nc);
	r.cnonce = str_from_cstr(d->cnonce);
	rc = digest_response(&r, pw, pwlen, d->response);
	if (rc)
		return rc;
	if (qop) {
		d->nc++;
		buf_printf(b, ", qop=auth, nc=%s, cnonce=\"%s\"", nc, d->cnonce);
	}
	if (kind == UE_CRED_AUTS) {
		base64_encode(d->ch.auts, AKA_AUTS_LEN, auts);
		buf_puts(b, ", ");
		put_quoted(b, "auts", auts);
	}
	buf_printf(b, ", response=\"%s\"\r\n", d->response);
	return 0;
}
