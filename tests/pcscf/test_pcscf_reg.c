/*
 * test_pcscf_reg - the P-CSCF's registration flows and SA sets as logic
 * (src/pcscf/reg.h): each scenario drives the model as the SIP side would,
 * on a manual clock, and its trace (every transition, every set installed
 * or removed, every refused event) is compared with a transcript in
 * golden/reg_*.txt. The state tables themselves are checked against
 * docs/pcscf.md.
 *
 *     SIMREG_REGENERATE=1 ctest --test-dir build -R test_pcscf_reg
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipsec_sip/golden.h"
#include "pcscf/reg.h"

struct world {
	struct loop_manual_clock mc;
	struct loop *loop;
	struct pcscf_regs rs;
	struct buf out;
	uint32_t next_set;
	uint32_t rng;
	bool fail_install;
};

static uint64_t clock_ms(void *ctx)
{
	struct world *w = ctx;

	/* The wall clock moves with the loop's manual clock. */
	return 1700000000000ull + loop_now_ms(w->loop);
}

static uint32_t rng(void *ctx)
{
	struct world *w = ctx;

	/* Deterministic SPIs and ports. */
	w->rng = w->rng * 1103515245u + 12345u;
	return w->rng;
}

static int op_install(void *ctx, struct pcscf_sa *sa)
{
	struct world *w = ctx;

	if (w->fail_install)
		return -EEXIST;
	sa->set_id = ++w->next_set;
	buf_printf(&w->out, "  [install set %u: ue port_uc %u port_us %u, pcscf port_pc %u "
			    "port_ps %u, %s/%s]\n",
		   sa->set_id, sa->set.p.client.port_c, sa->set.p.client.port_s,
		   sa->set.p.server.port_c, sa->set.p.server.port_s,
		   esp_auth_alg_name(sa->set.p.keys.auth), esp_enc_alg_name(sa->set.p.keys.enc));
	return 0;
}

static void op_remove(void *ctx, struct pcscf_sa *sa)
{
	struct world *w = ctx;

	buf_printf(&w->out, "  [remove set %u]\n", sa->set_id);
}

static void op_registered(void *ctx, struct pcscf_reg *r)
{
	struct world *w = ctx;
	struct str impu = pcscf_reg_default_impu(r);

	buf_printf(&w->out, "  [registered flow %" PRIu64 ": expires %u s, default IMPU %.*s]\n",
		   r->id, r->expires_s, STR_FMT(impu));
}

static void op_ended(void *ctx, struct pcscf_reg *r)
{
	struct world *w = ctx;

	buf_printf(&w->out, "  [ended flow %" PRIu64 " (%s)]\n", r->id,
		   pcscf_reg_event_name(r->ended_cause));
}

static void op_forget(void *ctx, struct pcscf_reg *r)
{
	struct world *w = ctx;

	buf_printf(&w->out, "  [forget flow %" PRIu64 "]\n", r->id);
}

static void op_trace(void *ctx, const char *line)
{
	struct world *w = ctx;

	buf_printf(&w->out, "t=%" PRIu64 "s %s\n", loop_now_ms(w->loop) / 1000, line);
}

static const struct pcscf_reg_ops ops = {
	.install = op_install,
	.remove = op_remove,
	.registered = op_registered,
	.ended = op_ended,
	.forget = op_forget,
	.trace = op_trace,
};

static struct world *world_new(enum pcscf_binding binding)
{
	struct world *w = calloc(1, sizeof(*w));
	struct pcscf_reg_policy policy = {
		.binding = binding,
		.await_auth_ms = 240000,
		.grace_ms = 30000,
		.linger_ms = 2000,
		.max_flows = 4,
	};
	struct pcscf_clock clock = { clock_ms, w };
	struct ipsec_alloc_seam seam = { .random32 = rng, .ctx = w };
	struct ipsec_alloc_config ac = { 0x10000, 0xffffffffu, 20000, 20999 };

	assert_non_null(w);
	loop_manual_clock_init(&w->mc, 0);
	assert_int_equal(loop_create(&w->loop, &w->mc.clock), 0);
	ipsec_prefs_default(&policy.prefs);
	w->rng = 7;
	assert_int_equal(pcscf_regs_init(&w->rs, w->loop, &clock, &policy, &ac, &seam, &ops, w),
			 0);
	buf_init(&w->out);
	return w;
}

