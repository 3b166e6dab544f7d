/*
 * msg.h - the requests the UE writes and the responses it reads.
 *
 * Builders write a complete request without a Via (the stack adds its
 * own, with the branch) into a struct buf; each takes a plain struct of
 * values, so a test can print one message from literals. Readers take a
 * parsed response and copy what the UE keeps into an arena.
 */
#ifndef SIMREG_UE_MSG_H
#define SIMREG_UE_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "ue/auth.h"

struct sip_msg;

/* The methods the UE handles, for Allow. */
#define UE_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, NOTIFY"

/* A REGISTER (TS 24.229 5.1.1.2 initial, 5.1.1.4 re-, 5.1.1.6 de-registration). */
struct ue_register {
	struct str domain;      /* Request-URI sip:DOMAIN; digest realm of an initial one */
	struct str impu;        /* From and To */
	struct str impi;        /* Authorization username */
	struct str tag;         /* From tag */
	struct str call_id;
	uint32_t cseq;
	struct str contact;     /* contact URI */
	struct str instance;    /* +sip.instance; empty: no RFC 5626 parameters */
	unsigned reg_id;
	uint32_t expires;       /* Expires header and contact expires (0: deregister) */
	enum ue_cred_kind cred;
	struct ue_digest *digest;
	const char *cnonce;
	struct str sec_client;  /* Security-Client value; empty: none */
	struct str sec_verify;  /* Security-Verify value; empty: none */
	bool outbound;          /* Supported: path, outbound (else path) */
};

/* Returns 0, or the error of the Authorization header, or buf_error(b). */
int ue_msg_register(struct buf *b, const struct ue_register *r);

/*
 * A request from the UE: SUBSCRIBE to reg, MESSAGE, OPTIONS outside a
 * dialog, or a SUBSCRIBE refresh inside the subscription's dialog (with
 * to_tag). Route: each entry of `route` in order (outside a dialog the
 * P-CSCF's protected port first, then the Service-Route, RFC 3608 6;
 * inside, the dialog's route set, RFC 3261 12.2.1.1).
 */
struct ue_request {
	struct str method;      /* "SUBSCRIBE", "MESSAGE", "OPTIONS" */
	struct str ruri;
	struct str from;        /* From URI (our IMPU) */
	struct str to;          /* To URI */
	struct str to_tag;      /* the remote tag inside a dialog; empty: none */
	struct str tag;
	struct str call_id;
	uint32_t cseq;
	const struct str *route;
	unsigned nroute;
	struct str contact;     /* empty: no Contact */
	struct str instance;    /* +sip.instance on Contact; empty: none */
	bool ob;                /* ";ob" on the contact URI (RFC 5626 5.4) */
	struct str event;       /* Event; empty: none */
	uint32_t expires;       /* Expires, with event only */
	struct str accept;      /* Accept; empty: none */
	struct str content_type;
	struct str body;
};

int ue_msg_request(struct buf *b, const struct ue_request *r);

/* What a 2xx to REGISTER says (RFC 3261 10.3, RFC 3327, RFC 3608, RFC 5626). */
struct ue_reg_result {
	uint32_t expires;       /* of our contact; else Expires; else what we asked */
	bool contact_listed;    /* our contact was in the Contact list */
	bool outbound;          /* Require: outbound */
	uint32_t flow_timer;    /* Flow-Timer, 0 if absent */
	struct str *routes;     /* Service-Route URIs as written (name-addr content) */
	unsigned nroutes;
	struct str *assoc;      /* P-Associated-URI URIs */
	unsigned nassoc;
};

/*
 * ue_msg_read_reg_2xx
 *	m       : the 2xx
 *	contact : our contact URI, to find our binding (RFC 3261 19.1.4)
 *	asked   : the expiry we asked for
 *	a       : receives the copied URIs
 * Returns 0, -EBADMSG (a Contact, Service-Route or P-Associated-URI does
 * not decode), -ENOMEM.
 */
int ue_msg_read_reg_2xx(struct sip_msg *m, struct str contact, uint32_t asked, struct arena *a,
			struct ue_reg_result *out);

#endif
