/*
 * The UE's registration machine against a scripted P-CSCF / S-CSCF, one
 * transcript per scenario (fakenet.h): initial registration, refresh,
 * re-authentication, deregistration; MAC failure, sync failure and
 * resync, a replayed challenge, out-of-order vectors of two accesses;
 * outbound keepalives, flow failure and the RFC 5626 back-off; link drop
 * and restore; the reg event (beliefs, probes, the network ending a
 * registration); impi SA binding; incoming and outgoing requests.
 *
 * Besides the golden transcript, each scenario asserts the facts that
 * matter independently: the digest response verifies with the vector's
 * XRES, auts resynchronises the HSS, states are what they must be.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aka/digest.h"
#include "aka/sqn.h"
#include "core/hex.h"
#include "fakenet.h"
#include "ue/reg.h"

#define BASE                                                                   \
	"ue:\n"                                                                \
	"  impi: alice@ims.test\n"                                             \
	"  impus: [ \"sip:alice@ims.test\", \"tel:+15551230001\" ]\n"          \
	"  register_at_start: false\n"                                         \
	"  backoff:\n"                                                         \
	"    base_all_failed: 2s\n"                                            \
	"    base_some_ok: 6s\n"                                               \
	"    max: 60s\n"

#define ONE_ACCESS "  accesses: [ \"wlan local=198.18.1.2 pcscf=198.18.1.1:5060\" ]\n"
#define TWO_ACCESSES                                                           \
	"  accesses:\n"                                                        \
	"    - \"wlan local=198.18.1.2 pcscf=198.18.1.1:5060\"\n"              \
	"    - \"umts local=198.18.2.2 pcscf=198.18.2.1:5060\"\n"

#define SECSERVER_2                                                                       \
	"ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=70003;spi-s=70004;port-c=6102;" \
	"port-s=6103"

static struct ue_access *acc(struct fakenet *fn, unsigned n)
{
	return &fn->ue->acc[n - 1];
}

static enum ue_reg_state state(struct fakenet *fn, unsigned n)
{
	return acc(fn, n)->reg.state;
}

static int ev(struct fakenet *fn, unsigned n, enum ue_reg_event e)
{
	fn_note(fn, "%s: %s", acc(fn, n)->cfg.name, ue_reg_event_name(e));
	return ue_reg_event(fn->ue, acc(fn, n), e, NULL);
}

/* The response of the last REGISTER must verify with the challenge's XRES. */
static void assert_response_valid(struct fakenet *fn, struct fn_sent *req, const char *impi)
{
	char nonce[AKAV1_NONCE_MAX + 1], resp[64], nc[16], cnonce[32], qop[16];
	struct digest_request r = { 0 };

	fn_auth_param(req, "nonce", nonce, sizeof(nonce));
	fn_auth_param(req, "response", resp, sizeof(resp));
	fn_auth_param(req, "nc", nc, sizeof(nc));
	fn_auth_param(req, "cnonce", cnonce, sizeof(cnonce));
	fn_auth_param(req, "qop", qop, sizeof(qop));
	assert_string_equal(qop, "auth");
	r.username = str_from_cstr(impi);
	r.realm = STR_LIT("ims.test");
	r.nonce = str_from_cstr(nonce);
	r.uri = STR_LIT("sip:ims.test");
	r.method = STR_LIT("REGISTER");
	r.qop = DIGEST_QOP_AUTH;
	r.nc = str_from_cstr(nc);
	r.cnonce = str_from_cstr(cnonce);
	assert_int_equal(digest_verify(&r, fn->last_vec.xres, AKA_RES_LEN, str_from_cstr(resp)), 0);
}

/* The S-CSCF's 200 to a reg SUBSCRIBE of access n: its Contact, the P-CSCF's Record-Route. */
#define SUB_OK_EXPIRES(n, e)                                                       \
	(n) == 1 ? "Contact: <sip:scscf@198.18.0.10:6060>\r\n"                     \
		   "Record-Route: <sip:tok1@198.18.1.1:5060;lr>\r\nExpires: " e "\r\n" \
		 : "Contact: <sip:scscf@198.18.0.10:6060>\r\n"                     \
		   "Record-Route: <sip:tok2@198.18.2.1:5060;lr>\r\nExpires: " e "\r\n"
#define SUB_OK(n) SUB_OK_EXPIRES(n, "600000")

/* Register access n completely (REGISTER, 401, protected REGISTER, 200). */
static void register_access(struct fakenet *fn, unsigned n, const char *secserver)
{
	uint32_t set;

	assert_int_equal(ev(fn, n, UE_REG_EV_REGISTER), 0);
	fn_challenge(fn, fn_last_of(fn, n), NULL, secserver, FN_SAME);
	assert_int_equal(state(fn, n), UE_REG_PROTECTED);
	assert_response_valid(fn, fn_last_of(fn, n), acc(fn, n)->impi);
	set = fn_set_of(fn, n);
	assert_int_equal(fn_last_of(fn, n)->sa_set, set);
	fn_ok(fn, fn_last_of(fn, n), set, NULL);
	assert_int_equal(state(fn, n), UE_REG_REGISTERED);
	/* The reg-event SUBSCRIBE follows over the same set. */
	assert_memory_equal(fn_last_of(fn, n)->msg, "SUBSCRIBE ", 10);
	fn_reply(fn, fn_last_of(fn, n), 200, set, SUB_OK(n));
}

