/*
 * sip.c - the P-CSCF's SIP edge (TS 24.229 §5.2, TS 33.203 §6-7, RFC 3329,
 * RFC 5626).
 *
 * What arrives, and what happens to it:
 *
 *   unprotected listener, REGISTER      security agreement starts: the
 *                                       offer is kept, Path (flow token,
 *                                       ob), P-Visited-Network-ID,
 *                                       P-Charging-Vector and
 *                                       integrity-protected="no" added,
 *                                       forwarded to the S-CSCF
 *   401 to it                           ik / ck taken out, temporary set
 *                                       installed, Security-Server added
 *   protected port, REGISTER            over the temporary set: Security-
 *                                       Verify and Security-Client checked
 *                                       (bidding-down), integrity-
 *                                       protected="yes"; over the
 *                                       established set: a re-registration
 *   2xx to a REGISTER                   the flow's set is established (or
 *                                       refreshed, or the flow ends)
 *   protected port, other requests      only over SA1 of a registered flow;
 *                                       P-Asserted-Identity asserted,
 *                                       Record-Route with the flow token for
 *                                       dialogs, forwarded to the core
 *   unprotected listener, from the core reg-event NOTIFYs for us, or
 *                                       requests naming a flow token: to the
 *                                       UE over SA2 (port_pc -> port_us)
 *
 * What is refused, and how (docs/pcscf.md "What the edge refuses"):
 *
 *   dropped, no answer:
 *     - a datagram that reached a protected port over no SA (the transport
 *       drops it: nothing authenticated it, so nothing is said to it);
 *     - a request that came over SA4 (port_us -> port_pc), which carries
 *       only the UE's responses: an answer would go over an SA the
 *       request did not come over;
 *     - a request over a set the P-CSCF no longer knows.
 *   answered (the sender is authenticated, or may be a UE that lost its
 *   SAs and must learn to register again):
 *     - 403 for any request but REGISTER on an unprotected listener from
 *       outside the core; for a request over the SAs of a flow that is not
 *       registered, or over a temporary set; for a protected REGISTER that
 *       fails the bidding-down check (the reason says which header);
 *       for a forged flow token;
 *     - 430 Flow Failed for a token whose flow is gone (RFC 5626 §5.3);
 *     - 421 / 494 / 400 for an initial REGISTER without, with an unusable
 *       or with a malformed Security-Client (RFC 3329 §2.3.1).
 */
#define SLOG_COMPONENT "pcscf"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hex.h"
#include "ipsec/secagree.h"
#include "pcscf/context.h"
#include "sip/print.h"
#include "sip/txn.h"

/* What a forwarded request was, kept by proxy context id. */
enum txn_kind {
	TXN_REGISTER,
	TXN_FROM_UE,
	TXN_TO_UE,
};

struct pcscf_txn {
	enum txn_kind kind;
	uint64_t reg_id;
	bool final_seen;
	unsigned failed;   /* a failure response relayed; reported once it is out */
};

/* ---- small helpers ---------------------------------------------------- */

static void respond(struct pcscf *pc, sip_txn_id stx, unsigned code, const char *reason)
{
	pc->stats.rejected++;
	sip_server_txn_respond(pc->st, stx, code, reason ? str_from_cstr(reason) : STR_NULL);
}

/* A response with one extra header line. */
static void respond_with(struct pcscf *pc, sip_txn_id stx, unsigned code, const char *reason,
			 enum sip_hdr_id id, const char *value)
{
	struct buf b;

	pc->stats.rejected++;
	buf_init(&b);
	if (sip_server_txn_response_start(pc->st, stx, &b, code, str_from_cstr(reason)) == 0) {
		sip_print_hdr(&b, id, str_from_cstr(value));
		sip_print_body(&b, STR_NULL, STR_NULL);
		if (buf_error(&b) == 0)
			sip_server_txn_send(pc->st, stx, buf_str(&b));
	}
	buf_free(&b);
}

static void flow_text(const struct sip_flow *f, char *buf, size_t len)
{
	sip_flow_str(f, buf, len);
}