static void world_free(struct world *w)
{
	pcscf_regs_destroy(&w->rs);
	loop_destroy(w->loop);
	buf_free(&w->out);
	free(w);
}

static void world_check(struct world *w, const char *name)
{
	char path[1024];

	assert_int_equal(buf_error(&w->out), 0);
	snprintf(path, sizeof(path), "%s/golden/reg_%s.txt", TEST_DIR, name);
	assert_true(golden_matches(w->out.p ? w->out.p : "", path));
	world_free(w);
}

static void note(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct world *w, const char *fmt, ...)
{
	va_list ap;

	buf_puts(&w->out, "# ");
	va_start(ap, fmt);
	buf_vprintf(&w->out, fmt, ap);
	va_end(ap);
	buf_putc(&w->out, '\n');
}

static void advance(struct world *w, uint64_t s)
{
	note(w, "%" PRIu64 " s pass", s);
	loop_advance(w->loop, s * 1000);
}

static struct ipsec_offer offer(uint32_t spi_c, uint16_t port_c, uint16_t port_s)
{
	struct ipsec_offer o = { .n_entries = 1, .n = 1 };

	o.m[0].alg = ESP_AUTH_HMAC_SHA1_96;
	o.m[0].ealg = ESP_ENC_AES_CBC;
	o.m[0].q = IPSEC_Q_NONE;
	o.m[0].sp = (struct ipsec_sec_params){ spi_c, spi_c + 1, port_c, port_s };
	return o;
}

static const uint8_t ik[16] = { 0x11 };
static const uint8_t ck[16] = { 0x22 };

static struct pcscf_reg *initial(struct world *w, const char *impi, const char *ue,
				 uint16_t port_c, uint16_t port_s, int want)
{
	struct ipsec_addr a, local;
	struct ipsec_offer o = offer(1000 + port_c, port_c, port_s);
	struct pcscf_reg *r = NULL;

	note(w, "unprotected REGISTER %s from %s ports %u/%u", impi, ue, port_c, port_s);
	assert_int_equal(ipsec_addr_parse(ue, &a), 0);
	assert_int_equal(ipsec_addr_parse("198.18.0.1", &local), 0);
	assert_int_equal(pcscf_reg_initial(&w->rs, str_from_cstr(impi), &a, &local, &o,
					   STR_LIT("canon-client"), STR_LIT("sip:alice@ims.test"),
					   STR_LIT("sip:alice@198.18.1.2:5064"), STR_LIT("call-1"),
					   &r),
			 want);
	return r;
}

static struct pcscf_sa *challenge(struct world *w, struct pcscf_reg *r)
{
	struct ipsec_mech m;

	note(w, "401 for flow %" PRIu64, r->id);
	assert_int_equal(pcscf_reg_challenge(&w->rs, r, ik, ck, &m), 0);
	assert_non_null(r->temp);
	assert_int_equal(m.sp.spi_c, r->temp->set.p.server.spi_c);
	assert_int_equal(m.sp.port_s, r->temp->set.p.server.port_s);
	return r->temp;
}

static void over(struct world *w, struct pcscf_sa *sa, uint16_t new_port_c, int want)
{
	struct ipsec_offer o = offer(5000 + new_port_c, new_port_c, sa->set.p.client.port_s);

	note(w, "REGISTER over set %u (%s)%s", sa->set_id, pcscf_sa_state_name(sa->state),
	     new_port_c ? ", new Security-Client" : "");
	assert_int_equal(pcscf_reg_register_over(&w->rs, sa, new_port_c ? &o : NULL,
						 STR_LIT("canon-2"), STR_NULL, STR_NULL),
			 want);
}

static void ok200(struct world *w, struct pcscf_reg *r, uint32_t expires)
{
	note(w, "200 for flow %" PRIu64 ", expires %u", r->id, expires);
	assert_int_equal(pcscf_reg_success(&w->rs, r, expires != 0, expires,
					   STR_LIT("sip:alice@ims.test\ntel:+15550101")),
			 0);
}

/* A full registration: unprotected REGISTER, 401, protected REGISTER, 200. */
static struct pcscf_reg *register_flow(struct world *w, const char *impi, const char *ue,
				       uint16_t port_c, uint16_t port_s)
{
	struct pcscf_reg *r = initial(w, impi, ue, port_c, port_s, 0);
	struct pcscf_sa *sa = challenge(w, r);

	over(w, sa, 0, 0);
	ok200(w, r, 600);
	assert_int_equal(r->state, PCSCF_REG_REGISTERED);
	assert_ptr_equal(r->est, sa);
	return r;
}