/*
 * A NOTIFY of access n's subscription with one registration and contacts,
 * and Subscription-State `substate`.
 */
static void notify_ss(struct fakenet *fn, unsigned n, uint32_t set, unsigned version,
		      const char *docstate, const char *contacts, const char *substate)
{
	struct ue_access *a = acc(fn, n);
	char body[2048], msg[4096];
	int blen;

	blen = snprintf(body, sizeof(body),
			"<?xml version=\"1.0\"?>\n"
			"<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"%u\" "
			"state=\"%s\">\n"
			"<registration aor=\"sip:alice@ims.test\" id=\"r1\" state=\"active\">\n"
			"%s</registration>\n</reginfo>\n",
			version, docstate, contacts);
	snprintf(msg, sizeof(msg),
		 "NOTIFY sip:alice@198.18.%u.2 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 198.18.%u.1:6100;branch=z9hG4bKnotify%u\r\n"
		 "Max-Forwards: 69\r\n"
		 "From: <sip:alice@ims.test>;tag=notifier\r\n"
		 "To: <sip:alice@ims.test>;tag=%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u NOTIFY\r\n"
		 "Contact: <sip:scscf@198.18.0.10:6060>\r\n"
		 "Event: reg\r\n"
		 "Subscription-State: %s\r\n"
		 "Content-Type: application/reginfo+xml\r\n"
		 "Content-Length: %d\r\n\r\n%s",
		 n, n, version, a->sub.tag, a->sub.call_id, version + 1, substate, blen, body);
	fn_request(fn, n, set, msg);
}

static void notify(struct fakenet *fn, unsigned n, uint32_t set, unsigned version,
		   const char *docstate, const char *contacts)
{
	notify_ss(fn, n, set, version, docstate, contacts, "active;expires=600000");
}

/* The last request whose method is `method`. */
static struct fn_sent *last_method(struct fakenet *fn, const char *method)
{
	size_t n = strlen(method);

	for (unsigned i = fn->nsent; i-- > 0;)
		if (!strncmp(fn->sent[i].msg, method, n) && fn->sent[i].msg[n] == ' ')
			return &fn->sent[i];
	fail_msg("no %s sent", method);
	return NULL;
}

/* A <contact> element for access n's contact. */
static void contact_xml(struct fakenet *fn, unsigned n, const char *st, const char *event,
			const char *extra, char *out, size_t cap)
{
	char uri[256];

	assert_true(ue_contact_uri(acc(fn, n), uri, sizeof(uri)) > 0);
	snprintf(out, cap,
		 "<contact id=\"c%u\" state=\"%s\" event=\"%s\"%s><uri>%s</uri></contact>\n", n,
		 st, event, extra ? extra : "", uri);
}

/* ---- scenarios -------------------------------------------------------------- */

static void test_register_refresh_deregister(void **state_)
{
	struct fakenet fn;
	char c[512];

	fn_setup(&fn, BASE ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);

	fn_note(&fn, "the NOTIFY of the subscription: our contact is active");
	contact_xml(&fn, 1, "active", "registered", NULL, c, sizeof(c));
	notify(&fn, 1, 1, 0, "full", c);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_ACTIVE);
	assert_true(acc(&fn, 1)->sub.beliefs[0].ours_active);

	fn_note(&fn, "600000 s granted: refresh 600 s before expiry (TS 24.229 5.1.1.4.1)");
	fn_advance(&fn, 599399 * 1000ull);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	fn_advance(&fn, 1000);
	assert_int_equal(state(&fn, 1), UE_REG_REFRESHING);
	assert_int_equal(last_method(&fn, "REGISTER")->sa_set, 1);
	fn_ok(&fn, last_method(&fn, "REGISTER"), 1, NULL);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	fn_note(&fn, "the subscription, granted 600000 s too, is refreshed in its dialog");
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_REFRESHING);
	fn_reply(&fn, last_method(&fn, "SUBSCRIBE"), 200, 1, SUB_OK(1));
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_ACTIVE);
	/* Not challenged: the new offer went back, the set stays. */
	assert_false(acc(&fn, 1)->sec.offer_held);
	assert_int_equal(acc(&fn, 1)->sec.est.set.id, 1);

	assert_int_equal(ev(&fn, 1, UE_REG_EV_DEREGISTER), 0);
	assert_non_null(strstr(fn_last(&fn)->msg, "Expires: 0\r\n"));
	fn_ok(&fn, fn_last(&fn), 1, NULL);
	assert_int_equal(state(&fn, 1), UE_REG_IDLE);
	assert_false(acc(&fn, 1)->sec.est.live);
	assert_int_equal(ipsec_alloc_spi_count(&fn.ue->alloc), 0);
	assert_int_equal(ipsec_alloc_port_count(&fn.ue->alloc), 0);

	fn_note(&fn, "deregister when idle is refused");
	assert_int_equal(ev(&fn, 1, UE_REG_EV_DEREGISTER), -EPERM);
	fn_finish(&fn, "register_refresh_deregister");
}