static struct pcscf_txn *txn_add(struct pcscf *pc, uint64_t ref, enum txn_kind kind,
				 uint64_t reg_id)
{
	struct pcscf_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->kind = kind;
	t->reg_id = reg_id;
	if (ipsec_table_add(&pc->pending, &ref, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* The request as the server transaction keeps it, parsed into `m`. */
static int txn_copy(struct pcscf *pc, sip_txn_id stx, struct sip_msg *m)
{
	struct str raw;
	int rc = sip_server_txn_request(pc->st, stx, &raw);

	if (rc < 0)
		return rc;
	sip_msg_init(m);
	rc = sip_parse(m, raw.s, raw.len, SIP_FRAME_DATAGRAM, NULL, NULL);
	return rc < 0 ? rc : 0;
}

static bool is_core(struct pcscf *pc, const union sip_sockaddr *from)
{
	if (sip_sockaddr_same_host(from, &pc->scscf_flow.remote))
		return true;
	for (size_t i = 0; i < pc->cfg.trusted.n; i++) {
		union sip_sockaddr a;

		if (sip_sockaddr_parse(str_from_cstr(pc->cfg.trusted.v[i]), 0, &a) == 0 &&
		    sip_sockaddr_same_host(&a, from))
			return true;
	}
	return false;
}

/*
 * The plain listener for a flow to `remote` over `proto`: the one we
 * advertise to the core (pcscf.advertise) when it fits, else the first that
 * does.
 */
static uint32_t plain_tp(struct pcscf *pc, enum sip_transport proto, const union sip_sockaddr *remote)
{
	struct sip_tpset *set = sip_stack_transports(pc->st);

	for (unsigned i = 0; i < pc->n_plain_tp; i++) {
		struct sip_tp *tp = sip_tpset_get(set, pc->plain_tp[i]);

		if (tp && tp->ops->proto == proto && tp->local.sa.sa_family == remote->sa.sa_family &&
		    strcmp(tp->sent_by, pc->advertise) == 0)
			return tp->id;
	}
	for (unsigned i = 0; i < pc->n_plain_tp; i++) {
		struct sip_tp *tp = sip_tpset_get(set, pc->plain_tp[i]);

		if (tp && tp->ops->proto == proto && tp->local.sa.sa_family == remote->sa.sa_family)
			return tp->id;
	}
	return 0;
}

int pcscf_sip_core_flow(struct pcscf *pc, const struct sip_uri *uri, struct sip_flow *out)
{
	int rc = sip_stack_resolve_uri(pc->st, uri, out);

	if (rc)
		return rc;
	/*
	 * Name the listener: an unqualified choice could land on a protected
	 * port bound to a more specific address, with no SA to the core.
	 */
	out->tp = plain_tp(pc, out->proto, &out->remote);
	return out->tp ? 0 : -ENETUNREACH;
}

/*
 * The transport the UE registered with: its Contact's transport parameter
 * (RFC 3261 19.1.4; the UE names TCP there when it registered over TCP),
 * UDP without one.
 */
static enum sip_transport contact_transport(const struct pcscf_reg *r)
{
	struct sip_uri u;

	if (!r->contact || sip_uri_parse(str_from_cstr(r->contact), &u, NULL) ||
	    !str_caseeq(u.transport, STR_LIT("tcp")))
		return SIP_TRANSPORT_UDP;
	return SIP_TRANSPORT_TCP;
}

int pcscf_sip_ue_flow(struct pcscf *pc, const struct pcscf_reg *r, struct sip_flow *out)
{
	const struct pcscf_sa *sa = r->est;
	enum sip_transport proto;

	if (!sa || !sa->tp_pc)
		return -ENOENT;
	proto = contact_transport(r);
	if (proto == SIP_TRANSPORT_TCP && !sa->tp_tcp)
		return -ENOENT;
	/*
	 * 33.203 §7.1: P-CSCF requests leave port_pc for port_us (SA2): on
	 * UDP from the port_pc socket, on TCP over a connection from port_pc
	 * that the port_ps listener opens (or the one it opened before).
	 */
	sip_flow_init(out);
	out->proto = proto;
	out->tp = proto == SIP_TRANSPORT_TCP ? sa->tp_tcp : sa->tp_pc;
	out->sa_set = sa->set_id;
	ipsec_addr_to_sockaddr(&sa->set.p.pcscf, sa->set.p.server.port_c, &out->local);
	ipsec_addr_to_sockaddr(&sa->set.p.ue, sa->set.p.client.port_s, &out->remote);
	return 0;
}

/* Next hop towards the core for a request: its first Route not naming us, else the S-CSCF. */
static int next_core_hop(struct pcscf *pc, const struct sip_msg *m, struct sip_flow *out)
{
	sip_msg_foreach(m, SIP_HDR_ROUTE, h) {
		struct sip_addr a;
		struct sip_uri u;

		if (sip_addr_parse(h->value, &a, NULL) || sip_uri_parse(a.uri, &u, NULL))
			return -EBADMSG;
		if (!sip_stack_is_local_uri(pc->st, &u))
			return pcscf_sip_core_flow(pc, &u, out);
	}
	*out = pc->scscf_flow;
	return 0;
}

static const char *token_of(struct pcscf *pc, uint64_t id, char buf[PCSCF_TOKEN_LEN + 1])
{
	pcscf_token_make(pc->token_key, id, buf);
	return buf;
}

/* ---- header rewriting ------------------------------------------------- */

/*
 * A digest header value without some parameters, plus one: the credentials
 * with integrity-protected set (24.229 §5.2.2.1: whatever the UE put there
 * is replaced), the challenge without ik and ck (they never leave the
 * network, 24.229 §5.2.2.1 / 33.203 §6.1).
 */
static struct str auth_rewrite(struct arena *a, struct str value, bool challenge,
			       const char *const *drop, size_t n_drop, const char *add)
{
	struct sip_auth auth;
	struct str rest;
	struct sip_param p;
	struct buf b;
	struct str out = STR_NULL;
	bool first = true;

	if (sip_auth_parse(value, challenge, &auth, NULL) != 0)
		return STR_NULL;
	buf_init(&b);
	buf_put_str(&b, auth.scheme);
	buf_putc(&b, ' ');
	rest = auth.params;
	while (sip_auth_param_next(&rest, &p) == 1) {
		bool skip = false;

		for (size_t i = 0; i < n_drop; i++)
			skip = skip || str_caseeq_cstr(p.name, drop[i]);
		if (skip)
			continue;
		if (!first)
			buf_puts(&b, ", ");
		buf_put_str(&b, str_trim(p.raw));
		first = false;
	}
	if (add)
		buf_printf(&b, "%s%s", first ? "" : ", ", add);
	if (buf_error(&b) == 0)
		out = arena_str(a, buf_str(&b));
	buf_free(&b);
	return out;
}

/* A challenge without ik and ck; one that does not decode goes altogether. */
static void strip_keys(struct pcscf *pc, struct sip_edit *edit, const struct sip_hdr *h)
{
	static const char *const drop_keys[] = { "ik", "ck" };
	struct str v = auth_rewrite(&pc->resp_arena, h->value, true, drop_keys, 2, NULL);

	if (v.s)
		sip_edit_replace(edit, h, v);
	else
		sip_edit_remove(edit, h);
}

/* ---- REGISTER --------------------------------------------------------- */

/* The IMPI: Authorization username (24.229 §5.1.1.2.1), else the To URI without its scheme. */
static struct str impi_of(struct arena *a, struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION);
	const struct sip_addr *to;
	struct sip_auth auth;
	struct sip_uri u;

	if (h && sip_auth_parse(h->value, false, &auth, NULL) == 0 &&
	    sip_auth_has(&auth, SIP_AUTH_USERNAME)) {
		struct str v = sip_auth_get(&auth, SIP_AUTH_USERNAME);
		char *buf = arena_alloc(a, v.len + 1);
		size_t len = 0;

		if (buf && sip_unquote(v, buf, v.len + 1, &len) == 0 && !memchr(buf, 0, len))
			return str_make(buf, len);
		return STR_NULL;
	}
	if (sip_msg_to(m, &to, NULL) == 0 && sip_uri_parse(to->uri, &u, NULL) == 0 && u.has_user)
		return str_from_cstr(arena_printf(a, "%.*s@%.*s", STR_FMT(u.user), STR_FMT(u.host)));
	return STR_NULL;
}

static int first_contact(struct sip_msg *m, struct sip_contact *c)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT);

	if (!h)
		return -ENOENT;
	return sip_contact_parse(h->value, c, NULL) ? -EBADMSG : 0;
}

