/*
 * The `hss:` configuration section. Defaults are the issue's: Diameter
 * over TCP on 127.0.0.1:3868 as hss.ims.test in realm ims.test, data in
 * ./simreg-data.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hss/hss.h"

static const struct config_key hss_keys[] = {
	CONFIG_STRING("hss.data", struct hss_config, data, "simreg-data",
		      "data directory: the subscriber database is DATA/hss.db (--data overrides)"),
	CONFIG_INT("hss.max_vectors", struct hss_config, max_vectors, 1, 32, "5",
		   "most authentication vectors in one MAA (SIP-Number-Auth-Items is capped)"),
	CONFIG_INT("hss.sqn_ind_bits", struct hss_config, sqn_ind_bits, 0, 8, "5",
		   "IND bits of the SQN (TS 33.102 Annex C.3); the UEs' USIMs must agree"),
	CONFIG_BOOL("hss.keep_server_name", struct hss_config, keep_server_name, "true",
		    "keep the S-CSCF name on *_STORE_SERVER_NAME deregistrations (else 2004)"),
	CONFIG_STRLIST("hss.home_networks", struct hss_config, home_networks, "[]",
		       "Visited-Network-Identifier values that are home ([]: the realm); others"
		       " need roaming"),
	CONFIG_STRLIST("hss.scscf_names", struct hss_config, scscf_names, "[]",
		       "S-CSCF names offered in Server-Capabilities (UAA, LIA)"),
	CONFIG_INT("hss.batch_max", struct hss_config, batch_max, 1, 4096, "256",
		   "most requests sharing one store transaction (one fsync)"),
	CONFIG_STRING("hss.diameter.identity", struct hss_config, identity, "hss.ims.test",
		      "Diameter identity (Origin-Host), an FQDN"),
	CONFIG_STRING("hss.diameter.realm", struct hss_config, realm, "ims.test",
		      "Diameter realm (Origin-Realm)"),
	CONFIG_ADDR("hss.diameter.listen", struct hss_config, listen, "127.0.0.1:3868",
		    "address and port to accept Diameter peers on (TCP)"),
	CONFIG_INT("hss.diameter.threads", struct hss_config, threads, 1, 64, "1",
		   "freeDiameter dispatch threads (they only hand requests to the loop)"),
	/* The default admits simreg scscf's default identity, which dials
	 * 127.0.0.1:3868 by default: two processes started without a file
	 * find each other. */
	CONFIG_STRLIST("hss.diameter.peers", struct hss_config, peers, "[ scscf.ims.test ]",
		       "peers, each \"IDENTITY [realm=R] [address=IP[:PORT]] [connect=yes|no]\";"
		       " connect=yes: the HSS dials, else the peer connects"),
	CONFIG_STRING("hss.test.rand_file", struct hss_config, test_rand_file, "\"\"",
		      "FOR TESTS ONLY: a file of RANDs (32 hex digits a line) used in order before"
		      " random ones (docs/hss.md)"),
};

/* Rules across keys: every peer line parses. */
static int hss_check(const void *data, char *why, size_t whylen)
{
	const struct hss_config *c = data;

	if (c->peers.n > DIA_PEERS_MAX) {
		snprintf(why, whylen, "key 'hss.diameter.peers': at most %d peers", DIA_PEERS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->peers.n; i++) {
		char buf[512], reason[200];
		struct dia_peer p;

		if (snprintf(buf, sizeof(buf), "%s", c->peers.v[i]) >= (int)sizeof(buf) ||
		    dia_peer_parse(buf, &p, reason, sizeof(reason))) {
			snprintf(why, whylen, "key 'hss.diameter.peers': entry %zu: %s", i + 1,
				 reason);
			return -EINVAL;
		}
	}
	if (!strchr(c->identity, '.')) {
		snprintf(why, whylen, "key 'hss.diameter.identity': '%s' is not an FQDN",
			 c->identity);
		return -EINVAL;
	}
	return 0;
}

const struct config_section hss_config_section = {
	.name = "hss",
	.doc = "The HSS (docs/hss.md).",
	.size = sizeof(struct hss_config),
	.keys = hss_keys,
	.nkeys = sizeof(hss_keys) / sizeof(hss_keys[0]),
	.check = hss_check,
};