static void test_reauth(void **state_)
{
	struct fakenet fn;
	char nonce[16];
	uint16_t port_us;

	fn_setup(&fn, BASE ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);
	port_us = acc(&fn, 1)->sec.est.set.p.client.port_s;

	assert_int_equal(ev(&fn, 1, UE_REG_EV_REAUTH), 0);
	fn_auth_param(fn_last(&fn), "nonce", nonce, sizeof(nonce));
	assert_string_equal(nonce, "");
	fn_challenge(&fn, fn_last(&fn), NULL, SECSERVER_2, FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_REAUTHENTICATING);
	assert_true(acc(&fn, 1)->sec.tmp.live);
	assert_true(acc(&fn, 1)->sec.est.live);
	/* 33.203 7.4: the new set keeps port_us, the protected REGISTER goes over it. */
	assert_int_equal(acc(&fn, 1)->sec.tmp.set.p.client.port_s, port_us);
	assert_int_equal(fn_last(&fn)->sa_set, 2);
	assert_response_valid(&fn, fn_last(&fn), "alice@ims.test");
	fn_ok(&fn, fn_last(&fn), 2, NULL);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	assert_int_equal(acc(&fn, 1)->sec.est.set.id, 2);
	assert_false(acc(&fn, 1)->sec.tmp.live);
	fn_finish(&fn, "reauth");
}

static void test_mac_failure(void **state_)
{
	struct fakenet fn;
	struct aka_vector v;
	char resp[64], auts[64];

	fn_setup(&fn, BASE ONE_ACCESS);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_vector(&fn, &v);
	v.autn[15] ^= 0x01; /* MAC-A wrong: a network that does not know K */
	fn_challenge(&fn, fn_last(&fn), &v, FN_SECSERVER, FN_SAME);
	/* 24.229 5.1.1.5.3: empty response, no auts, no temporary SAs. */
	assert_int_equal(state(&fn, 1), UE_REG_UNPROTECTED);
	assert_int_equal(fn_last(&fn)->sa_set, 0);
	assert_false(acc(&fn, 1)->sec.tmp.live);
	fn_auth_param(fn_last(&fn), "response", resp, sizeof(resp));
	fn_auth_param(fn_last(&fn), "auts", auts, sizeof(auts));
	assert_string_equal(resp, "");
	assert_string_equal(auts, "");
	fn_reply(&fn, fn_last(&fn), 403, 0, NULL);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	fn_note(&fn, "back-off: one failure, base 2 s: between 2 and 4 s");
	fn_advance(&fn, 1999);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	fn_advance(&fn, 2001);
	assert_int_equal(state(&fn, 1), UE_REG_UNPROTECTED);
	fn_finish(&fn, "mac_failure");
}

static void test_sync_failure(void **state_)
{
	struct fakenet fn;
	struct aka_vector v;
	char auts_b64[64];
	uint8_t auts[AKA_AUTS_LEN];
	size_t n;
	uint64_t sqn_ms, used;

	fn_setup(&fn, BASE ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);
	used = fn.last_vec.sqn;
	fn_note(&fn, "the HSS lost its SQN: its next vector repeats the one just used");
	fn.sqn_he = 0;
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REAUTH), 0);
	fn_vector(&fn, &v);
	fn_challenge(&fn, fn_last(&fn), &v, SECSERVER_2, FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_REFRESHING);
	/* Over the established set, no new temporary set (33.203 7.4). */
	assert_int_equal(fn_last(&fn)->sa_set, 1);
	assert_false(acc(&fn, 1)->sec.tmp.live);
	fn_auth_param(fn_last(&fn), "auts", auts_b64, sizeof(auts_b64));
	assert_int_equal(base64_decode(str_from_cstr(auts_b64), auts, sizeof(auts), &n), 0);
	assert_int_equal(n, AKA_AUTS_LEN);

	fn_note(&fn, "the HSS verifies AUTS and resynchronises");
	assert_int_equal(aka_resync(&fn.hss, v.rand, auts, &sqn_ms), 0);
	/* SQN_MS is the highest SQN the USIM accepted: the first vector's. */
	assert_int_equal(sqn_ms, used);
	assert_int_equal(sqn_he_resync(sqn_ms, &fn.sqn_he), 0);
	fn_challenge(&fn, fn_last(&fn), NULL, SECSERVER_2, FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_REAUTHENTICATING);
	assert_response_valid(&fn, fn_last(&fn), "alice@ims.test");
	fn_ok(&fn, fn_last(&fn), fn_set_of(&fn, 1), NULL);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	fn_finish(&fn, "sync_failure");
}