/* Forward a REGISTER of flow r to the S-CSCF with our edge headers. */
static void forward_register(struct pcscf *pc, sip_txn_id stx, struct pcscf_reg *r,
			     bool integrity)
{
	static const char *const drop_ip[] = { "integrity-protected" };
	struct sip_proxy_target target = { .flow = pc->scscf_flow };
	struct sip_proxy_req req = { .stx = stx, .targets = &target, .n_targets = 1 };
	struct sip_msg m;
	struct sip_edit e;
	const struct sip_hdr *h;
	char token[PCSCF_TOKEN_LEN + 1], where[SIP_SOCKADDR_STRLEN];
	uint8_t icid[16];
	char icid_hex[33];
	uint64_t ref = 0, reg_id = r->id;
	int rc;

	rc = txn_copy(pc, stx, &m);
	if (rc) {
		respond(pc, stx, 500, "Request copy lost");
		pcscf_reg_failure(&pc->regs, r, 500);
		return;
	}
	sip_edit_init(&e, &m);
	/* RFC 3329 §2.3.1: the sec-agree headers end at the first hop. */
	sip_edit_remove_all(&e, SIP_HDR_SECURITY_CLIENT);
	sip_edit_remove_all(&e, SIP_HDR_SECURITY_VERIFY);
	sip_msg_foreach(&m, SIP_HDR_REQUIRE, q)
		if (str_caseeq_cstr(q->value, "sec-agree"))
			sip_edit_remove(&e, q);
	sip_msg_foreach(&m, SIP_HDR_PROXY_REQUIRE, q)
		if (str_caseeq_cstr(q->value, "sec-agree"))
			sip_edit_remove(&e, q);
	/* What the UE may not assert about the network. */
	sip_edit_remove_all(&e, SIP_HDR_P_VISITED_NETWORK_ID);
	sip_edit_remove_all(&e, SIP_HDR_P_CHARGING_VECTOR);
	h = sip_msg_hdr(&m, SIP_HDR_AUTHORIZATION);
	if (h) {
		struct str v = auth_rewrite(&pc->req_arena, h->value, false, drop_ip, 1,
					    integrity ? "integrity-protected=\"yes\""
						      : "integrity-protected=\"no\"");

		/* Unreadable credentials cannot carry our integrity-protected. */
		if (!v.s) {
			respond(pc, stx, 400, "Authorization does not decode");
			pcscf_reg_failure(&pc->regs, r, 400);
			return;
		}
		sip_edit_replace(&e, h, v);
	}
	/* RFC 3327 / RFC 5626 §5.1: our Path first, naming the flow, with ob. */
	h = sip_msg_hdr(&m, SIP_HDR_PATH);
	sip_edit_insert(&e, h ? (int)sip_msg_hdr_index(&m, h) : SIP_EDIT_BOTTOM, SIP_HDR_PATH,
			str_from_cstr(arena_printf(&pc->req_arena, "<sip:%s@%s;lr;ob>",
						   token_of(pc, r->id, token), pc->advertise)));
	sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_P_VISITED_NETWORK_ID,
			str_from_cstr(pc->cfg.visited_network));
	/* RFC 7315 §4.6, 24.229 §5.2.2.1: a fresh ICID and our IOI. */
	if (RAND_bytes(icid, sizeof(icid)) != 1)
		memset(icid, 0, sizeof(icid));
	hex_encode(icid, sizeof(icid), icid_hex);
	sip_sockaddr_host(&pc->scscf_flow.local, false, where, sizeof(where));
	sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_P_CHARGING_VECTOR,
			str_from_cstr(arena_printf(&pc->req_arena,
						   "icid-value=%s;icid-generated-at=%s;orig-ioi=%s",
						   icid_hex, where, pc->cfg.visited_network)));
	req.msg = &m;
	req.edit = &e;
	rc = sip_proxy_forward(pc->px, &req, &ref);
	if (rc < 0) {
		log_warn("flow %" PRIu64 ": REGISTER not forwarded to the S-CSCF: %s", reg_id,
			 strerror(-rc));
		if ((r = pcscf_reg_by_id(&pc->regs, reg_id)))
			pcscf_reg_failure(&pc->regs, r, 503);
		return;
	}
	pc->stats.registers++;
	if (!txn_add(pc, ref, TXN_REGISTER, reg_id))
		log_warn("flow %" PRIu64 ": no memory to follow its REGISTER", reg_id);
}

