/*
 * config.c - the `ue:` configuration section and the parsers of its
 * list entries.
 */
#include "ue/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aka/esp_keys.h"
#include "aka/milenage.h"
#include "aka/sqn.h"
#include "ipsec/secagree.h"

static const char *const bindings[] = { "registration", "impi", NULL };

static const struct config_key ue_keys[] = {
	CONFIG_STRING("ue.impi", struct ue_config, impi, "alice@ims.test",
		      "private identity (IMPI) of the subscription, USER@REALM"),
	CONFIG_STRLIST("ue.impus", struct ue_config, impus, "[ \"sip:alice@ims.test\" ]",
		       "public identities (IMPUs); the first is used in From and To"),
	CONFIG_STRING("ue.instance", struct ue_config, instance,
		      "urn:gsma:imei:35209900-176148-0",
		      "+sip.instance URN (RFC 5626), the same on every access"),
	CONFIG_STRING("ue.domain", struct ue_config, domain, "\"\"",
		      "home network domain: Request-URI of REGISTER and digest realm; \"\": the "
		      "IMPI's realm"),
	CONFIG_HEX("ue.usim.k", struct ue_config, k, 16, 16, "465b5ce8b199b49faa5f0a2ee238a6bc",
		   "subscriber key K (TS 35.206)"),
	CONFIG_HEX("ue.usim.opc", struct ue_config, opc, 0, 16, "cd63cb71954a9f4e48a5994e37a02baf",
		   "OPc; set it or ue.usim.op, not both (\"\" to leave it out)"),
	CONFIG_HEX("ue.usim.op", struct ue_config, op, 0, 16, "\"\"",
		   "operator variant OP, from which OPc is derived with K"),
	CONFIG_HEX("ue.usim.amf", struct ue_config, amf, 0, 2, "\"\"",
		   "AMF the subscription uses; when set, a challenge whose AUTN carries another "
		   "AMF is refused like a MAC failure; \"\": not checked"),
	CONFIG_STRING("ue.usim.sqn_state", struct ue_config, sqn_state, "\"\"",
		      "file holding the USIM's SQN array (TS 33.102 Annex C); \"\": "
		      "DATA/ue-sqn.state"),
	CONFIG_INT("ue.usim.sqn_ind_bits", struct ue_config, sqn_ind_bits, 0, SQN_IND_BITS_MAX,
		   "5", "IND bits of the SQN; must equal hss.sqn_ind_bits"),
	CONFIG_ENUM("ue.mechanism", struct ue_config, mechanism, ue_mech_names, "none",
		    "simultaneous-registration mechanism (docs/ue.md)"),
	CONFIG_STRING("ue.impi_template", struct ue_config, impi_template,
		      "\"" UE_IMPI_TEMPLATE_DEFAULT "\"",
		      "modified-impi: IMPI of access n >= 2, from {user} {realm} {impi} {n}"),
	CONFIG_ENUM("ue.sa_binding", struct ue_config, sa_binding, bindings, "registration",
		    "registration: one SA set per access; impi (legacy): a successful "
		    "registration deletes the SA sets of the other accesses with the same IMPI"),
	CONFIG_INT("ue.expires", struct ue_config, expires, 60, 4294967295LL, "600000",
		   "registration expiry asked for in REGISTER (TS 24.229: 600000)"),
	CONFIG_BOOL("ue.register_at_start", struct ue_config, register_at_start, "true",
		    "register every access when the process starts (else wait for `ctl ue "
		    "register`)"),
	CONFIG_STRLIST("ue.accesses", struct ue_config, accesses, "[]",
		       "one entry per access: \"NAME local=IP[:PORT]|interface=IF "
		       "pcscf=IP[:PORT] [transport=udp|tcp]\""),
	CONFIG_STRLIST("ue.offers", struct ue_config, offers,
		       "[ \"hmac-sha-1-96/aes-cbc\", \"hmac-sha-1-96/null\" ]",
		       "Security-Client offers, ALG/EALG, in order of preference"),
	CONFIG_INT("ue.answer.message", struct ue_config, answer_message, 200, 699, "200",
		   "status answered to an incoming MESSAGE"),
	CONFIG_INT("ue.answer.options", struct ue_config, answer_options, 200, 699, "200",
		   "status answered to an incoming OPTIONS"),
	CONFIG_INT("ue.answer.invite", struct ue_config, answer_invite, 200, 699, "486",
		   "status answered to an incoming INVITE"),
	CONFIG_DURATION("ue.backoff.base_all_failed", struct ue_config, backoff_base_all_ms, 1,
			3600000, "30s", "RFC 5626 4.5 base-time when no access is registered"),
	CONFIG_DURATION("ue.backoff.base_some_ok", struct ue_config, backoff_base_some_ms, 1,
			3600000, "90s", "RFC 5626 4.5 base-time when another access is registered"),
	CONFIG_DURATION("ue.backoff.max", struct ue_config, backoff_max_ms, 1, 86400000, "1800s",
			"RFC 5626 4.5 max-time"),
	CONFIG_DURATION("ue.keepalive.interval", struct ue_config, keepalive_ms, 0, 3600000, "0s",
			"outbound keepalive interval; 0s: RFC 5626 4.4.1 (80-100% of "
			"Flow-Timer, else 24-29s UDP, 95-120s TCP)"),
	CONFIG_DURATION("ue.keepalive.timeout", struct ue_config, keepalive_timeout_ms, 100,
			600000, "10s", "a keepalive unanswered this long means the flow failed"),
	CONFIG_STRING("ue.data", struct ue_config, data, "simreg-data",
		      "data directory (--data overrides)"),
	CONFIG_STRING("ue.event_log", struct ue_config, event_log, "\"\"",
		      "JSON-lines event log; \"\": DATA/ue-events.jsonl; \"-\": standard output"),
	CONFIG_STRING("ue.ctl", struct ue_config, ctl, "\"\"",
		      "control socket; \"\": DATA/ue.ctl (--ctl overrides)"),
	SIP_CONFIG_KEYS("ue.sip", struct ue_config, sip),
};