static void test_replayed_challenge(void **state_)
{
	struct fakenet fn;
	struct aka_vector v;
	char auts[64];

	fn_setup(&fn, BASE "  mechanism: outbound\n" TWO_ACCESSES);
	register_access(&fn, 1, FN_SECSERVER);
	v = fn.last_vec;
	fn_note(&fn, "umts gets the challenge wlan already answered");
	assert_int_equal(ev(&fn, 2, UE_REG_EV_REGISTER), 0);
	fn_challenge(&fn, fn_last_of(&fn, 2), &v, FN_SECSERVER, FN_SAME);
	assert_int_equal(acc(&fn, 2)->reg.digest.ch.verdict, UE_AKA_SYNC_FAILURE);
	assert_int_equal(acc(&fn, 2)->reg.digest.ch.sqn_verdict, SQN_REPLAY);
	assert_int_equal(state(&fn, 2), UE_REG_UNPROTECTED);
	assert_false(acc(&fn, 2)->sec.tmp.live);
	fn_auth_param(fn_last_of(&fn, 2), "auts", auts, sizeof(auts));
	assert_int_equal(strlen(auts), 20);
	/* wlan is untouched. */
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	fn_finish(&fn, "replayed_challenge");
}

static void test_out_of_order_vectors(void **state_)
{
	struct fakenet fn;
	struct aka_vector v1, v2;

	fn_setup(&fn, BASE "  mechanism: outbound\n" TWO_ACCESSES);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	assert_int_equal(ev(&fn, 2, UE_REG_EV_REGISTER), 0);
	fn_vector(&fn, &v1);
	fn_vector(&fn, &v2);
	fn_note(&fn, "the second vector reaches the USIM first (TS 33.102 Annex C IND slots)");
	fn_challenge(&fn, fn_last_of(&fn, 2), &v2, SECSERVER_2, FN_SAME);
	assert_int_equal(state(&fn, 2), UE_REG_PROTECTED);
	fn_challenge(&fn, fn_last_of(&fn, 1), &v1, FN_SECSERVER, FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_PROTECTED);
	fn_ok(&fn, fn_last_of(&fn, 2), fn_set_of(&fn, 2), NULL);
	fn_ok(&fn, fn_last_of(&fn, 1), fn_set_of(&fn, 1), NULL);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	assert_int_equal(state(&fn, 2), UE_REG_REGISTERED);
	assert_true(acc(&fn, 1)->reg.outbound);
	/* RFC 5626: one instance, reg-id = access number. */
	assert_non_null(strstr(fn.sent[0].msg, "reg-id=1"));
	assert_non_null(strstr(fn.sent[1].msg, "reg-id=2"));
	assert_non_null(strstr(fn.sent[0].msg, "Supported: path, outbound"));
	fn_finish(&fn, "out_of_order_vectors");
}

static void test_modified_impi_probe(void **state_)
{
	struct fakenet fn;
	char user[64], c[1024], c2[512];

	fn_setup(&fn, BASE "  mechanism: modified-impi+regevent-probe\n" TWO_ACCESSES);
	assert_string_equal(acc(&fn, 1)->impi, "alice@ims.test");
	assert_string_equal(acc(&fn, 2)->impi, "alice+2@ims.test");
	register_access(&fn, 1, FN_SECSERVER);
	register_access(&fn, 2, SECSERVER_2);
	fn_auth_param(fn_last_of(&fn, 2), "username", user, sizeof(user));
	fn_note(&fn, "the S-CSCF probes wlan's binding with a NOTIFY on its subscription");
	contact_xml(&fn, 1, "active", "registered", NULL, c, sizeof(c));
	contact_xml(&fn, 2, "active", "registered", NULL, c2, sizeof(c2));
	strcat(c, c2);
	notify(&fn, 1, 1, 0, "full", c);
	assert_true(acc(&fn, 1)->sub.beliefs[0].ours_active);
	assert_int_equal(acc(&fn, 1)->sub.beliefs[0].active_contacts, 2);
	fn_finish(&fn, "modified_impi_probe");
}

static void test_outbound_keepalive_flow_failure(void **state_)
{
	struct fakenet fn;

	fn_setup(&fn, BASE "  mechanism: outbound\n" ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);
	fn_note(&fn, "no Flow-Timer: UDP keepalives every 24 to 29 s (RFC 5626 4.4.1)");
	fn_advance(&fn, 29000);
	assert_int_equal(fn.keepalives, 1);
	ue_on_keepalive(fn.ue, acc(&fn, 1), NULL);
	fn_advance(&fn, 29000);
	assert_int_equal(fn.keepalives, 2);
	fn_note(&fn, "no answer within 10 s: the flow failed");
	fn_advance(&fn, 10000);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	assert_false(acc(&fn, 1)->sec.est.live);
	fn_advance(&fn, 4000);
	assert_int_equal(state(&fn, 1), UE_REG_UNPROTECTED);
	fn_finish(&fn, "outbound_keepalive_flow_failure");
}