static void initial_register(struct pcscf *pc, sip_txn_id stx, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	struct ipsec_offer offer;
	struct ipsec_addr ue, local;
	struct sip_contact contact;
	const struct sip_addr *to;
	struct pcscf_reg *r = NULL;
	struct str impi, call_id;
	struct buf canon;
	const char *why = NULL;
	char f[SIP_FLOW_STRLEN];
	int rc;

	flow_text(&rx->flow, f, sizeof(f));
	rc = ipsec_offer_from_msg(m, SIP_HDR_SECURITY_CLIENT, &offer, &why);
	if (rc == -ENOENT) {
		/* RFC 3329 §2.3.1: the client must ask for sec-agree. */
		log_info("REGISTER over %s without Security-Client: 421", f);
		respond_with(pc, stx, 421, "Extension Required", SIP_HDR_REQUIRE, "sec-agree");
		return;
	}
	if (rc) {
		log_info("REGISTER over %s: Security-Client refused: %s", f, why);
		respond(pc, stx, 400, why);
		return;
	}
	if (offer.n == 0) {
		log_info("REGISTER over %s: no usable ipsec-3gpp mechanism in %u offered", f,
			 offer.n_entries);
		respond(pc, stx, 494, "Security Agreement Required");
		return;
	}
	impi = impi_of(&pc->req_arena, m);
	if (!impi.len || sip_msg_to(m, &to, NULL) || sip_msg_call_id(m, &call_id, NULL) ||
	    first_contact(m, &contact) || contact.star) {
		respond(pc, stx, 400, "REGISTER needs an IMPI, To, Call-ID and a Contact");
		return;
	}
	if (ipsec_addr_from_sockaddr(&rx->flow.remote, &ue, NULL) ||
	    ipsec_addr_from_sockaddr(&rx->flow.local, &local, NULL)) {
		respond(pc, stx, 500, "No address");
		return;
	}
	buf_init(&canon);
	ipsec_secmech_canon_msg(&canon, m, SIP_HDR_SECURITY_CLIENT);
	rc = buf_error(&canon) ? buf_error(&canon)
			       : pcscf_reg_initial(&pc->regs, impi, &ue, &local, &offer,
						   buf_str(&canon), to->uri, contact.addr.uri,
						   call_id, &r);
	buf_free(&canon);
	switch (rc) {
	case 0:
		break;
	case -ENOENT:
		respond(pc, stx, 494, "Security Agreement Required");
		return;
	case -ENOSPC:
		respond(pc, stx, 503, "Too many registration flows");
		return;
	case -EPROTO:
	case -EEXIST:
		respond(pc, stx, 403, "Registration procedure of this flow is not at a point for it");
		return;
	case -EINVAL:
		respond(pc, stx, 400, "Bad IMPI");
		return;
	default:
		respond(pc, stx, 500, NULL);
		return;
	}
	log_info("flow %" PRIu64 ": initial REGISTER of %s from %s (contact %.*s), forwarded",
		 r->id, r->impi, f, STR_FMT(contact.addr.uri));
	forward_register(pc, stx, r, false);
}

static void protected_register(struct pcscf *pc, sip_txn_id stx, struct sip_rx *rx,
			       struct pcscf_sa *sa)
{
	struct sip_msg *m = rx->msg;
	struct pcscf_reg *r = sa->reg;
	struct ipsec_offer offer, *po = NULL;
	struct sip_contact contact;
	struct str call_id;
	struct buf canon;
	const char *why = NULL;
	int rc;

	if (sa->state == PCSCF_SA_TEMPORARY) {
		/* 33.203 §7.2: the UE repeats what it was told and what it offered. */
		enum ipsec_secagree_result res =
			ipsec_secagree_check(m, str_from_cstr(r->server_canon ? r->server_canon : ""),
					     str_from_cstr(r->client_canon ? r->client_canon : ""));

		if (res != IPSEC_SECAGREE_OK) {
			pc->stats.bidding_down++;
			log_notice("flow %" PRIu64 " (%s): protected REGISTER over set %u refused: %s",
				   r->id, r->impi, sa->set_id, ipsec_secagree_result_text(res));
			respond(pc, stx, 403, ipsec_secagree_result_text(res));
			return;
		}
	} else {
		rc = ipsec_offer_from_msg(m, SIP_HDR_SECURITY_CLIENT, &offer, &why);
		if (rc == 0)
			po = &offer;
		else if (rc != -ENOENT) {
			respond(pc, stx, 400, why);
			return;
		}
	}
	if (sip_msg_call_id(m, &call_id, NULL) || first_contact(m, &contact)) {
		respond(pc, stx, 400, "REGISTER needs a Call-ID and a Contact");
		return;
	}
	buf_init(&canon);
	if (po)
		ipsec_secmech_canon_msg(&canon, m, SIP_HDR_SECURITY_CLIENT);
	rc = pcscf_reg_register_over(&pc->regs, sa, po, buf_str(&canon),
				     contact.star ? STR_NULL : contact.addr.uri, call_id);
	buf_free(&canon);
	if (rc == -ENOENT) {
		respond(pc, stx, 494, "Security Agreement Required");
		return;
	}
	if (rc) {
		respond(pc, stx, 403, "Registration procedure of this flow is not at a point for it");
		return;
	}
	log_info("flow %" PRIu64 ": REGISTER of %s over SA set %u (%s), forwarded", r->id, r->impi,
		 sa->set_id, pcscf_sa_state_name(sa->state));
	forward_register(pc, stx, r, true);
}