static void test_register_refresh_dereg(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *r = register_flow(w, "alice@ims.test", "198.18.1.2", 5062, 5064);
	struct pcscf_sa *est = r->est;
	uint64_t id = r->id;

	assert_int_equal(est->expires_ms, clock_ms(w) + 630000);
	advance(w, 300);
	note(w, "refresh without a challenge");
	over(w, est, 5066, 0);
	ok200(w, r, 600);
	/* max(old lifetime, now + 600 + 30) */
	assert_int_equal(est->expires_ms, clock_ms(w) + 630000);
	advance(w, 100);
	note(w, "deregistration");
	over(w, est, 5068, 0);
	ok200(w, r, 0);
	assert_int_equal(r->state, PCSCF_REG_ENDING);
	assert_non_null(r->est);
	advance(w, 2);
	assert_null(pcscf_reg_by_id(&w->rs, id));
	assert_int_equal(w->rs.n_flows, 0);
	assert_int_equal(ipsec_alloc_spi_count(&w->rs.alloc), 0);
	world_check(w, "register_refresh_dereg");
}

static void test_reauthentication(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *r = register_flow(w, "alice@ims.test", "198.18.1.2", 5062, 5064);
	struct pcscf_sa *est1 = r->est, *temp2;
	uint16_t port_ps = est1->set.p.server.port_s;

	advance(w, 60);
	note(w, "re-REGISTER challenged: a second set next to the first");
	over(w, est1, 5070, 0);
	temp2 = challenge(w, r);
	assert_int_equal(r->state, PCSCF_REG_RECHALLENGED);
	/* port_ps kept, port_pc and the SPIs new. */
	assert_int_equal(temp2->set.p.server.port_s, port_ps);
	assert_int_not_equal(temp2->set.p.server.port_c, est1->set.p.server.port_c);
	assert_int_equal(temp2->set.p.client.port_c, 5070);
	over(w, temp2, 0, 0);
	ok200(w, r, 600);
	assert_ptr_equal(r->est, temp2);
	assert_ptr_equal(r->old, est1);
	assert_int_equal(r->key.port_uc, 5070);
	note(w, "the UE uses the new set: the old one goes");
	pcscf_reg_seen(&w->rs, temp2);
	assert_null(r->old);

	note(w, "a second re-authentication whose old set simply expires");
	advance(w, 300);
	over(w, r->est, 5072, 0);
	challenge(w, r);
	over(w, r->temp, 0, 0);
	ok200(w, r, 600);
	assert_non_null(r->old);
	/* The old set keeps its lifetime (630 s from its own 2xx, at t=60). */
	assert_int_equal(r->old->expires_ms, clock_ms(w) - 300000 + 630000);
	assert_int_equal(r->est->expires_ms, clock_ms(w) + 630000);
	advance(w, 331);
	assert_null(r->old);
	assert_int_equal(r->state, PCSCF_REG_REGISTERED);

	note(w, "a challenge the UE abandons (MAC failure): registered as before");
	over(w, r->est, 5074, 0);
	challenge(w, r);
	over(w, r->est, 5076, 0);
	assert_null(r->temp);
	assert_int_equal(r->state, PCSCF_REG_REFRESHING);
	ok200(w, r, 600);
	note(w, "a challenge never answered: reg-await-auth drops the temporary set");
	over(w, r->est, 5078, 0);
	challenge(w, r);
	advance(w, 240);
	assert_null(r->temp);
	assert_int_equal(r->state, PCSCF_REG_REGISTERED);
	note(w, "a re-authentication that fails (403): the established set stays");
	over(w, r->est, 5080, 0);
	challenge(w, r);
	over(w, r->temp, 0, 0);
	assert_int_equal(pcscf_reg_failure(&w->rs, r, 403), 0);
	assert_null(r->temp);
	assert_int_equal(r->state, PCSCF_REG_REGISTERED);
	world_check(w, "reauthentication");
}