static void test_keepalive_nat_rebinding(void **state_)
{
	struct fakenet fn;
	union sip_sockaddr m1, m2;

	assert_int_equal(sip_sockaddr_parse(STR_LIT("203.0.113.7:40000"), 5060, &m1), 0);
	assert_int_equal(sip_sockaddr_parse(STR_LIT("203.0.113.7:40002"), 5060, &m2), 0);
	fn_setup(&fn, BASE "  mechanism: outbound\n" ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);
	fn_note(&fn, "two answers that map us to the same address: the flow lives");
	fn_advance(&fn, 29000);
	ue_on_keepalive(fn.ue, acc(&fn, 1), &m1);
	fn_advance(&fn, 29000);
	ue_on_keepalive(fn.ue, acc(&fn, 1), &m1);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	assert_int_equal(acc(&fn, 1)->ka_answered, 2);
	fn_note(&fn, "the next maps us elsewhere: a NAT rebound the flow (RFC 5626 4.4.2)");
	fn_advance(&fn, 29000);
	ue_on_keepalive(fn.ue, acc(&fn, 1), &m2);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	assert_false(acc(&fn, 1)->sec.est.live);
	fn_finish(&fn, "keepalive_nat_rebinding");
}

static void test_drop_restore(void **state_)
{
	struct fakenet fn;

	fn_setup(&fn, BASE "  mechanism: outbound\n" TWO_ACCESSES);
	register_access(&fn, 1, FN_SECSERVER);
	register_access(&fn, 2, SECSERVER_2);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_DROP), 0);
	assert_int_equal(state(&fn, 1), UE_REG_LINK_DOWN);
	assert_false(acc(&fn, 1)->sec.est.live);
	assert_int_equal(state(&fn, 2), UE_REG_REGISTERED);
	fn_note(&fn, "register while the link is down is refused");
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), -EPERM);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_RESTORE), 0);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	fn_note(&fn, "umts still works: base 6 s, one failure: 6 to 12 s");
	fn_advance(&fn, 5999);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	fn_advance(&fn, 6001);
	assert_int_equal(state(&fn, 1), UE_REG_UNPROTECTED);
	fn_challenge(&fn, fn_last_of(&fn, 1), NULL, FN_SECSERVER, FN_SAME);
	fn_ok(&fn, fn_last_of(&fn, 1), fn_set_of(&fn, 1), NULL);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	assert_int_equal(acc(&fn, 1)->reg.failures, 0);
	fn_finish(&fn, "drop_restore");
}

static void test_network_ends(void **state_)
{
	struct fakenet fn;
	char c[512];

	fn_setup(&fn, BASE TWO_ACCESSES);
	register_access(&fn, 1, FN_SECSERVER);
	register_access(&fn, 2, SECSERVER_2);
	fn_note(&fn, "mechanism none: umts's registration replaced wlan's (unregistered)");
	contact_xml(&fn, 1, "terminated", "unregistered", NULL, c, sizeof(c));
	notify(&fn, 2, 2, 0, "partial", c);
	/* A partial document first: a gap, so the UE refreshes for full state (RFC 3680). */
	assert_int_equal(acc(&fn, 2)->sub.state, UE_SUB_REFRESHING);
	assert_non_null(strstr(fn_last(&fn)->msg, "SUBSCRIBE sip:scscf@198.18.0.10:6060 SIP/2.0"));
	notify(&fn, 2, 2, 0, "full", c);
	assert_int_equal(state(&fn, 1), UE_REG_IDLE);
	assert_int_equal(state(&fn, 2), UE_REG_REGISTERED);
	fn_note(&fn, "deactivated: an initial registration at once (24.229 5.1.1.3)");
	contact_xml(&fn, 2, "terminated", "deactivated", NULL, c, sizeof(c));
	notify(&fn, 2, 2, 1, "partial", c);
	assert_int_equal(state(&fn, 2), UE_REG_UNPROTECTED);
	assert_false(acc(&fn, 2)->sec.est.live);
	assert_int_equal(last_method(&fn, "REGISTER")->sa_set, 0);
	fn_challenge(&fn, last_method(&fn, "REGISTER"), NULL, SECSERVER_2, FN_SAME);
	fn_ok(&fn, last_method(&fn, "REGISTER"), fn_set_of(&fn, 2), NULL);
	assert_int_equal(state(&fn, 2), UE_REG_REGISTERED);
	fn_reply(&fn, last_method(&fn, "SUBSCRIBE"), 200, fn_set_of(&fn, 2), SUB_OK(2));
	fn_note(&fn, "probation: try again after retry-after");
	contact_xml(&fn, 2, "terminated", "probation", " retry-after=\"30\"", c, sizeof(c));
	notify(&fn, 2, fn_set_of(&fn, 2), 0, "full", c);
	assert_int_equal(state(&fn, 2), UE_REG_BACKOFF);
	fn_advance(&fn, 29999);
	assert_int_equal(state(&fn, 2), UE_REG_BACKOFF);
	fn_advance(&fn, 1);
	assert_int_equal(state(&fn, 2), UE_REG_UNPROTECTED);
	fn_finish(&fn, "network_ends");
}

