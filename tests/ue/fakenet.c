/*
 * fakenet.c - the scripted network of the UE's unit tests (fakenet.h).
 */
#include "fakenet.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aka/digest.h"
#include "core/hex.h"
#include "core/log.h"
#include "sip/print.h"
#include "ue/evlog.h"

#ifndef UE_GOLDEN_DIR
#error "UE_GOLDEN_DIR must name tests/ue/golden"
#endif

static const char K_HEX[] = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char OPC_HEX[] = "cd63cb71954a9f4e48a5994e37a02baf";
static const uint8_t AMF[2] = { 0x80, 0x00 };

/* Print with CRLF shown as LF: the golden files are read by people. */
static void put_text(struct fakenet *fn, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		fputc(s[i], fn->out);
	}
	if (len && s[len - 1] != '\n')
		fputc('\n', fn->out);
}

void fn_note(struct fakenet *fn, const char *fmt, ...)
{
	va_list ap;

	fputs("== ", fn->out);
	va_start(ap, fmt);
	vfprintf(fn->out, fmt, ap);
	va_end(ap);
	fputc('\n', fn->out);
}

/* ---- the environment -------------------------------------------------------- */

static int env_send(void *ctx, struct ue_access *a, const struct ue_sa *sa, struct str msg,
		    uint64_t ref)
{
	struct fakenet *fn = ctx;
	struct fn_sent *s;
	char via[160], host[SIP_SOCKADDR_STRLEN];
	const char *eol = memchr(msg.s, '\n', msg.len);
	size_t head, vlen;

	assert_non_null(eol);
	assert_true(fn->nsent < FN_MAX_SENT);
	s = &fn->sent[fn->nsent++];
	sip_sockaddr_host(&a->cfg.local, true, host, sizeof(host));
	/* What the stack would add: our sent-by, a branch, rport. */
	vlen = (size_t)snprintf(via, sizeof(via),
				"Via: SIP/2.0/UDP %s:%u;branch=z9hG4bKfake%u;rport\r\n", host,
				sa ? sa->set.p.client.port_c : sip_sockaddr_port(&a->cfg.local),
				fn->nsent);
	head = (size_t)(eol - msg.s) + 1;
	s->access = a->n;
	s->sa_set = sa ? sa->set.id : 0;
	s->ref = ref;
	s->len = msg.len + vlen;
	s->msg = malloc(s->len + 1);
	assert_non_null(s->msg);
	memcpy(s->msg, msg.s, head);
	memcpy(s->msg + head, via, vlen);
	memcpy(s->msg + head + vlen, msg.s + head, msg.len - head);
	s->msg[s->len] = '\0';
	fprintf(fn->out, "--> %s %s\n", a->cfg.name, sa ? "protected" : "unprotected");
	put_text(fn, s->msg, s->len);
	return 0;
}

static int env_sa_install(void *ctx, struct ue_access *a, struct ue_sa *sa)
{
	struct fakenet *fn = ctx;

	sa->set.id = ++fn->next_set;
	fprintf(fn->out, "[net] %s: install set %u\n", a->cfg.name, sa->set.id);
	return 0;
}

static void env_sa_remove(void *ctx, struct ue_access *a, struct ue_sa *sa)
{
	struct fakenet *fn = ctx;

	fprintf(fn->out, "[net] %s: remove set %u\n", a->cfg.name, sa->set.id);
}

static int env_keepalive(void *ctx, struct ue_access *a, const struct ue_sa *sa)
{
	struct fakenet *fn = ctx;

	fn->keepalives++;
	fprintf(fn->out, "[net] %s: keepalive over set %u\n", a->cfg.name, sa->set.id);
	return 0;
}

static int env_link(void *ctx, struct ue_access *a, bool up)
{
	struct fakenet *fn = ctx;

	fprintf(fn->out, "[net] %s: link %s\n", a->cfg.name, up ? "up" : "down");
	return 0;
}

static const struct ue_env_ops env = {
	.send = env_send,
	.sa_install = env_sa_install,
	.sa_remove = env_sa_remove,
	.keepalive = env_keepalive,
	.link = env_link,
};

/* xorshift32: deterministic, and spread enough for the SPI allocator. */
static void fill(void *ctx, uint8_t *out, size_t n)
{
	struct fakenet *fn = ctx;

	for (size_t i = 0; i < n; i++) {
		uint32_t x = fn->entropy;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fn->entropy = x;
		out[i] = (uint8_t)x;
	}
}

static int rand_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct fakenet *fn = ctx;

	memset(buf, 0x3c, len);
	buf[len - 2] = (uint8_t)(fn->rand_counter >> 8);
	buf[len - 1] = (uint8_t)fn->rand_counter;
	fn->rand_counter++;
	return 0;
}

/* ---- set-up --------------------------------------------------------------- */

