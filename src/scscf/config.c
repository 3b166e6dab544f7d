/*
 * The `scscf:` configuration section. Defaults are the issue's: SIP on UDP
 * and TCP 127.0.0.1:6060, home domain ims.test, the HSS hss.ims.test at
 * 127.0.0.1:3868 (docs/architecture.md, "Defaults").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scscf/scscf.h"

const char *const scscf_policy_names[] = {
#define X(id, name, flags) name,
	SCSCF_POLICIES(X)
#undef X
	NULL,
};

static const unsigned policy_flags[] = {
#define X(id, name, flags) flags,
	SCSCF_POLICIES(X)
#undef X
};

unsigned scscf_policy_flags(enum scscf_policy p)
{
	return (unsigned)p < SCSCF_POLICY__COUNT ? policy_flags[p] : 0;
}

/* Indexed by enum scscf_reauth. */
const char *const scscf_reauth_names[] = { "never", "always", "on-request", NULL };
static const char *const notify_names[] = { "full", "partial", NULL };
const char *const scscf_cx_client_names[] = { "loop", "freediameter", NULL };

static const struct config_key scscf_keys[] = {
	CONFIG_STRING("scscf.data", struct scscf_config, data, "simreg-data",
		      "data directory: bindings and subscriptions in DATA/scscf.db, control socket"
		      " DATA/scscf.ctl (--data overrides)"),
	CONFIG_STRING("scscf.domain", struct scscf_config, domain, "ims.test",
		      "home domain: Request-URI of REGISTER, digest realm"),
	CONFIG_STRING("scscf.server_name", struct scscf_config, server_name,
		      "sip:scscf.ims.test:6060", "Server-Name on Cx (MAR, SAR)"),
	CONFIG_ENUM("scscf.policy", struct scscf_config, policy, scscf_policy_names, "none",
		    "simultaneous registrations (DESIGN.md section 2)"),
	CONFIG_ENUM("scscf.reauth", struct scscf_config, reauth, scscf_reauth_names, "on-request",
		    "protected re-registrations: challenge those whose Authorization has an empty"
		    " nonce (the UE asks to be authenticated), refresh the others (on-request);"
		    " refresh every one (never); challenge every one (always)"),
	CONFIG_ENUM("scscf.notify", struct scscf_config, notify, notify_names, "full",
		    "reg-event NOTIFYs after the first: full state, or the changes only"),
	CONFIG_INT("scscf.default_expires", struct scscf_config, default_expires, 1, 4294967295,
		   "3600", "registration expiry in seconds when the REGISTER gives none"),
	CONFIG_INT("scscf.min_expires", struct scscf_config, min_expires, 1, 4294967295, "60",
		   "shortest registration in seconds; shorter ones get 423 with Min-Expires"),
	CONFIG_INT("scscf.max_expires", struct scscf_config, max_expires, 1, 4294967295,
		   "600000", "longest registration in seconds; longer ones are shortened"),
	CONFIG_DURATION("scscf.reg_await_auth", struct scscf_config, reg_await_auth_ms, 1000,
			3600000, "4m", "how long a challenge waits for its answer (TS 24.229)"),
	CONFIG_INT("scscf.max_flows", struct scscf_config, max_flows, 1, 64, "2",
		   "outbound: flows per (IMPU, IMPI, instance); more get 403"),
	CONFIG_INT("scscf.flow_timer", struct scscf_config, flow_timer, 0, 3600, "0",
		   "outbound: Flow-Timer in seconds sent in the 200 OK (RFC 5626 4.4.1); the UE's"
		   " keepalives follow it and the P-CSCF judges a silent flow failed by it; 0 sends"
		   " none"),
	CONFIG_DURATION("scscf.probe_timeout", struct scscf_config, probe_timeout_ms, 100, 30000,
			"2s", "regevent-probe: how long the old binding has to answer the probe"),
	CONFIG_DURATION("scscf.reauth_expiry", struct scscf_config, reauth_expiry_ms, 1000,
			3600000, "60s",
			"network-initiated re-authentication: expiry the binding is shortened to"),
	CONFIG_INT("scscf.subscription_expires", struct scscf_config, sub_default_expires, 1,
		   4294967295, "3761", "reg-event subscription in seconds when none is asked"
		   " (RFC 3680 section 6.3)"),
	CONFIG_INT("scscf.subscription_max_expires", struct scscf_config, sub_max_expires, 1,
		   4294967295, "600000", "longest reg-event subscription in seconds"),
	CONFIG_STRING("scscf.ioi", struct scscf_config, ioi, "ims.test",
		      "our inter-operator identifier (term-ioi of P-Charging-Vector)"),
	SIP_CONFIG_KEYS("scscf.sip", struct scscf_config, sip),
	CONFIG_STRING("scscf.diameter.identity", struct scscf_config, identity, "scscf.ims.test",
		      "Diameter identity (Origin-Host), an FQDN"),
	CONFIG_STRING("scscf.diameter.realm", struct scscf_config, realm, "ims.test",
		      "Diameter realm (Origin-Realm)"),
	CONFIG_STRING("scscf.diameter.hss", struct scscf_config, hss_identity, "hss.ims.test",
		      "the HSS's Diameter identity (Destination-Host)"),
	CONFIG_STRING("scscf.diameter.hss_realm", struct scscf_config, hss_realm, "ims.test",
		      "the HSS's realm (Destination-Realm)"),
	CONFIG_ADDR("scscf.diameter.hss_address", struct scscf_config, hss_address,
		    "127.0.0.1:3868", "where the HSS listens (TCP); the S-CSCF connects"),
	CONFIG_DURATION("scscf.diameter.timeout", struct scscf_config, cx_timeout_ms, 100,
			60000, "4s", "a MAR or SAR without an answer after this fails"),
	CONFIG_ENUM("scscf.diameter.client", struct scscf_config, cx_client, scscf_cx_client_names,
		    "loop", "the Cx client: simreg's own on the S-CSCF's event loop (loop), or"
		    " freeDiameter with its threads (freediameter); both speak to any RFC 6733 peer"
		    " over TCP"),
	CONFIG_DURATION("scscf.diameter.watchdog", struct scscf_config, cx_watchdog_ms, 1000,
			600000, "30s", "loop client: Tw, the silence after which it sends a DWR and"
			" the time that DWR has to be answered (RFC 3539 3.4.1)"),
	CONFIG_INT("scscf.diameter.threads", struct scscf_config, threads, 1, 64, "1",
		   "freediameter client: dispatch threads (answers only: one is plenty, and"
		   " freeDiameter 1.2.1 can abort its shutdown with many)"),
};

