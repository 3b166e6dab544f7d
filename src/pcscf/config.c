/*
 * The `pcscf:` configuration section. Defaults are issue 8's and
 * docs/architecture.md's: unprotected SIP on UDP and TCP 127.0.0.1:5060,
 * the S-CSCF at 127.0.0.1:6060, data in ./simreg-data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ipsec/secagree.h"
#include "pcscf/context.h"
#include "sip/transport.h"
#include "sip/uri.h"

static const char *const bindings[] = { "registration", "impi", NULL };

static const struct config_key pcscf_keys[] = {
	CONFIG_STRING("pcscf.data", struct pcscf_config, data, "simreg-data",
		      "data directory: flows and SA sets in DATA/pcscf.db (--data overrides)"),
	CONFIG_STRLIST("pcscf.listen", struct pcscf_config, listen,
		       "[\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:5060\"]",
		       "unprotected listeners (initial REGISTERs, the core): udp:ADDR:PORT or "
		       "tcp:ADDR:PORT; protected ports are opened on the address a UE reached"),
	CONFIG_STRING("pcscf.scscf", struct pcscf_config, scscf, "sip:127.0.0.1:6060",
		      "the S-CSCF: next hop of REGISTERs, reg-event SUBSCRIBEs and UE requests "
		      "without a Route (a numeric SIP URI)"),
	CONFIG_STRING("pcscf.advertise", struct pcscf_config, advertise, "\"\"",
		      "host[:port] in our Path, Record-Route and Contact; \"\" = the first "
		      "listener's address and port"),
	CONFIG_ENUM("pcscf.sa_binding", struct pcscf_config, sa_binding, bindings, "registration",
		    "what an SA set belongs to: its registration flow, or (legacy) the IMPI, "
		    "whose newest registration deletes every other set"),
	CONFIG_STRLIST("pcscf.algorithms", struct pcscf_config, algorithms,
		       "[\"hmac-sha-1-96/aes-cbc\", \"hmac-sha-1-96/null\", \"hmac-md5-96/aes-cbc\", "
		       "\"hmac-md5-96/null\", \"hmac-sha-1-96/des-ede3-cbc\", "
		       "\"hmac-md5-96/des-ede3-cbc\"]",
		       "acceptable alg/ealg pairs, most preferred first; the P-CSCF picks the first "
		       "one the UE offers"),
	CONFIG_DURATION("pcscf.reg_await_auth", struct pcscf_config, reg_await_auth_ms, 1000,
			3600000, "4m",
			"lifetime of a temporary SA set: the protected REGISTER must come before"),
	CONFIG_DURATION("pcscf.sa_grace", struct pcscf_config, sa_grace_ms, 0, 3600000, "30s",
			"an established set lives this long beyond the registration's expiry"),
	CONFIG_DURATION("pcscf.sa_linger", struct pcscf_config, sa_linger_ms, 0, 60000, "2s",
			"after a registration ends, its sets stay this long for the last "
			"responses and NOTIFYs"),
	CONFIG_INT("pcscf.max_flows", struct pcscf_config, max_flows, 1, 10000000, "200000",
		   "registration flows at once; more initial REGISTERs get 503"),
	CONFIG_INT("pcscf.flows_per_address", struct pcscf_config, flows_per_address, 1, 16383,
		   "64",
		   "registration flows from one UE address at once (UEs behind one NAT, a test "
		   "tool's many UEs); more initial REGISTERs from it get 503. Each needs up to "
		   "4 protected ports"),
	CONFIG_INT("pcscf.port_min", struct pcscf_config, port_min, 1024, 65535, "14100",
		   "lowest protected port (port_pc, port_ps; the P-CSCF's own range, not "
		   "ipsec.port_min): 14100..14355 is a gap in IANA's registry and Wireshark's "
		   "port table, below the kernel's ephemeral ports; open it on the access "
		   "firewall"),
	CONFIG_INT("pcscf.port_max", struct pcscf_config, port_max, 1024, 65535, "14355",
		   "highest protected port; the range must hold 4 x pcscf.flows_per_address"),
	CONFIG_STRING("pcscf.visited_network", struct pcscf_config, visited_network, "ims.test",
		      "P-Visited-Network-ID value, and orig-ioi of P-Charging-Vector"),
	CONFIG_BOOL("pcscf.regevent", struct pcscf_config, regevent, "true",
		    "subscribe to the reg event of every registered IMPU and act on its NOTIFYs"),
	CONFIG_INT("pcscf.regevent_expires", struct pcscf_config, regevent_expires, 60, 4294967295LL,
		   "600000", "Expires of our reg-event SUBSCRIBEs, in seconds"),
	CONFIG_STRLIST("pcscf.trusted", struct pcscf_config, trusted, "[]",
		       "addresses of core peers (besides the S-CSCF) whose requests the "
		       "unprotected listeners take; anyone else may only send REGISTER"),
	CONFIG_DURATION("pcscf.flow_grace", struct pcscf_config, flow_grace_ms, 0, 3600000, "10s",
			"outbound: a flow whose inbound SAs carry nothing for Flow-Timer plus this"
			" has failed; requests for it get 430 (RFC 5626)"),
	CONFIG_STRING("pcscf.ctl", struct pcscf_config, ctl, "\"\"",
		      "control socket; \"\" = DATA/pcscf.ctl (--ctl overrides)"),
};

static int pcscf_check(const void *data, char *why, size_t whylen)
{
	const struct pcscf_config *c = data;
	struct ipsec_prefs prefs = { 0 };
	struct sip_uri u;

	for (size_t i = 0; i < c->listen.n; i++) {
		struct sip_listen l;

		if (sip_listen_parse(str_from_cstr(c->listen.v[i]), &l) != 0) {
			snprintf(why, whylen, "key 'pcscf.listen': entry %zu '%s' is not "
					      "udp:ADDR:PORT or tcp:ADDR:PORT", i + 1, c->listen.v[i]);
			return -EINVAL;
		}
	}
	if (c->listen.n == 0 || c->listen.n > 8) {
		snprintf(why, whylen, "key 'pcscf.listen': between 1 and 8 listeners");
		return -EINVAL;
	}
	if (sip_uri_parse(str_from_cstr(c->scscf), &u, NULL) != 0 || u.scheme != SIP_URI_SIP ||
	    u.host_type == SIP_HOST_NAME) {
		snprintf(why, whylen, "key 'pcscf.scscf': '%s' is not a sip: URI with a numeric host",
			 c->scscf);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->algorithms.n; i++) {
		int rc = ipsec_prefs_add(&prefs, str_from_cstr(c->algorithms.v[i]));

		if (rc) {
			snprintf(why, whylen, "key 'pcscf.algorithms': entry %zu '%s' %s", i + 1,
				 c->algorithms.v[i],
				 rc == -EEXIST ? "is listed twice" : "is not ALG/EALG of known names");
			return -EINVAL;
		}
	}
	if (prefs.n == 0) {
		snprintf(why, whylen, "key 'pcscf.algorithms': at least one pair");
		return -EINVAL;
	}
	if (c->port_min >= c->port_max) {
		snprintf(why, whylen, "key 'pcscf.port_min': %" PRId64 " must be below "
				      "'pcscf.port_max' (%" PRId64 ")", c->port_min, c->port_max);
		return -EINVAL;
	}
	/*
	 * Ports are unique per UE address (lib/ipsec alloc.h), so the range
	 * bounds the flows of one address: each may hold a temporary, an
	 * established and an old set at once, with their own port_pc and one
	 * shared port_ps (33.203 §7.4).
	 */
	if (c->port_max - c->port_min + 1 < PCSCF_PORTS_PER_FLOW * c->flows_per_address) {
		snprintf(why, whylen,
			 "key 'pcscf.flows_per_address': %" PRId64 " flows from one UE address "
			 "need up to %" PRId64 " protected ports, but 'pcscf.port_min'..'pcscf."
			 "port_max' (%" PRId64 "..%" PRId64 ") holds %" PRId64,
			 c->flows_per_address, PCSCF_PORTS_PER_FLOW * c->flows_per_address,
			 c->port_min, c->port_max, c->port_max - c->port_min + 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->trusted.n; i++) {
		union sip_sockaddr a;

		if (sip_sockaddr_parse(str_from_cstr(c->trusted.v[i]), 0, &a) != 0) {
			snprintf(why, whylen, "key 'pcscf.trusted': entry %zu '%s' is not an address",
				 i + 1, c->trusted.v[i]);
			return -EINVAL;
		}
	}
	return 0;
}

const struct config_section pcscf_config_section = {
	.name = "pcscf",
	.doc = "The P-CSCF (docs/pcscf.md).",
	.size = sizeof(struct pcscf_config),
	.keys = pcscf_keys,
	.nkeys = sizeof(pcscf_keys) / sizeof(pcscf_keys[0]),
	.check = pcscf_check,
};