static void test_expiry(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *r = register_flow(w, "alice@ims.test", "198.18.1.2", 5062, 5064);
	uint64_t id = r->id;

	note(w, "no refresh: the established set expires at expiry + 30 s");
	advance(w, 629);
	assert_int_equal(r->state, PCSCF_REG_REGISTERED);
	advance(w, 1);
	assert_int_equal(r->state, PCSCF_REG_ENDING);
	advance(w, 2);
	assert_null(pcscf_reg_by_id(&w->rs, id));

	note(w, "a challenge never answered");
	r = initial(w, "bob@ims.test", "198.18.1.3", 6000, 6001, 0);
	id = r->id;
	challenge(w, r);
	advance(w, 240);
	assert_null(pcscf_reg_by_id(&w->rs, id));
	note(w, "an initial REGISTER never answered");
	r = initial(w, "carol@ims.test", "198.18.1.4", 6000, 6001, 0);
	id = r->id;
	advance(w, 240);
	assert_null(pcscf_reg_by_id(&w->rs, id));
	assert_int_equal(w->rs.n_flows, 0);
	assert_int_equal(ipsec_alloc_spi_count(&w->rs.alloc), 0);
	assert_int_equal(ipsec_alloc_port_count(&w->rs.alloc), 0);
	world_check(w, "expiry");
}

static void test_failures_and_refusals(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *r;
	struct pcscf_sa *sa;
	struct ipsec_mech m;
	uint64_t id;

	note(w, "the protected REGISTER is refused by the S-CSCF (403)");
	r = initial(w, "alice@ims.test", "198.18.1.2", 5062, 5064, 0);
	id = r->id;
	sa = challenge(w, r);
	over(w, sa, 0, 0);
	assert_int_equal(pcscf_reg_failure(&w->rs, r, 403), 0);
	assert_null(pcscf_reg_by_id(&w->rs, id));

	note(w, "a second challenge replaces the temporary set (resync)");
	r = initial(w, "alice@ims.test", "198.18.1.2", 5062, 5064, 0);
	sa = challenge(w, r);
	over(w, sa, 0, 0);
	challenge(w, r);
	assert_int_equal(r->state, PCSCF_REG_CHALLENGED);
	note(w, "a new initial REGISTER restarts the authentication");
	assert_ptr_equal(initial(w, "alice@ims.test", "198.18.1.2", 5062, 5064, 0), r);
	assert_null(r->temp);
	assert_int_equal(r->state, PCSCF_REG_UNAUTH);

	note(w, "events out of place are refused and change nothing");
	assert_int_equal(pcscf_reg_success(&w->rs, r, true, 600, STR_NULL), -EPROTO);
	assert_int_equal(pcscf_reg_end(&w->rs, r, PCSCF_REG_EV_NOTIFY_TERMINATED), -EPROTO);
	assert_int_equal(r->state, PCSCF_REG_UNAUTH);
	sa = challenge(w, r);
	assert_int_equal(pcscf_reg_success(&w->rs, r, true, 600, STR_NULL), -EPROTO);
	over(w, sa, 0, 0);
	ok200(w, r, 600);
	assert_int_equal(pcscf_reg_challenge(&w->rs, r, ik, ck, &m), -EPROTO);
	assert_int_equal(pcscf_reg_failure(&w->rs, r, 500), -EPROTO);
	assert_int_equal(r->state, PCSCF_REG_REGISTERED);

	note(w, "installing fails: the flow fails as if answered 500");
	r = initial(w, "bob@ims.test", "198.18.1.3", 5062, 5064, 0);
	id = r->id;
	w->fail_install = true;
	assert_int_equal(pcscf_reg_challenge(&w->rs, r, ik, ck, &m), -EEXIST);
	w->fail_install = false;
	assert_null(pcscf_reg_by_id(&w->rs, id));

	note(w, "no acceptable mechanism, a bad IMPI, too many flows");
	{
		struct ipsec_addr a, local;
		struct ipsec_offer o = offer(9000, 9000, 9001);
		struct pcscf_reg *x;

		o.m[0].alg = ESP_AUTH_HMAC_MD5_96;
		o.m[0].ealg = ESP_ENC_AES_CBC;
		w->rs.policy.prefs.n = 1; /* sha1/aes-cbc only */
		ipsec_addr_parse("198.18.1.9", &a);
		ipsec_addr_parse("198.18.0.1", &local);
		assert_int_equal(pcscf_reg_initial(&w->rs, STR_LIT("x@ims.test"), &a, &local, &o,
						   STR_NULL, STR_NULL, STR_NULL, STR_NULL, &x),
				 -ENOENT);
		ipsec_prefs_default(&w->rs.policy.prefs);
		assert_int_equal(pcscf_reg_initial(&w->rs, STR_LIT(""), &a, &local, &o, STR_NULL,
						   STR_NULL, STR_NULL, STR_NULL, &x),
				 -EINVAL);
	}
	initial(w, "c@ims.test", "198.18.1.5", 5062, 5064, 0);
	initial(w, "d@ims.test", "198.18.1.6", 5062, 5064, 0);
	initial(w, "e@ims.test", "198.18.1.7", 5062, 5064, 0);
	initial(w, "f@ims.test", "198.18.1.8", 5062, 5064, -ENOSPC);
	assert_int_equal(w->rs.n_flows, 4);
	assert_int_equal(w->rs.stats.refused, 5);
	world_check(w, "failures");
}