/* The 401: ik/ck out, temporary set in, Security-Server on. */
static enum sip_proxy_verdict on_401(struct pcscf *pc, struct pcscf_reg *r, struct sip_rx *rx,
				     struct sip_edit *edit)
{
	struct sip_msg *m = rx->msg;
	uint8_t ik[16], ck[16];
	struct ipsec_mech chosen;
	struct sip_secmech sm;
	struct buf b, canon;
	struct str server;
	bool keys = false;
	int rc;

	sip_msg_foreach(m, SIP_HDR_WWW_AUTHENTICATE, h) {
		struct sip_auth a;

		if (!keys && sip_auth_parse(h->value, true, &a, NULL) == 0 &&
		    hex_decode(sip_auth_get(&a, SIP_AUTH_IK), ik, sizeof(ik)) == 0 &&
		    hex_decode(sip_auth_get(&a, SIP_AUTH_CK), ck, sizeof(ck)) == 0)
			keys = true;
		/* Every challenge loses its keys, whichever one carried them. */
		strip_keys(pc, edit, h);
	}
	if (!keys) {
		log_warn("flow %" PRIu64 ": 401 without ik and ck: no SA set, answered 500", r->id);
		pcscf_reg_failure(&pc->regs, r, 500);
		return SIP_PROXY_SWALLOW;
	}
	log_key("IK", ik, sizeof(ik));
	log_key("CK", ck, sizeof(ck));
	rc = pcscf_reg_challenge(&pc->regs, r, ik, ck, &chosen);
	OPENSSL_cleanse(ik, sizeof(ik));
	OPENSSL_cleanse(ck, sizeof(ck));
	if (rc) {
		log_warn("flow %" PRIu64 ": no temporary SA set (%s): answered 500", r->id,
			 strerror(-rc));
		return SIP_PROXY_SWALLOW;
	}
	buf_init(&b);
	ipsec_mech_print(&b, &chosen);
	server = buf_error(&b) ? STR_NULL : arena_str(&pc->resp_arena, buf_str(&b));
	buf_free(&b);
	buf_init(&canon);
	if (server.s && sip_secmech_parse(server, &sm, NULL) == 0)
		ipsec_secmech_canon(&canon, &sm, 1);
	pcscf_reg_set_server(r, buf_str(&canon));
	buf_free(&canon);
	sip_edit_insert(edit, SIP_EDIT_BOTTOM, SIP_HDR_SECURITY_SERVER, server);
	sip_edit_insert(edit, SIP_EDIT_BOTTOM, SIP_HDR_REQUIRE, STR_LIT("sec-agree"));
	pc->stats.challenges++;
	log_info("flow %" PRIu64 " (%s): 401 relayed with Security-Server %.*s", r->id, r->impi,
		 STR_FMT(server));
	return SIP_PROXY_RELAY;
}

static void on_register_2xx(struct pcscf *pc, struct pcscf_reg *r, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	struct sip_contact contacts[32];
	struct sip_addr pau[16];
	struct sip_uri mine, u;
	unsigned n = 0, na = 0;
	uint32_t expires = 0, hdr_expires = 3600;
	bool found = false;
	struct buf impus;

	sip_msg_expires(m, &hdr_expires, NULL);
	if (r->contact && sip_uri_parse(str_from_cstr(r->contact), &mine, NULL) == 0 &&
	    sip_msg_contacts(m, contacts, 32, &n, NULL) != -EBADMSG) {
		for (unsigned i = 0; i < n && i < 32 && !found; i++) {
			if (contacts[i].star ||
			    sip_uri_parse(contacts[i].addr.uri, &u, NULL) != 0 ||
			    !sip_uri_equal(&mine, &u))
				continue;
			found = true;
			expires = contacts[i].has_expires ? contacts[i].expires : hdr_expires;
		}
	}
	buf_init(&impus);
	if (sip_msg_addrs(m, SIP_HDR_P_ASSOCIATED_URI, pau, 16, &na, NULL) != -EBADMSG) {
		for (unsigned i = 0; i < na && i < 16; i++) {
			if (i)
				buf_putc(&impus, '\n');
			buf_put_str(&impus, pau[i].uri);
		}
	}
	log_info("flow %" PRIu64 " (%s): 2xx to REGISTER, contact %s %s (expires %u)", r->id,
		 r->impi, r->contact ? r->contact : "-", found && expires ? "registered" : "gone",
		 expires);
	pcscf_reg_success(&pc->regs, r, found && expires > 0, expires, buf_str(&impus));
	buf_free(&impus);
	if (found && expires > 0) {
		uint32_t ft = 0;
		const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_FLOW_TIMER);

		if (h && sip_uint_parse(h->value, UINT32_MAX, &ft, NULL) < 0)
			ft = 0;
		pcscf_flow_watch(pc, r, ft);
	}
}