static void test_subscription_refresh(void **state_)
{
	struct fakenet fn;
	struct fn_sent *sub;
	char c[512], call_id[40];

	fn_setup(&fn, BASE ONE_ACCESS);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_challenge(&fn, fn_last(&fn), NULL, FN_SECSERVER, FN_SAME);
	fn_ok(&fn, fn_last(&fn), 1, NULL);
	fn_note(&fn, "the notifier grants 4 s: refresh at half time (24.229 5.1.1.3)");
	fn_reply(&fn, fn_last(&fn), 200, 1, SUB_OK_EXPIRES(1, "4"));
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_ACTIVE);
	fn_advance(&fn, 1999);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_ACTIVE);
	fn_advance(&fn, 1);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_REFRESHING);
	/* RFC 6665 4.1.2.2: inside the dialog: remote target, route set, remote tag. */
	sub = fn_last(&fn);
	assert_int_equal(sub->sa_set, 1);
	assert_non_null(strstr(sub->msg, "SUBSCRIBE sip:scscf@198.18.0.10:6060 SIP/2.0\r\n"));
	assert_non_null(strstr(sub->msg, "Route: <sip:tok1@198.18.1.1:5060;lr>\r\n"));
	assert_null(strstr(sub->msg, "Route: <sip:orig-"));
	assert_non_null(strstr(sub->msg, "To: <sip:alice@ims.test>;tag=scscf1\r\n"));
	assert_non_null(strstr(sub->msg, "CSeq: 2 SUBSCRIBE\r\n"));
	fn_reply(&fn, sub, 200, 1, SUB_OK_EXPIRES(1, "4"));
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_ACTIVE);
	assert_int_equal(acc(&fn, 1)->sub.refreshes, 1);

	fn_note(&fn, "the next refresh gets 481: the notifier lost it; a new subscription at once");
	snprintf(call_id, sizeof(call_id), "%s", acc(&fn, 1)->sub.call_id);
	fn_advance(&fn, 2000);
	fn_reply(&fn, fn_last(&fn), 481, 1, NULL);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_TERMINATED);
	fn_advance(&fn, 0);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_SUBSCRIBING);
	sub = fn_last(&fn);
	assert_non_null(strstr(sub->msg, "SUBSCRIBE sip:alice@ims.test SIP/2.0\r\n"));
	assert_null(strstr(sub->msg, call_id));
	fn_reply(&fn, sub, 200, 1, SUB_OK(1));

	fn_note(&fn, "terminated;reason=deactivated, registered: subscribe again after the 200");
	contact_xml(&fn, 1, "active", "registered", NULL, c, sizeof(c));
	notify_ss(&fn, 1, 1, 0, "full", c, "terminated;reason=deactivated");
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_SUBSCRIBING);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	fn_reply(&fn, fn_last(&fn), 200, 1, SUB_OK(1));

	fn_note(&fn, "terminated;reason=probation;retry-after=20: again 20 s later");
	notify_ss(&fn, 1, 1, 0, "full", c, "terminated;reason=probation;retry-after=20");
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_TERMINATED);
	fn_advance(&fn, 19999);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_TERMINATED);
	fn_advance(&fn, 1);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_SUBSCRIBING);

	fn_note(&fn, "the SUBSCRIBE is refused (480): the back-off, 6 to 12 s with one failure");
	fn_reply(&fn, fn_last(&fn), 480, 1, NULL);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_TERMINATED);
	fn_advance(&fn, 5999);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_TERMINATED);
	fn_advance(&fn, 6001);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_SUBSCRIBING);
	fn_reply(&fn, fn_last(&fn), 200, 1, SUB_OK_EXPIRES(1, "4"));
	assert_int_equal(acc(&fn, 1)->sub.failures, 0);

	fn_note(&fn, "a refresh nobody answers: at expiry the subscription is gone, a new one");
	fn_advance(&fn, 2000);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_REFRESHING);
	fn_advance(&fn, 2000);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_SUBSCRIBING);
	fn_reply(&fn, fn_last(&fn), 200, 1, SUB_OK(1));

	fn_note(&fn, "terminated;reason=rejected: not before the next registration");
	notify_ss(&fn, 1, 1, 0, "full", c, "terminated;reason=rejected");
	fn_advance(&fn, 3600 * 1000);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_TERMINATED);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_ok(&fn, fn_last(&fn), 1, NULL);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_SUBSCRIBING);
	fn_note(&fn, "the NOTIFY before the 200 sets the dialog up; the notifier shortens to 10 s");
	notify_ss(&fn, 1, 1, 0, "full", c, "active;expires=10");
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_ACTIVE);
	fn_advance(&fn, 5000);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_REFRESHING);
	assert_non_null(strstr(fn_last(&fn)->msg, "SUBSCRIBE sip:scscf@198.18.0.10:6060 SIP/2.0"));
	assert_non_null(strstr(fn_last(&fn)->msg, "To: <sip:alice@ims.test>;tag=notifier\r\n"));

	fn_note(&fn, "deregistered: the subscription is forgotten, its timer with it");
	assert_int_equal(ev(&fn, 1, UE_REG_EV_DEREGISTER), 0);
	fn_ok(&fn, last_method(&fn, "REGISTER"), 1, NULL);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_NONE);
	fn_advance(&fn, 3600 * 1000);
	assert_int_equal(acc(&fn, 1)->sub.state, UE_SUB_NONE);
	fn_finish(&fn, "subscription_refresh");
}