static bool name_ok(const char *s, size_t len)
{
	if (!len || len >= UE_ACCESS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* Next space-separated word of *p. */
static struct str next_word(const char **p)
{
	const char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	*p = e;
	return str_make(s, (size_t)(e - s));
}

int ue_access_config_parse(const char *text, struct ue_access_config *out, char *why,
			   size_t whylen)
{
	struct ue_access_config c;
	bool have_local = false, have_if = false, have_pcscf = false;
	const char *p = text;
	struct str w;

	memset(&c, 0, sizeof(c));
	c.proto = SIP_TRANSPORT_UDP;
	w = next_word(&p);
	if (!name_ok(w.s, w.len) || memchr(w.s, '=', w.len)) {
		snprintf(why, whylen,
			 "access '%s': first word must be its name (1 to 15 letters, digits, "
			 "'-', '_')",
			 text);
		return -EINVAL;
	}
	memcpy(c.name, w.s, w.len);
	for (w = next_word(&p); w.len; w = next_word(&p)) {
		ptrdiff_t eq = str_chr(w, '=');
		struct str key, val;

		if (eq <= 0) {
			snprintf(why, whylen, "access %s: '%.*s' is not key=value", c.name,
				 STR_FMT(w));
			return -EINVAL;
		}
		key = str_make(w.s, (size_t)eq);
		val = str_make(w.s + eq + 1, w.len - (size_t)eq - 1);
		if (str_eq_cstr(key, "local") && !have_local) {
			if (sip_sockaddr_parse(val, 5060, &c.local) < 0 ||
			    sip_sockaddr_is_any(&c.local))
				goto bad_value;
			have_local = true;
		} else if (str_eq_cstr(key, "interface") && !have_if) {
			if (!name_ok(val.s, val.len))
				goto bad_value;
			memcpy(c.ifname, val.s, val.len);
			have_if = true;
		} else if (str_eq_cstr(key, "pcscf") && !have_pcscf) {
			if (sip_sockaddr_parse(val, 5060, &c.pcscf) < 0 ||
			    sip_sockaddr_is_any(&c.pcscf) || sip_sockaddr_port(&c.pcscf) == 0)
				goto bad_value;
			have_pcscf = true;
		} else if (str_eq_cstr(key, "transport")) {
			c.proto = sip_transport_lookup(val);
			if (c.proto != SIP_TRANSPORT_UDP && c.proto != SIP_TRANSPORT_TCP)
				goto bad_value;
		} else {
			snprintf(why, whylen,
				 "access %s: unknown or repeated key '%.*s' (local, interface, "
				 "pcscf, transport)",
				 c.name, STR_FMT(key));
			return -EINVAL;
		}
		continue;
bad_value:
		snprintf(why, whylen, "access %s: bad value for %.*s: '%.*s'", c.name,
			 STR_FMT(key), STR_FMT(val));
		return -EINVAL;
	}
	if (have_local == have_if) {
		snprintf(why, whylen, "access %s: give exactly one of local= and interface=",
			 c.name);
		return -EINVAL;
	}
	if (!have_pcscf) {
		snprintf(why, whylen, "access %s: pcscf= is missing", c.name);
		return -EINVAL;
	}
	if (have_local && c.local.sa.sa_family != c.pcscf.sa.sa_family) {
		snprintf(why, whylen, "access %s: local and pcscf addresses of different families",
			 c.name);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

int ue_offers_parse(const struct config_strlist *l, struct ipsec_prefs *out, char *why,
		    size_t whylen)
{
	if (l->n == 0 || l->n > UE_MAX_OFFERS) {
		snprintf(why, whylen, "ue.offers: 1 to %d entries", UE_MAX_OFFERS);
		return -EINVAL;
	}
	out->n = 0;
	for (size_t i = 0; i < l->n; i++) {
		int rc = ipsec_prefs_add(out, str_from_cstr(l->v[i]));

		if (rc) {
			snprintf(why, whylen,
				 "ue.offers: '%s' %s: ALG/EALG, ALG hmac-md5-96 or hmac-sha-1-96, "
				 "EALG null, aes-cbc or des-ede3-cbc",
				 l->v[i], rc == -EEXIST ? "is listed twice" : "is not usable");
			return -EINVAL;
		}
	}
	return 0;
}

/* Rules spanning keys, and the list entries the loader sees only as strings. */
static int ue_check(const void *data, char *why, size_t whylen)
{
	const struct ue_config *c = data;
	struct ue_access_config acc[UE_MAX_ACCESSES];
	struct ipsec_prefs prefs;
	const char *at = strrchr(c->impi, '@');

	if (!at || at == c->impi || !at[1] || strlen(c->impi) >= UE_IMPI_MAX) {
		snprintf(why, whylen, "ue.impi '%s' is not USER@REALM", c->impi);
		return -EINVAL;
	}
	if (c->impus.n == 0) {
		snprintf(why, whylen, "ue.impus is empty");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->impus.n; i++) {
		if (strncmp(c->impus.v[i], "sip:", 4) && strncmp(c->impus.v[i], "tel:", 4)) {
			snprintf(why, whylen, "ue.impus: '%s' is not a sip: or tel: URI",
				 c->impus.v[i]);
			return -EINVAL;
		}
	}
	if (strncmp(c->impus.v[0], "sip:", 4)) {
		snprintf(why, whylen, "ue.impus: the first IMPU must be a sip: URI (it goes in "
				      "From and To of REGISTER, TS 24.229 5.1.1.2)");
		return -EINVAL;
	}
	if ((c->opc.len == 16) == (c->op.len == 16) || (c->opc.len && c->opc.len != 16) ||
	    (c->op.len && c->op.len != 16)) {
		snprintf(why, whylen, "give exactly one of ue.usim.opc and ue.usim.op, 16 octets");
		return -EINVAL;
	}
	if (c->amf.len != 0 && c->amf.len != 2) {
		snprintf(why, whylen, "ue.usim.amf: 2 octets, or \"\"");
		return -EINVAL;
	}
	if ((ue_mech_flags((enum ue_mech)c->mechanism) & UE_MF_MODIFIED_IMPI) &&
	    ue_impi_template_check(c->impi_template, why, whylen) < 0)
		return -EINVAL;
	if (c->accesses.n > UE_MAX_ACCESSES) {
		snprintf(why, whylen, "ue.accesses: at most %d accesses", UE_MAX_ACCESSES);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->accesses.n; i++) {
		if (ue_access_config_parse(c->accesses.v[i], &acc[i], why, whylen) < 0)
			return -EINVAL;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(acc[i].name, acc[j].name) == 0) {
				snprintf(why, whylen, "ue.accesses: two accesses named %s",
					 acc[i].name);
				return -EINVAL;
			}
		}
	}
	if (ue_offers_parse(&c->offers, &prefs, why, whylen) < 0)
		return -EINVAL;
	if (c->sip.listen.n) {
		snprintf(why, whylen, "ue.sip.listen: the UE listens on its accesses (ue.accesses)");
		return -EINVAL;
	}
	if (c->backoff_base_all_ms > c->backoff_max_ms ||
	    c->backoff_base_some_ms > c->backoff_max_ms) {
		snprintf(why, whylen, "ue.backoff: base times above ue.backoff.max");
		return -EINVAL;
	}
	return 0;
}

const struct config_section ue_config_section = {
	.name = "ue",
	.doc = "The UE: identity, USIM, accesses and mechanism (docs/ue.md).",
	.size = sizeof(struct ue_config),
	.keys = ue_keys,
	.nkeys = sizeof(ue_keys) / sizeof(ue_keys[0]),
	.check = ue_check,
};