static enum sip_proxy_verdict on_register_response(struct pcscf *pc, struct pcscf_txn *t,
						   struct sip_rx *rx, struct sip_edit *edit)
{
	unsigned status = rx->msg->status;
	struct pcscf_reg *r = pcscf_reg_by_id(&pc->regs, t->reg_id);

	if (status < 200 || t->final_seen)
		return SIP_PROXY_RELAY;
	t->final_seen = true;
	if (status == 401) {
		/* Never relay a challenge whose keys could not be taken out. */
		if (!r)
			return SIP_PROXY_SWALLOW;
		return on_401(pc, r, rx, edit);
	}
	if (!r)
		return SIP_PROXY_RELAY;
	if (status < 300)
		on_register_2xx(pc, r, rx);
	else
		/*
		 * The failure may drop the set the response must go out over
		 * (SA3 of a temporary set): the flow hears of it in on_done().
		 */
		t->failed = status;
	return SIP_PROXY_RELAY;
}

/* ---- requests from UEs ------------------------------------------------ */

static bool dialog_forming(const struct sip_msg *m)
{
	return m->method == SIP_METHOD_INVITE || m->method == SIP_METHOD_SUBSCRIBE ||
	       m->method == SIP_METHOD_REFER;
}

static void ue_request(struct pcscf *pc, sip_txn_id stx, struct sip_rx *rx, struct pcscf_sa *sa)
{
	struct pcscf_reg *r = sa->reg;
	struct sip_proxy_target target;
	struct sip_proxy_req req = { .stx = stx, .targets = &target, .n_targets = 1 };
	struct sip_msg m;
	struct sip_edit e;
	struct str asserted = STR_NULL;
	char token[PCSCF_TOKEN_LEN + 1];
	uint64_t ref = 0;
	int rc;

	if (sa->state == PCSCF_SA_TEMPORARY || !pcscf_reg_usable(r)) {
		log_info("flow %" PRIu64 ": %.*s over set %u refused: flow %s, set %s", r->id,
			 STR_FMT(rx->msg->method_name), sa->set_id, pcscf_reg_state_name(r->state),
			 pcscf_sa_state_name(sa->state));
		respond(pc, stx, 403, "Not registered over this security association");
		return;
	}
	pcscf_reg_seen(&pc->regs, sa);
	if (txn_copy(pc, stx, &m)) {
		respond(pc, stx, 500, NULL);
		return;
	}
	memset(&target, 0, sizeof(target));
	if (next_core_hop(pc, &m, &target.flow)) {
		respond(pc, stx, 400, "Bad Route");
		return;
	}
	sip_edit_init(&e, &m);
	/*
	 * RFC 3325 / 24.229 §5.2.6.3.1: the identity is ours to assert. A
	 * P-Preferred-Identity naming one of the flow's IMPUs is honoured,
	 * anything else gets the default IMPU; what the UE wrote as
	 * P-Asserted-Identity is never believed.
	 */
	sip_msg_foreach(&m, SIP_HDR_P_PREFERRED_IDENTITY, h) {
		struct sip_addr a;

		if (!asserted.s && sip_addr_parse(h->value, &a, NULL) == 0 &&
		    pcscf_reg_has_impu(r, a.uri))
			asserted = a.uri;
	}
	if (!asserted.s)
		asserted = pcscf_reg_default_impu(r);
	sip_edit_remove_all(&e, SIP_HDR_P_PREFERRED_IDENTITY);
	sip_edit_remove_all(&e, SIP_HDR_P_ASSERTED_IDENTITY);
	if (asserted.len)
		sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_P_ASSERTED_IDENTITY,
				str_from_cstr(arena_printf(&pc->req_arena, "<%.*s>",
							   STR_FMT(asserted))));
	if (dialog_forming(&m))
		req.record_route = str_from_cstr(arena_printf(
			&pc->req_arena, "<sip:%s@%s;lr>", token_of(pc, r->id, token), pc->advertise));
	req.msg = &m;
	req.edit = &e;
	rc = sip_proxy_forward(pc->px, &req, &ref);
	if (rc < 0) {
		log_info("flow %" PRIu64 ": %.*s not forwarded: %s", r->id,
			 STR_FMT(m.method_name), strerror(-rc));
		return;
	}
	pc->stats.ue_requests++;
	txn_add(pc, ref, TXN_FROM_UE, r->id);
}