/*
 * pcscf.flows_per_address: protected ports are unique per UE address only,
 * so one address holds at most this many flows; the next initial REGISTER
 * from it is refused (503 in sip.c) until one of them is gone.
 */
static void test_flows_per_address(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *a, *b;

	w->rs.policy.flows_per_address = 2;
	a = initial(w, "a@ims.test", "198.18.1.2", 5062, 5064, 0);
	b = initial(w, "b@ims.test", "198.18.1.2", 5066, 5068, 0);
	initial(w, "c@ims.test", "198.18.1.2", 5070, 5072, -ENOSPC);
	initial(w, "c@ims.test", "2001:db8::2", 5070, 5072, 0);
	initial(w, "c@ims.test", "198.18.1.3", 5070, 5072, 0);
	assert_int_equal(w->rs.n_flows, 4);
	/* The same flow's REGISTER again is no new flow. */
	initial(w, "a@ims.test", "198.18.1.2", 5062, 5064, 0);
	assert_int_equal(w->rs.n_flows, 4);
	assert_int_equal(pcscf_reg_end(&w->rs, a, PCSCF_REG_EV_CTL_REMOVE), 0);
	assert_int_equal(w->rs.n_flows, 3);
	b = initial(w, "c@ims.test", "198.18.1.2", 5070, 5072, 0);
	assert_non_null(b);
	assert_int_equal(w->rs.n_flows, 4);
	world_free(w);
}

static void test_end_causes(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *a = register_flow(w, "alice@ims.test", "198.18.1.2", 5062, 5064);
	struct pcscf_reg *b = register_flow(w, "bob@ims.test", "198.18.1.3", 5062, 5064);
	struct pcscf_reg *c;
	uint64_t ida = a->id, idb = b->id, idc;

	note(w, "reg-event NOTIFY terminates flow %" PRIu64, ida);
	assert_int_equal(pcscf_reg_end(&w->rs, a, PCSCF_REG_EV_NOTIFY_TERMINATED), 0);
	note(w, "ctl removes flow %" PRIu64, idb);
	assert_int_equal(pcscf_reg_end(&w->rs, b, PCSCF_REG_EV_CTL_REMOVE), 0);
	assert_int_equal(a->state, PCSCF_REG_ENDING);
	/* Nothing but the linger (or ctl) moves an ending flow. */
	assert_int_equal(pcscf_reg_end(&w->rs, a, PCSCF_REG_EV_NOTIFY_TERMINATED), -EPROTO);
	over(w, a->est, 5070, -EPROTO);
	advance(w, 2);
	assert_null(pcscf_reg_by_id(&w->rs, ida));
	assert_null(pcscf_reg_by_id(&w->rs, idb));
	note(w, "ctl on an ending flow removes it at once");
	c = register_flow(w, "carol@ims.test", "198.18.1.4", 5062, 5064);
	idc = c->id;
	pcscf_reg_end(&w->rs, c, PCSCF_REG_EV_CTL_REMOVE);
	pcscf_reg_end(&w->rs, c, PCSCF_REG_EV_CTL_REMOVE);
	assert_null(pcscf_reg_by_id(&w->rs, idc));
	assert_int_equal(ipsec_alloc_spi_count(&w->rs.alloc), 0);
	world_check(w, "end_causes");
}