void fn_setup(struct fakenet *fn, const char *yaml)
{
	static const struct config_section *const sections[] = { &ue_config_section };
	struct ue_access_config accs[UE_MAX_ACCESSES];
	struct ipsec_alloc_config alloc = IPSEC_ALLOC_CONFIG_DEFAULT;
	struct config_errors err = { 0 };
	const struct ue_config *c;
	struct ue_seam seam;
	uint8_t k[16], opc[16];
	char why[256];
	int fd;

	memset(fn, 0, sizeof(*fn));
	slog_init("test", SLOG_TARGET_STDERR, SLOG_WARN);
	fn->out = open_memstream(&fn->text, &fn->textlen);
	assert_non_null(fn->out);
	fn->entropy = 0x2545f491;
	fn->rand_counter = 1;
	loop_manual_clock_init(&fn->clock, 0);
	assert_int_equal(loop_create(&fn->loop, &fn->clock.clock), 0);
	if (config_load_buffer(&fn->cfg, sections, 1, "test.yaml", yaml, strlen(yaml), &err)) {
		fprintf(stderr, "%s", err.text);
		fail();
	}
	c = config_get(&fn->cfg, &ue_config_section);
	for (size_t i = 0; i < c->accesses.n; i++)
		assert_int_equal(ue_access_config_parse(c->accesses.v[i], &accs[i], why,
							sizeof(why)),
				 0);
	snprintf(fn->sqn_path, sizeof(fn->sqn_path), "/tmp/ue-test-sqn-XXXXXX");
	fd = mkstemp(fn->sqn_path);
	assert_true(fd >= 0);
	close(fd);
	unlink(fn->sqn_path); /* a new card: no state yet */
	seam.fill = fill;
	seam.ctx = fn;
	if (ue_create(&fn->ue, c, accs, c->accesses.n, &alloc, fn->loop, &env, fn, &seam,
		      fn->out, fn->sqn_path, why, sizeof(why))) {
		fprintf(stderr, "ue_create: %s\n", why);
		fail();
	}
	assert_int_equal(hex_decode(str_from_cstr(K_HEX), k, 16), 0);
	assert_int_equal(hex_decode(str_from_cstr(OPC_HEX), opc, 16), 0);
	assert_int_equal(milenage_init(&fn->hss, k, opc, MILENAGE_OPC), 0);
	fn->rs.fill = rand_fill;
	fn->rs.ctx = fn;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

void fn_finish(struct fakenet *fn, const char *name)
{
	char path[512];
	char *golden;
	size_t glen = 0;

	ue_destroy(fn->ue);
	fflush(fn->out);
	snprintf(path, sizeof(path), "%s/%s.txt", UE_GOLDEN_DIR, name);
	if (getenv("SIMREG_REGENERATE")) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		fwrite(fn->text, 1, fn->textlen, f);
		fclose(f);
	}
	golden = read_file(path, &glen);
	if (!golden || glen != fn->textlen || memcmp(golden, fn->text, glen) != 0) {
		char actual[300];
		FILE *f;
		size_t i = 0, line = 1;

		snprintf(actual, sizeof(actual), "/tmp/ue-%s.actual.txt", name);
		f = fopen(actual, "wb");
		if (f) {
			fwrite(fn->text, 1, fn->textlen, f);
			fclose(f);
		}
		while (golden && i < glen && i < fn->textlen && golden[i] == fn->text[i])
			if (golden[i++] == '\n')
				line++;
		fprintf(stderr,
			"transcript differs from %s at line %zu; actual in %s "
			"(SIMREG_REGENERATE=1 rewrites)\n",
			path, line, actual);
		free(golden);
		fail();
	}
	free(golden);
	fclose(fn->out);
	free(fn->text);
	for (unsigned i = 0; i < fn->nsent; i++)
		free(fn->sent[i].msg);
	milenage_free(&fn->hss);
	config_free(&fn->cfg);
	loop_destroy(fn->loop);
	unlink(fn->sqn_path);
}

struct fn_sent *fn_last(struct fakenet *fn)
{
	assert_true(fn->nsent > 0);
	return &fn->sent[fn->nsent - 1];
}

struct fn_sent *fn_last_of(struct fakenet *fn, unsigned access)
{
	for (unsigned i = fn->nsent; i-- > 0;)
		if (fn->sent[i].access == access)
			return &fn->sent[i];
	fail_msg("access %u sent nothing", access);
	return NULL;
}

uint32_t fn_set_of(struct fakenet *fn, unsigned access)
{
	struct ue_access *a = &fn->ue->acc[access - 1];

	return a->sec.tmp.live ? a->sec.tmp.set.id : a->sec.est.set.id;
}

void fn_vector(struct fakenet *fn, struct aka_vector *v)
{
	assert_int_equal(aka_vectors_generate(&fn->hss, AMF, 5, &fn->sqn_he, &fn->rs, v, 1), 0);
}

void fn_advance(struct fakenet *fn, uint64_t ms)
{
	fprintf(fn->out, "[clock] +%llu ms\n", (unsigned long long)ms);
	loop_advance(fn->loop, ms);
}

/* ---- answers ------------------------------------------------------------------ */