static void from_ue(struct pcscf *pc, sip_txn_id stx, struct sip_rx *rx)
{
	struct pcscf_sa *sa = pcscf_sa_by_set(&pc->regs, rx->flow.sa_set);
	char f[SIP_FLOW_STRLEN];
	struct ipsec_addr src;
	uint16_t sport = 0;

	flow_text(&rx->flow, f, sizeof(f));
	if (!sa) {
		pc->stats.dropped++;
		log_info("%.*s over %s: SA set %u belongs to no flow, dropped",
			 STR_FMT(rx->msg->method_name), f, rx->flow.sa_set);
		sip_server_txn_drop(pc->st, stx);
		return;
	}
	/*
	 * Requests come over SA1 only: from the UE's port_uc to our port_ps
	 * (33.203 §7.1). The backend already refused anything outside the
	 * set's selectors; this is the direction.
	 */
	if (ipsec_addr_from_sockaddr(&rx->flow.remote, &src, &sport) ||
	    !ipsec_addr_eq(&src, &sa->set.p.ue) || sport != sa->set.p.client.port_c ||
	    sip_sockaddr_port(&rx->flow.local) != sa->set.p.server.port_s) {
		pc->stats.dropped++;
		log_notice("flow %" PRIu64 ": %.*s over %s is not on SA1 of set %u "
			   "(port_uc %u -> port_ps %u): dropped",
			   sa->reg->id, STR_FMT(rx->msg->method_name), f, sa->set_id,
			   sa->set.p.client.port_c, sa->set.p.server.port_s);
		sip_server_txn_drop(pc->st, stx);
		return;
	}
	/* Responses go back over SA3, whatever the Via says (33.203 §7.1). */
	sip_server_txn_set_reply_flow(pc->st, stx, &rx->flow);
	if (rx->msg->method == SIP_METHOD_REGISTER)
		protected_register(pc, stx, rx, sa);
	else
		ue_request(pc, stx, rx, sa);
}

/* ---- requests to UEs -------------------------------------------------- */

/* The flow token this request names: user part of our topmost Route, or of our Request-URI. */
static bool token_in(struct pcscf *pc, struct sip_msg *m, struct str *token)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);
	const struct sip_uri *ru;
	struct sip_addr a;
	struct sip_uri u;

	if (h && sip_addr_parse(h->value, &a, NULL) == 0 && sip_uri_parse(a.uri, &u, NULL) == 0 &&
	    sip_stack_is_local_uri(pc->st, &u)) {
		*token = u.user;
		return u.has_user && u.user.len;
	}
	if (!h && sip_msg_ruri(m, &ru, NULL) == 0 && sip_stack_is_local_uri(pc->st, ru) &&
	    ru->has_user && ru->user.len) {
		*token = ru->user;
		return true;
	}
	return false;
}

static void to_ue(struct pcscf *pc, sip_txn_id stx, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	struct sip_proxy_target target;
	struct sip_proxy_req req = { .stx = stx, .targets = &target, .n_targets = 1 };
	struct pcscf_reg *r;
	const struct sip_uri *ru;
	struct str token;
	char tok[PCSCF_TOKEN_LEN + 1];
	uint64_t id = 0, ref = 0;
	int rc;

	if (!token_in(pc, m, &token)) {
		if (sip_msg_ruri(m, &ru, NULL) == 0 && sip_stack_is_local_uri(pc->st, ru) &&
		    m->method == SIP_METHOD_OPTIONS) {
			sip_server_txn_respond(pc->st, stx, 200, STR_NULL);
			return;
		}
		respond(pc, stx, 404, "No flow of this P-CSCF named");
		return;
	}
	rc = pcscf_token_check(pc->token_key, token, &id);
	if (rc) {
		pc->stats.forged_tokens++;
		log_notice("%.*s from the core names flow token '%.*s', which is not ours (%s): 403",
			   STR_FMT(m->method_name), STR_FMT(token),
			   rc == -EACCES ? "HMAC does not verify" : "malformed");
		respond(pc, stx, 403, "Forged flow token");
		return;
	}
	r = pcscf_reg_by_id(&pc->regs, id);
	memset(&target, 0, sizeof(target));
	if (!r || !(pcscf_reg_usable(r) || r->state == PCSCF_REG_ENDING) || r->flow_failed ||
	    pcscf_sip_ue_flow(pc, r, &target.flow) != 0) {
		pc->stats.dead_flows++;
		log_info("%.*s for flow %" PRIu64 ": the flow is gone, 430", STR_FMT(m->method_name),
			 id);
		respond(pc, stx, 430, "Flow Failed");
		return;
	}
	if (dialog_forming(m))
		req.record_route = str_from_cstr(arena_printf(
			&pc->req_arena, "<sip:%s@%s;lr>", token_of(pc, r->id, tok), pc->advertise));
	rc = sip_proxy_forward(pc->px, &req, &ref);
	if (rc < 0) {
		log_info("flow %" PRIu64 ": %.*s to the UE not forwarded: %s", r->id,
			 STR_FMT(m->method_name), strerror(-rc));
		return;
	}
	pc->stats.to_ue++;
	log_debug("flow %" PRIu64 ": %.*s forwarded to the UE over set %u", r->id,
		  STR_FMT(m->method_name), r->est->set_id);
	txn_add(pc, ref, TXN_TO_UE, r->id);
}

/* ---- the stack's and the proxy's callbacks ------------------------------ */

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct pcscf *pc = ctx;
	char f[SIP_FLOW_STRLEN];

	arena_reset(&pc->req_arena);
	if (!stx) {
		/* ACK for a 2xx: end to end, no transaction (RFC 3261 16.11). */
		if (!ipsec_sip_is_protected(pc->ports, rx->flow.tp) && !is_core(pc, &rx->flow.remote))
			return;
		sip_proxy_forward_stateless(pc->px, rx);
		return;
	}
	if (ipsec_sip_is_protected(pc->ports, rx->flow.tp)) {
		from_ue(pc, stx, rx);
		return;
	}
	if (rx->msg->method == SIP_METHOD_REGISTER) {
		initial_register(pc, stx, rx);
		return;
	}
	if (!is_core(pc, &rx->flow.remote)) {
		flow_text(&rx->flow, f, sizeof(f));
		log_info("%.*s over unprotected %s from outside the core: 403",
			 STR_FMT(rx->msg->method_name), f);
		respond(pc, stx, 403, "Use the protected port of your registration");
		return;
	}
	if (pcscf_regevent_request(pc->rev, stx, rx))
		return;
	to_ue(pc, stx, rx);
}