/* Two registrations of one IMPI from two addresses, in each binding mode. */
static void two_accesses(enum pcscf_binding binding, const char *name)
{
	struct world *w = world_new(binding);
	struct pcscf_reg *wlan, *umts;
	uint64_t id_wlan;

	note(w, "binding %s: the same IMPI registers from two addresses",
	     binding == PCSCF_BIND_IMPI ? "impi" : "registration");
	wlan = register_flow(w, "alice@ims.test", "198.18.1.2", 5062, 5064);
	id_wlan = wlan->id;
	umts = register_flow(w, "alice@ims.test", "198.18.2.2", 5062, 5064);
	assert_int_not_equal(umts->id, id_wlan);
	if (binding == PCSCF_BIND_REGISTRATION) {
		assert_ptr_equal(pcscf_reg_by_id(&w->rs, id_wlan), wlan);
		assert_int_equal(wlan->state, PCSCF_REG_REGISTERED);
		note(w, "re-authenticating one leaves the other alone");
		over(w, umts->est, 5070, 0);
		challenge(w, umts);
		over(w, umts->temp, 0, 0);
		ok200(w, umts, 600);
		assert_non_null(wlan->est);
		assert_non_null(umts->old);
	} else {
		assert_null(pcscf_reg_by_id(&w->rs, id_wlan));
		note(w, "re-authentication deletes the flow's own old set at once");
		over(w, umts->est, 5070, 0);
		challenge(w, umts);
		over(w, umts->temp, 0, 0);
		ok200(w, umts, 600);
		assert_null(umts->old);
	}
	note(w, "a third flow from the first address with other ports");
	register_flow(w, "alice@ims.test", "198.18.1.2", 5080, 5082);
	assert_int_equal(w->rs.n_flows, binding == PCSCF_BIND_IMPI ? 1 : 3);
	world_check(w, name);
}

static void test_two_accesses_registration(void **state)
{
	two_accesses(PCSCF_BIND_REGISTRATION, "two_accesses_registration");
}

static void test_two_accesses_impi(void **state)
{
	two_accesses(PCSCF_BIND_IMPI, "two_accesses_impi");
}

static void test_impus(void **state)
{
	struct world *w = world_new(PCSCF_BIND_REGISTRATION);
	struct pcscf_reg *r = register_flow(w, "alice@ims.test", "198.18.1.2", 5062, 5064);

	assert_true(str_eq_cstr(pcscf_reg_default_impu(r), "sip:alice@ims.test"));
	assert_true(pcscf_reg_has_impu(r, STR_LIT("tel:+15550101")));
	assert_true(pcscf_reg_has_impu(r, STR_LIT("sip:alice@ims.test")));
	assert_false(pcscf_reg_has_impu(r, STR_LIT("sip:mallory@ims.test")));
	assert_false(pcscf_reg_has_impu(r, STR_LIT("tel:+1555010")));
	assert_true(pcscf_reg_usable(r));
	world_check(w, "impus");
}

/* docs/pcscf.md holds the tables as the code has them. */
static void test_tables_doc(void **state)
{
	char path[1024], *doc, *start, *end;
	struct buf b;

	buf_init(&b);
	pcscf_fsm_markdown(&b);
	snprintf(path, sizeof(path), "%s/docs/pcscf.md", SOURCE_DIR);
	doc = golden_slurp(path);
	assert_non_null(doc);
	start = strstr(doc, "<!-- BEGIN fsm -->\n");
	end = strstr(doc, "<!-- END fsm -->");
	assert_non_null(start);
	assert_non_null(end);
	start += strlen("<!-- BEGIN fsm -->\n");
	if (getenv("SIMREG_REGENERATE") && *getenv("SIMREG_REGENERATE") == '1') {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fwrite(doc, 1, (size_t)(start - doc), f);
		fwrite(b.p, 1, b.len, f);
		fputs(end, f);
		fclose(f);
		free(doc);
		doc = golden_slurp(path);
		start = strstr(doc, "<!-- BEGIN fsm -->\n") + strlen("<!-- BEGIN fsm -->\n");
		end = strstr(doc, "<!-- END fsm -->");
	}
	if (!((size_t)(end - start) == b.len && memcmp(start, b.p, b.len) == 0)) {
		printf("docs/pcscf.md is out of date; the tables are:\n%s", b.p);
		fail();
	}
	free(doc);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_refresh_dereg),
		cmocka_unit_test(test_reauthentication),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_failures_and_refusals),
		cmocka_unit_test(test_flows_per_address),
		cmocka_unit_test(test_end_causes),
		cmocka_unit_test(test_two_accesses_registration),
		cmocka_unit_test(test_two_accesses_impi),
		cmocka_unit_test(test_impus),
		cmocka_unit_test(test_tables_doc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