static void parse(struct sip_msg *m, const char *buf, size_t len)
{
	struct sip_error err;

	sip_msg_init(m);
	if (sip_parse(m, buf, len, SIP_FRAME_DATAGRAM, NULL, &err) < 0)
		fail_msg("unparsable: %s\n%.*s", err.reason, (int)len, buf);
}

void fn_reply(struct fakenet *fn, struct fn_sent *req, unsigned code, uint32_t sa_set,
	      const char *extra)
{
	struct sip_msg rq, rs;
	struct buf b;

	parse(&rq, req->msg, req->len);
	buf_init(&b);
	sip_print_response_start(&b, &rq, code, STR_NULL, STR_LIT("scscf1"));
	if (extra)
		buf_puts(&b, extra);
	sip_print_body(&b, STR_NULL, STR_NULL);
	assert_int_equal(buf_error(&b), 0);
	fprintf(fn->out, "<-- %s over set %u\n", fn->ue->acc[req->access - 1].cfg.name, sa_set);
	put_text(fn, b.p, b.len);
	parse(&rs, b.p, b.len);
	ue_on_response(fn->ue, req->ref, &rs, sa_set);
	buf_free(&b);
}

void fn_challenge(struct fakenet *fn, struct fn_sent *req, const struct aka_vector *v,
		  const char *secserver, uint32_t sa_set)
{
	char nonce[AKAV1_NONCE_MAX + 1], extra[1024];
	struct aka_vector nv;

	if (!v) {
		fn_vector(fn, &nv);
		v = &nv;
	}
	fn->last_vec = *v;
	assert_true(akav1_nonce_encode(v->rand, v->autn, NULL, 0, nonce, sizeof(nonce)) > 0);
	snprintf(extra, sizeof(extra),
		 "WWW-Authenticate: Digest realm=\"ims.test\", nonce=\"%s\", "
		 "algorithm=AKAv1-MD5, qop=\"auth\"\r\n"
		 "%s%s%s",
		 nonce, secserver ? "Security-Server: " : "", secserver ? secserver : "",
		 secserver ? "\r\nRequire: sec-agree\r\n" : "");
	fn_reply(fn, req, 401, sa_set == FN_SAME ? req->sa_set : sa_set, extra);
}

void fn_ok(struct fakenet *fn, struct fn_sent *req, uint32_t sa_set, const char *extra)
{
	struct sip_msg rq;
	const struct sip_hdr *c;
	char hdrs[2048];
	int n;

	parse(&rq, req->msg, req->len);
	c = sip_msg_hdr(&rq, SIP_HDR_CONTACT);
	assert_non_null(c);
	n = snprintf(hdrs, sizeof(hdrs),
		     "Path: <sip:tok%u@198.18.1.1:5060;lr;ob>\r\n"
		     "Service-Route: <sip:orig-%u@198.18.0.10:6060;lr>\r\n"
		     "P-Associated-URI: <sip:alice@ims.test>, <tel:+15551230001>\r\n"
		     "Contact: %.*s%s\r\n%s%s",
		     req->access, req->access, STR_FMT(c->value),
		     strstr(c->value.s, ";expires=0") ? "" : ";expires=600000",
		     sip_msg_has_token(&rq, SIP_HDR_SUPPORTED, "outbound") ? "Require: outbound\r\n"
									   : "",
		     extra ? extra : "");
	assert_true(n > 0 && (size_t)n < sizeof(hdrs));
	fn_reply(fn, req, 200, sa_set, hdrs);
}

void fn_request(struct fakenet *fn, unsigned access, uint32_t sa_set, const char *msg)
{
	struct ue_reply rep;
	struct sip_msg m;
	size_t len = strlen(msg);

	fprintf(fn->out, "<<- %s over set %u\n", fn->ue->acc[access - 1].cfg.name, sa_set);
	put_text(fn, msg, len);
	parse(&m, msg, len);
	ue_on_request(fn->ue, &fn->ue->acc[access - 1], &m, sa_set, &rep);
	fprintf(fn->out, "->> answer %u%s%s%s%s\n", rep.code, rep.reason ? " " : "",
		rep.reason ? rep.reason : "", rep.contact ? " +contact" : "",
		rep.allow ? " +allow" : "");
	/* What the UE left for after its answer (zero-delay timers). */
	loop_advance(fn->loop, 0);
}

void fn_auth_param(struct fn_sent *req, const char *name, char *out, size_t cap)
{
	struct sip_msg m;
	struct sip_auth a;
	const struct sip_hdr *h;
	struct str rest;
	struct sip_param p;

	out[0] = '\0';
	parse(&m, req->msg, req->len);
	h = sip_msg_hdr(&m, SIP_HDR_AUTHORIZATION);
	if (!h || sip_auth_parse(h->value, false, &a, NULL) < 0)
		return;
	rest = a.params;
	while (sip_auth_param_next(&rest, &p) == 1) {
		if (str_caseeq_cstr(p.name, name)) {
			str_copy(out, cap, p.value.s ? p.value : STR_LIT(""));
			return;
		}
	}
}
