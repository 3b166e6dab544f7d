/*
 * config.h - the `ue:` section of the deployment file.
 *
 *     ue:
 *       impi: alice@ims.test
 *       impus: [ "sip:alice@ims.test", "tel:+15551230001" ]
 *       instance: "urn:gsma:imei:35209900-176148-0"
 *       usim:
 *         k: 465b5ce8b199b49faa5f0a2ee238a6bc
 *         opc: cd63cb71954a9f4e48a5994e37a02baf
 *       mechanism: outbound
 *       accesses:
 *         - "wlan local=198.18.1.2 pcscf=198.18.1.1:5060"
 *         - "umts local=198.18.2.2 pcscf=198.18.2.1:5060 transport=tcp"
 *
 * Every key is listed, with its default and meaning, in
 * docs/configuration.md (generated from the table in config.c).
 */
#ifndef SIMREG_UE_CONFIG_H
#define SIMREG_UE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "sip/flow.h"
#include "sip/stack.h"
#include "ue/mech.h"

/* Most accesses one UE process drives. */
#define UE_MAX_ACCESSES 8
/* Most (alg, ealg) pairs offered in Security-Client. */
#define UE_MAX_OFFERS 4
#define UE_ACCESS_NAME_MAX 16

/* SA binding at the UE (DESIGN.md section 3). */
enum ue_sa_binding {
	UE_SA_BINDING_REGISTRATION,
	UE_SA_BINDING_IMPI,
};

struct ue_config {
	const char *impi;
	struct config_strlist impus;
	const char *instance;
	const char *domain;     /* home domain; "" = the IMPI's realm */
	/* usim: */
	struct config_bytes k;
	struct config_bytes opc;
	struct config_bytes op;
	struct config_bytes amf;
	const char *sqn_state;  /* "" = DATA/ue-sqn.state */
	int64_t sqn_ind_bits;
	/* registration */
	int mechanism;          /* enum ue_mech */
	const char *impi_template;
	int sa_binding;         /* enum ue_sa_binding */
	int64_t expires;
	bool register_at_start;
	struct config_strlist accesses;
	struct config_strlist offers;
	/* answers to incoming requests */
	int64_t answer_message;
	int64_t answer_options;
	int64_t answer_invite;
	/* timing */
	uint64_t backoff_base_all_ms;
	uint64_t backoff_base_some_ms;
	uint64_t backoff_max_ms;
	uint64_t keepalive_ms;  /* 0: RFC 5626 4.4.1 intervals */
	uint64_t keepalive_timeout_ms;
	/* files */
	const char *data;
	const char *event_log;  /* "" = DATA/ue-events.jsonl */
	const char *ctl;        /* "" = DATA/ue.ctl */
	struct sip_config sip;
};

extern const struct config_section ue_config_section;

/* One entry of ue.accesses, parsed. */
struct ue_access_config {
	char name[UE_ACCESS_NAME_MAX];
	char ifname[UE_ACCESS_NAME_MAX]; /* "" unless interface= was given */
	union sip_sockaddr local;        /* unset until the interface is resolved */
	union sip_sockaddr pcscf;
	enum sip_transport proto;
};

/*
 * ue_access_config_parse
 *	Parse "NAME key=value ..." with the keys
 *	  local=IP[:PORT]     the access's address and unprotected SIP port
 *	                      (port 5060 when absent)
 *	  interface=IFNAME    instead of local: the interface's first address
 *	                      of the P-CSCF's family, found at start-up
 *	  pcscf=IP[:PORT]     the P-CSCF's unprotected port (5060)
 *	  transport=udp|tcp   (udp) of every flow of the access: the
 *	                      unprotected REGISTER and the protected flows
 *	NAME is 1 to 15 letters, digits, '-' or '_'.
 * Returns 0, or -EINVAL with the reason in why.
 */
int ue_access_config_parse(const char *text, struct ue_access_config *out, char *why,
			   size_t whylen);

/*
 * The ue.offers list as lib/ipsec's preference list (secagree.h): the
 * pairs the UE offers in Security-Client and accepts in Security-Server.
 * Returns 0, or -EINVAL with the reason in why.
 */
struct ipsec_prefs;
int ue_offers_parse(const struct config_strlist *l, struct ipsec_prefs *out, char *why,
		    size_t whylen);

#endif
