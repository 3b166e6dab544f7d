/*
 * bench_ue: what one complete registration costs the UE, against the
 * cost of the Milenage run at its heart, done by libosmocore in the same
 * process and run.
 *
 * One cycle is everything `simreg ue` does for an access between two
 * network events, minus the sockets: the initial REGISTER with its
 * Security-Client offer, the 401 parsed and judged (Security-Server
 * choice, the USIM's AUTN check, the SQN state file written and fsync'd),
 * the temporary SA set (ESP keys, the four SAs), the protected REGISTER
 * with its Digest response, the 200 read and the set promoted, the
 * reg-event SUBSCRIBE and its 200, the deregistration and its 200. The
 * 401s carry consecutive vectors of one subscriber, made before timing.
 *
 * The peer, libosmocore's osmo_auth_gen_vec(), computes the same
 * functions of Milenage for one vector: the work no USIM can skip. The
 * ratio says how many such runs one whole registration at the UE is
 * worth. The SQN state file lives in /dev/shm so that the figure is the
 * UE's, not the disk's (docs/performance.md).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <osmocom/crypt/auth.h>

#include "aka/digest.h"
#include "aka/vector.h"
#include "core/config.h"
#include "core/hex.h"
#include "core/log.h"
#include "sip/msg.h"
#include "sip/print.h"
#include "ue/context.h"

static const char K_HEX[] = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char OPC_HEX[] = "cd63cb71954a9f4e48a5994e37a02baf";
static const uint8_t AMF[2] = { 0x80, 0x00 };

static const char yaml[] = "ue:\n"
			   "  impi: alice@ims.test\n"
			   "  impus: [ \"sip:alice@ims.test\" ]\n"
			   "  register_at_start: false\n"
			   "  accesses: [ \"wlan local=198.18.1.2 pcscf=198.18.1.1:5060\" ]\n";

struct env {
	uint64_t ref;
	uint32_t set;
	uint32_t next_set;
	uint32_t entropy;
	char last[2048]; /* the last request, with a Via added */
	size_t last_len;
};

static volatile uint8_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int env_send(void *ctx, struct ue_access *a, const struct ue_sa *sa, struct str msg,
		    uint64_t ref)
{
	static const char via[] = "Via: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bKbench;rport\r\n";
	struct env *e = ctx;
	const char *eol = memchr(msg.s, '\n', msg.len);
	size_t head = (size_t)(eol - msg.s) + 1;

	if (msg.len + sizeof(via) > sizeof(e->last))
		return -EMSGSIZE;
	memcpy(e->last, msg.s, head);
	memcpy(e->last + head, via, sizeof(via) - 1);
	memcpy(e->last + head + sizeof(via) - 1, msg.s + head, msg.len - head);
	e->last_len = msg.len + sizeof(via) - 1;
	e->ref = ref;
	e->set = sa ? sa->set.id : 0;
	return 0;
}

static int env_install(void *ctx, struct ue_access *a, struct ue_sa *sa)
{
	struct env *e = ctx;

	sa->set.id = ++e->next_set;
	return 0;
}

static void env_remove(void *ctx, struct ue_access *a, struct ue_sa *sa)
{
}

static int env_keepalive(void *ctx, struct ue_access *a, const struct ue_sa *sa)
{
	return 1;
}

static int env_link(void *ctx, struct ue_access *a, bool up)
{
	return 0;
}

static const struct ue_env_ops ops = {
	.send = env_send,
	.sa_install = env_install,
	.sa_remove = env_remove,
	.keepalive = env_keepalive,
	.link = env_link,
};

static void fill(void *ctx, uint8_t *out, size_t n)
{
	struct env *e = ctx;

	for (size_t i = 0; i < n; i++) {
		uint32_t x = e->entropy;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		e->entropy = x;
		out[i] = (uint8_t)x;
	}
}

static uint32_t rand_counter;

static int rand_fill(void *ctx, uint8_t *buf, size_t len)
{
	memset(buf, 0x3c, len);
	memcpy(buf, &rand_counter, sizeof(rand_counter));
	rand_counter++;
	return 0;
}