static void test_shortened_reauth(void **state_)
{
	struct fakenet fn;
	char c[512], extra[96], nonce[AKAV1_NONCE_MAX + 1];

	fn_setup(&fn, BASE TWO_ACCESSES);
	register_access(&fn, 1, FN_SECSERVER);
	register_access(&fn, 2, SECSERVER_2);
	fn_note(&fn, "network-initiated re-authentication of wlan: its contact shortened to 60 s");
	snprintf(extra, sizeof(extra), " expires=\"60\"");
	contact_xml(&fn, 1, "active", "shortened", extra, c, sizeof(c));
	notify(&fn, 1, 1, 0, "full", c);
	assert_int_equal(acc(&fn, 1)->reg.expires, 60);
	fn_note(&fn, "re-registration at half time, a refresh (the last nonce), not a request");
	fn_advance(&fn, 29999);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	fn_advance(&fn, 1);
	assert_int_equal(state(&fn, 1), UE_REG_REFRESHING);
	fn_auth_param(last_method(&fn, "REGISTER"), "nonce", nonce, sizeof(nonce));
	assert_true(strlen(nonce) > 0);
	fn_challenge(&fn, last_method(&fn, "REGISTER"), NULL, SECSERVER_2, FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_REAUTHENTICATING);
	assert_int_equal(last_method(&fn, "REGISTER")->sa_set, 3);
	assert_response_valid(&fn, last_method(&fn, "REGISTER"), "alice@ims.test");
	fn_ok(&fn, last_method(&fn, "REGISTER"), 3, NULL);
	assert_int_equal(state(&fn, 1), UE_REG_REGISTERED);
	assert_int_equal(acc(&fn, 1)->sec.est.set.id, 3);
	assert_int_equal(acc(&fn, 1)->reg.expires, 600000);
	/* umts: not shortened, not challenged, its set untouched. */
	assert_int_equal(state(&fn, 2), UE_REG_REGISTERED);
	assert_int_equal(acc(&fn, 2)->sec.est.set.id, 2);
	assert_int_equal(acc(&fn, 2)->reg.expires, 600000);
	fn_finish(&fn, "shortened_reauth");
}

static void test_usim_op(void **state_)
{
	struct fakenet fn;

	/* TS 35.208 set 1: this OP gives the network's OPc (35.206 OPc = E_K(OP) ^ OP). */
	fn_setup(&fn, BASE "  usim:\n"
			   "    opc: \"\"\n"
			   "    op: cdc202d5123e20f62b6d676ac72cb318\n"
			   "    amf: 8000\n" ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);
	assert_int_equal(acc(&fn, 1)->reg.digest.ch.verdict, UE_AKA_OK);
	fn_finish(&fn, "usim_op");

	fn_setup(&fn, BASE "  usim:\n"
			   "    amf: 9000\n" ONE_ACCESS);
	fn_note(&fn, "a USIM that insists on another AMF refuses the same network's challenge");
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_challenge(&fn, fn_last(&fn), NULL, FN_SECSERVER, FN_SAME);
	/* Answered like a MAC failure: unprotected, empty response, no SAs. */
	assert_int_equal(acc(&fn, 1)->reg.digest.ch.verdict, UE_AKA_MAC_FAILURE);
	assert_int_equal(state(&fn, 1), UE_REG_UNPROTECTED);
	assert_int_equal(fn_last(&fn)->sa_set, 0);
	assert_false(acc(&fn, 1)->sec.tmp.live);
	fn_finish(&fn, "usim_amf");
}