static void on_cancel(struct sip_stack *st, void *ctx, sip_txn_id invite, uint64_t ref,
		      struct sip_rx *rx)
{
	struct pcscf *pc = ctx;

	sip_proxy_cancel(pc->px, ref);
}

static void on_stray(struct sip_stack *st, void *ctx, struct sip_rx *rx)
{
	struct pcscf *pc = ctx;

	sip_proxy_forward_stateless(pc->px, rx);
}

/* A TCP connection closed by the peer or failed: protected ones may end a flow. */
static void on_flow_failure(struct sip_stack *st, void *ctx, const struct sip_flow *flow, int err)
{
	struct pcscf *pc = ctx;

	if (flow->sa_set && ipsec_sip_is_protected(pc->ports, flow->tp))
		pcscf_flow_conn_closed(pc, flow, err);
}

const struct sip_tu_ops pcscf_tu_ops = {
	.request = on_request,
	.cancel = on_cancel,
	.stray_response = on_stray,
	.flow_failure = on_flow_failure,
};

static enum sip_proxy_verdict on_response(struct sip_proxy *px, void *ctx, uint64_t ref,
					  unsigned branch, struct sip_rx *rx, struct sip_edit *edit)
{
	struct pcscf *pc = ctx;
	struct pcscf_txn *t = ipsec_table_get(&pc->pending, &ref);

	arena_reset(&pc->resp_arena);
	if (!t)
		return SIP_PROXY_RELAY;
	if (t->kind == TXN_REGISTER)
		return on_register_response(pc, t, rx, edit);
	if (t->kind == TXN_FROM_UE && rx->msg->status == 401) {
		/* Only REGISTER challenges carry keys; strip them anywhere all the same. */
		sip_msg_foreach(rx->msg, SIP_HDR_WWW_AUTHENTICATE, h)
			strip_keys(pc, edit, h);
	}
	return SIP_PROXY_RELAY;
}

static void on_done(struct sip_proxy *px, void *ctx, uint64_t ref, unsigned status)
{
	struct pcscf *pc = ctx;
	struct pcscf_txn *t = ipsec_table_del(&pc->pending, &ref);
	struct pcscf_reg *r;

	if (!t)
		return;
	/*
	 * A REGISTER whose failure response has gone out, or that never got a
	 * final response (Timer F, a transport error).
	 */
	if (t->kind == TXN_REGISTER && (!t->final_seen || t->failed) &&
	    (r = pcscf_reg_by_id(&pc->regs, t->reg_id)))
		pcscf_reg_failure(&pc->regs, r, t->failed ? t->failed : status ? status : 408);
	free(t);
}

const struct sip_proxy_ops pcscf_proxy_ops = {
	.response = on_response,
	.done = on_done,
};

/* ---- start and stop ------------------------------------------------------ */

int pcscf_sip_start(struct pcscf *pc)
{
	struct sip_tpset *set = sip_stack_transports(pc->st);
	struct sip_uri u;
	int rc;

	arena_init(&pc->req_arena, 4096, 0);
	arena_init(&pc->resp_arena, 4096, 0);
	ipsec_table_init(&pc->pending, sizeof(uint64_t));
	/* Only the plain listeners exist yet: protected ports come with SA sets. */
	pc->n_plain_tp = 0;
	for (struct sip_tp *tp = sip_tpset_next(set, NULL); tp && pc->n_plain_tp < 8;
	     tp = sip_tpset_next(set, tp))
		pc->plain_tp[pc->n_plain_tp++] = tp->id;
	if (!pc->n_plain_tp)
		return -ENOENT;
	for (unsigned i = 0; i < pc->n_plain_tp; i++)
		if (sip_tpset_get(set, pc->plain_tp[i])->ops->proto == SIP_TRANSPORT_TCP)
			pc->protected_tcp = true;
	if (pc->cfg.advertise[0])
		snprintf(pc->advertise, sizeof(pc->advertise), "%s", pc->cfg.advertise);
	else
		snprintf(pc->advertise, sizeof(pc->advertise), "%s",
			 sip_tpset_get(set, pc->plain_tp[0])->sent_by);
	rc = sip_uri_parse(str_from_cstr(pc->cfg.scscf), &u, NULL);
	if (rc == 0)
		rc = pcscf_sip_core_flow(pc, &u, &pc->scscf_flow);
	if (rc == 0)
		rc = sip_tpset_select(set, &pc->scscf_flow, NULL);
	if (rc)
		log_error("the S-CSCF %s cannot be reached over our listeners: %s", pc->cfg.scscf,
			  strerror(-rc));
	return rc;
}

static int free_txn(void *arg, const void *key, void *value)
{
	free(value);
	return 0;
}

void pcscf_sip_stop(struct pcscf *pc)
{
	ipsec_table_each(&pc->pending, free_txn, NULL);
	ipsec_table_free(&pc->pending);
	arena_destroy(&pc->req_arena);
	arena_destroy(&pc->resp_arena);
}