/* Answer the UE's last request with `code` and extra header lines. */
static int answer(struct env *e, struct ue *ue, unsigned code, const char *extra)
{
	struct sip_msg rq, rs;
	struct buf b;
	int rc = -EBADMSG;

	sip_msg_init(&rq);
	if (sip_parse(&rq, e->last, e->last_len, SIP_FRAME_DATAGRAM, NULL, NULL) < 0)
		return rc;
	buf_init(&b);
	sip_print_response_start(&b, &rq, code, STR_NULL, STR_LIT("b1"));
	buf_puts(&b, extra);
	sip_print_body(&b, STR_NULL, STR_NULL);
	sip_msg_init(&rs);
	if (!buf_error(&b) && sip_parse(&rs, b.p, b.len, SIP_FRAME_DATAGRAM, NULL, NULL) > 0) {
		ue_on_response(ue, e->ref, &rs, e->set);
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

static int run_ue(size_t n, double *secs)
{
	static const struct config_section *const sections[] = { &ue_config_section };
	struct ipsec_alloc_config alloc = IPSEC_ALLOC_CONFIG_DEFAULT;
	struct env e = { .entropy = 0x2545f491 };
	struct ue_seam seam = { fill, &e };
	struct aka_rand_source rs = { rand_fill, NULL };
	struct loop_manual_clock clock;
	struct ue_access_config acc;
	struct milenage hss;
	struct config cfg;
	struct loop *loop;
	struct ue *ue;
	char path[] = "/dev/shm/bench-ue-sqn-XXXXXX", why[256], (*challenges)[512];
	uint8_t k[16], opc[16];
	uint64_t sqn = 0;
	double t0;
	int fd, rc = -EIO;

	challenges = calloc(n, sizeof(*challenges));
	if (!challenges)
		return -ENOMEM;
	hex_decode(str_from_cstr(K_HEX), k, 16);
	hex_decode(str_from_cstr(OPC_HEX), opc, 16);
	milenage_init(&hss, k, opc, MILENAGE_OPC);
	for (size_t i = 0; i < n; i++) {
		struct aka_vector v;
		char nonce[AKAV1_NONCE_MAX + 1];

		if (aka_vectors_generate(&hss, AMF, 5, &sqn, &rs, &v, 1) ||
		    akav1_nonce_encode(v.rand, v.autn, NULL, 0, nonce, sizeof(nonce)) < 0)
			goto out_free;
		snprintf(challenges[i], sizeof(challenges[i]),
			 "WWW-Authenticate: Digest realm=\"ims.test\", nonce=\"%s\", "
			 "algorithm=AKAv1-MD5, qop=\"auth\"\r\n"
			 "Security-Server: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;"
			 "spi-c=70001;spi-s=70002;port-c=6100;port-s=6101\r\n"
			 "Require: sec-agree\r\n",
			 nonce);
	}
	if (config_load_buffer(&cfg, sections, 1, "bench", yaml, sizeof(yaml) - 1, NULL))
		goto out_free;
	fd = mkstemp(path);
	if (fd < 0)
		goto out_cfg;
	close(fd);
	unlink(path);
	ue_access_config_parse(((const struct ue_config *)config_get(&cfg, &ue_config_section))
				       ->accesses.v[0],
			       &acc, why, sizeof(why));
	loop_manual_clock_init(&clock, 0);
	loop_create(&loop, &clock.clock);
	if (ue_create(&ue, config_get(&cfg, &ue_config_section), &acc, 1, &alloc, loop, &ops, &e,
		      &seam, NULL, path, why, sizeof(why))) {
		fprintf(stderr, "ue_create: %s\n", why);
		goto out_loop;
	}
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct ue_access *a = &ue->acc[0];

		ue_reg_event(ue, a, UE_REG_EV_REGISTER, NULL);
		answer(&e, ue, 401, challenges[i]);
		answer(&e, ue, 200,
		       "Service-Route: <sip:orig@198.18.0.10:6060;lr>\r\n"
		       "P-Associated-URI: <sip:alice@ims.test>\r\n");
		answer(&e, ue, 200, "Expires: 600000\r\n"); /* the SUBSCRIBE */
		ue_reg_event(ue, a, UE_REG_EV_DEREGISTER, NULL);
		answer(&e, ue, 200, "");
		if (a->reg.state != UE_REG_IDLE) {
			fprintf(stderr, "cycle %zu ended in %s\n", i, ue_reg_state_name(a->reg.state));
			goto out_ue;
		}
		sink ^= (uint8_t)a->reg.cseq;
	}
	*secs = now() - t0;
	rc = 0;
out_ue:
	ue_destroy(ue);
out_loop:
	loop_destroy(loop);
	unlink(path);
out_cfg:
	config_free(&cfg);
out_free:
	milenage_free(&hss);
	free(challenges);
	return rc;
}

static int run_osmo(size_t n, double *secs)
{
	struct osmo_sub_auth_data aud;
	struct osmo_auth_vector vec;
	uint8_t rand[16] = { 0x3c };
	double t0;

	memset(&aud, 0, sizeof(aud));
	aud.type = OSMO_AUTH_TYPE_UMTS;
	aud.algo = OSMO_AUTH_ALG_MILENAGE;
	hex_decode(str_from_cstr(K_HEX), aud.u.umts.k, 16);
	hex_decode(str_from_cstr(OPC_HEX), aud.u.umts.opc, 16);
	memcpy(aud.u.umts.amf, AMF, 2);
	aud.u.umts.ind_bitlen = 5;
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		rand[15] = (uint8_t)i;
		if (osmo_auth_gen_vec(&vec, &aud, rand) < 0)
			return -EIO;
		sink ^= vec.autn[15];
	}
	*secs = now() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 5000;
	int rounds = 5;
	double best_u = 1e9, best_o = 1e9;
	cpu_set_t set;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--cycles") == 0)
			n = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
	}
	if (n == 0 || rounds <= 0) {
		fprintf(stderr, "usage: bench_ue [--cycles N] [--rounds R]\n");
		return 2;
	}
	slog_init("bench", SLOG_TARGET_STDERR, SLOG_ERROR);
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (int r = 0; r < rounds; r++) {
		double su, so;

		if (run_ue(n, &su) || run_osmo(n, &so)) {
			fprintf(stderr, "bench_ue: a run failed\n");
			return 1;
		}
		if (su < best_u)
			best_u = su;
		if (so < best_o)
			best_o = so;
	}
	printf("simreg ue registration cycles: %10.0f /s (%.1f us each)\n", (double)n / best_u,
	       best_u / (double)n * 1e6);
	printf("libosmocore osmo_auth_gen_vec: %10.0f /s (%.1f us each)\n", (double)n / best_o,
	       best_o / (double)n * 1e6);
	printf("ratio one UE registration / one Milenage vector: %.1fx\n", best_u / best_o);
	return 0;
}