static void test_impi_binding(void **state_)
{
	struct fakenet fn;

	fn_setup(&fn, BASE "  sa_binding: impi\n" TWO_ACCESSES);
	register_access(&fn, 1, FN_SECSERVER);
	register_access(&fn, 2, SECSERVER_2);
	assert_int_equal(state(&fn, 1), UE_REG_IDLE);
	assert_false(acc(&fn, 1)->sec.est.live);
	assert_int_equal(state(&fn, 2), UE_REG_REGISTERED);
	fn_finish(&fn, "impi_binding");
}

static void test_incoming_and_outgoing(void **state_)
{
	struct fakenet fn;
	char call_id[40];
	static const char msg_fmt[] = "%s sip:alice@198.18.1.2:%u SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 198.18.1.1:6100;branch=z9hG4bK%s\r\n"
				      "Max-Forwards: 69\r\n"
				      "From: <sip:bob@ims.test>;tag=b1\r\n"
				      "To: <sip:alice@ims.test>\r\n"
				      "Call-ID: in-%s\r\n"
				      "CSeq: 1 %s\r\n"
				      "Content-Type: text/plain\r\n"
				      "Content-Length: 5\r\n\r\nhello";
	const char *methods[] = { "MESSAGE", "OPTIONS", "INVITE", "SUBSCRIBE", "NOTIFY" };
	char m[1024];
	uint16_t port;

	fn_setup(&fn, BASE ONE_ACCESS);
	register_access(&fn, 1, FN_SECSERVER);
	port = acc(&fn, 1)->sec.est.set.p.client.port_s;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(m, sizeof(m), msg_fmt, methods[i], port, methods[i], methods[i],
			 methods[i]);
		fn_request(&fn, 1, 1, m);
	}
	fn_note(&fn, "unprotected requests are refused");
	snprintf(m, sizeof(m), msg_fmt, "MESSAGE", port, "x", "x", "MESSAGE");
	fn_request(&fn, 1, 0, m);

	fn_note(&fn, "MESSAGE out through the P-CSCF's port_ps and the Service-Route");
	assert_int_equal(ue_send_request(fn.ue, acc(&fn, 1), STR_LIT("MESSAGE"),
					 STR_LIT("sip:bob@ims.test"), STR_LIT("hi bob"), call_id),
			 0);
	assert_non_null(strstr(fn_last(&fn)->msg, "Route: <sip:198.18.1.1:6101;lr>\r\n"
						  "Route: <sip:orig-1@198.18.0.10:6060;lr>\r\n"));
	fn_reply(&fn, fn_last(&fn), 200, 1, NULL);
	assert_int_equal(ue_send_request(fn.ue, acc(&fn, 1), STR_LIT("INVITE"),
					 STR_LIT("sip:bob@ims.test"), STR_NULL, call_id),
			 -EINVAL);
	fn_finish(&fn, "incoming_and_outgoing");
}

static void test_bad_challenges(void **state_)
{
	struct fakenet fn;

	fn_setup(&fn, BASE ONE_ACCESS);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_note(&fn, "no Security-Server: the challenge is abandoned (24.229 5.1.1.5.1)");
	fn_challenge(&fn, fn_last(&fn), NULL, NULL, FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	assert_int_equal(ipsec_alloc_spi_count(&fn.ue->alloc), 0);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_note(&fn, "an algorithm we did not offer");
	fn_challenge(&fn, fn_last(&fn), NULL,
		     "ipsec-3gpp;alg=hmac-md5-96;ealg=des-ede3-cbc;spi-c=70001;spi-s=70002;"
		     "port-c=6100;port-s=6101",
		     FN_SAME);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	assert_int_equal(ev(&fn, 1, UE_REG_EV_REGISTER), 0);
	fn_challenge(&fn, fn_last(&fn), NULL, FN_SECSERVER, FN_SAME);
	fn_note(&fn, "the 200 arrives unprotected: not from our P-CSCF's SAs");
	fn_ok(&fn, fn_last(&fn), 0, NULL);
	assert_int_equal(state(&fn, 1), UE_REG_BACKOFF);
	assert_int_equal(ipsec_alloc_spi_count(&fn.ue->alloc), 0);
	fn_finish(&fn, "bad_challenges");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_refresh_deregister),
		cmocka_unit_test(test_reauth),
		cmocka_unit_test(test_mac_failure),
		cmocka_unit_test(test_sync_failure),
		cmocka_unit_test(test_replayed_challenge),
		cmocka_unit_test(test_out_of_order_vectors),
		cmocka_unit_test(test_modified_impi_probe),
		cmocka_unit_test(test_outbound_keepalive_flow_failure),
		cmocka_unit_test(test_keepalive_nat_rebinding),
		cmocka_unit_test(test_drop_restore),
		cmocka_unit_test(test_network_ends),
		cmocka_unit_test(test_subscription_refresh),
		cmocka_unit_test(test_shortened_reauth),
		cmocka_unit_test(test_usim_op),
		cmocka_unit_test(test_impi_binding),
		cmocka_unit_test(test_incoming_and_outgoing),
		cmocka_unit_test(test_bad_challenges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