/* Rules across keys. */
static int scscf_check(const void *data, char *why, size_t whylen)
{
	const struct scscf_config *c = data;

	if (c->min_expires > c->max_expires) {
		snprintf(why, whylen, "key 'scscf.min_expires': above scscf.max_expires");
		return -EINVAL;
	}
	if (c->default_expires < c->min_expires || c->default_expires > c->max_expires) {
		snprintf(why, whylen,
			 "key 'scscf.default_expires': outside scscf.min_expires .. max_expires");
		return -EINVAL;
	}
	if (c->sub_default_expires > c->sub_max_expires) {
		snprintf(why, whylen,
			 "key 'scscf.subscription_expires': above scscf.subscription_max_expires");
		return -EINVAL;
	}
	if (!strchr(c->identity, '.')) {
		snprintf(why, whylen, "key 'scscf.diameter.identity': '%s' is not an FQDN",
			 c->identity);
		return -EINVAL;
	}
	if (!*c->domain || strpbrk(c->domain, " \t\"<>;,@")) {
		snprintf(why, whylen, "key 'scscf.domain': '%s' is not a domain name", c->domain);
		return -EINVAL;
	}
	if (strncmp(c->server_name, "sip:", 4) != 0) {
		snprintf(why, whylen, "key 'scscf.server_name': '%s' is not a SIP URI",
			 c->server_name);
		return -EINVAL;
	}
	return 0;
}

const struct config_section scscf_config_section = {
	.name = "scscf",
	.doc = "The S-CSCF (docs/scscf.md).",
	.size = sizeof(struct scscf_config),
	.keys = scscf_keys,
	.nkeys = sizeof(scscf_keys) / sizeof(scscf_keys[0]),
	.check = scscf_check,
};
