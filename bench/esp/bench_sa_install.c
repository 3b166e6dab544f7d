/*
 * bench_sa_install - SA-set installs and removals per second, xfrm backend.
 *
 *   bench_sa_install [SETS]
 *
 * Needs a kernel with ESP (run it in the test VM: bench/esp/run-vm.sh).
 * Works in a network namespace of its own (unshare), so the host's SAs are
 * never touched. Installs SETS P-CSCF sets (four SAs and four policies
 * each, every request ACKed) through lib/ipsec, removes them, then has the
 * peer do the same: iproute2's `ip -batch` with the equivalent
 * `ip xfrm state/policy add|delete` lines, which also sends one ACKed
 * netlink request per line. Prints sets/s of each and the ratio.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hex.h"
#include "core/log.h"
#include "ipsec/backend.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void params(unsigned i, struct ipsec_set_params *p)
{
	static const uint8_t ik[16] = { 0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
					0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41 };
	static const uint8_t ck[16] = { 0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
					0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb };
	char ue[32];

	memset(p, 0, sizeof(*p));
	/* One UE address per set, 198.18.0.0/15. */
	snprintf(ue, sizeof(ue), "198.18.%u.%u", 100 + i / 250, 1 + i % 250);
	ipsec_addr_parse(ue, &p->ue);
	ipsec_addr_parse("198.19.0.1", &p->pcscf);
	p->client = (struct ipsec_sec_params){ 0x10000 + 4 * i, 0x10001 + 4 * i, 31001, 31002 };
	p->server = (struct ipsec_sec_params){ 0x10002 + 4 * i, 0x10003 + 4 * i, 5101, 5102 };
	esp_keys_derive(ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC, ik, ck, &p->keys);
}

/* The same SAs and policies as iproute2 commands. */
static void batch_lines(FILE *add, FILE *del, const struct ipsec_sa_set *set, uint32_t reqid)
{
	char ik[41], ck[33], s[IPSEC_ADDR_STRLEN], d[IPSEC_ADDR_STRLEN];

	hex_encode(set->p.keys.ik_esp, set->p.keys.ik_len, ik);
	hex_encode(set->p.keys.ck_esp, set->p.keys.ck_len, ck);
	for (unsigned n = 0; n < IPSEC_SET_SAS; n++) {
		const struct ipsec_sa *sa = &set->sa[n];

		ipsec_addr_str(&sa->src, s);
		ipsec_addr_str(&sa->dst, d);
		fprintf(add,
			"xfrm state add src %s dst %s proto esp spi 0x%08x reqid %u mode transport "
			"replay-window 64 auth-trunc hmac(sha1) 0x%s 96 enc cbc(aes) 0x%s "
			"sel src %s dst %s sport %u dport %u\n",
			s, d, sa->spi, reqid + n, ik, ck, s, d, sa->sport, sa->dport);
		fprintf(del, "xfrm state delete src %s dst %s proto esp spi 0x%08x\n", s, d, sa->spi);
	}
	for (unsigned n = 0; n < IPSEC_SET_SAS; n++) {
		const struct ipsec_sa *sa = &set->sa[n];
		const char *dir = sa->dir == IPSEC_DIR_OUT ? "out" : "in";

		ipsec_addr_str(&sa->src, s);
		ipsec_addr_str(&sa->dst, d);
		fprintf(add,
			"xfrm policy add src %s dst %s sport %u dport %u dir %s "
			"tmpl proto esp mode transport reqid %u\n",
			s, d, sa->sport, sa->dport, dir, reqid + n);
		fprintf(del, "xfrm policy delete src %s dst %s sport %u dport %u dir %s\n", s, d,
			sa->sport, sa->dport, dir);
	}
}

int main(int argc, char **argv)
{
	unsigned sets = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
	struct ipsec_config cfg = { .backend = IPSEC_BACKEND_XFRM };
	struct ipsec_backend *b;
	struct ipsec_sa_set *all;
	double t0, t_add, t_del, t_ip_add, t_ip_del;
	FILE *add, *del;
	int ret;

	if (unshare(CLONE_NEWNET) != 0) {
		perror("bench_sa_install: unshare(CLONE_NEWNET)");
		return 1;
	}
	slog_set_level(SLOG_WARN);
	all = calloc(sets, sizeof(*all));
	ret = ipsec_backend_open(&cfg, &b, NULL);
	if (ret || !all) {
		fprintf(stderr, "bench_sa_install: xfrm backend: %s\n", strerror(-ret));
		return 1;
	}
	for (unsigned i = 0; i < sets; i++) {
		struct ipsec_set_params p;

		params(i, &p);
		ipsec_sa_set_build(&all[i], IPSEC_SIDE_PCSCF, &p);
	}
	t0 = now();
	for (unsigned i = 0; i < sets; i++) {
		ret = ipsec_backend_install(b, &all[i]);
		if (ret) {
			fprintf(stderr, "bench_sa_install: install %u: %s\n", i, strerror(-ret));
			return 1;
		}
	}
	t_add = now() - t0;
	t0 = now();
	for (unsigned i = 0; i < sets; i++)
		ipsec_backend_remove(b, all[i].id);
	t_del = now() - t0;
	ipsec_backend_close(b);

	add = fopen("/tmp/bench_sa_add.batch", "w");
	del = fopen("/tmp/bench_sa_del.batch", "w");
	if (!add || !del)
		return 1;
	for (unsigned i = 0; i < sets; i++)
		batch_lines(add, del, &all[i], ((uint32_t)IPSEC_REQID_DEFAULT_TAG << 24) + 8 * (i + 1));
	fclose(add);
	fclose(del);
	t0 = now();
	if (system("ip -batch /tmp/bench_sa_add.batch") != 0)
		return 1;
	t_ip_add = now() - t0;
	t0 = now();
	if (system("ip -batch /tmp/bench_sa_del.batch") != 0)
		return 1;
	t_ip_del = now() - t0;

	printf("SA sets (4 SAs + 4 policies each, ACKed), %u sets\n", sets);
	printf("%-26s %12s %12s\n", "", "installs/s", "removals/s");
	printf("%-26s %12.0f %12.0f\n", "simreg xfrm backend", sets / t_add, sets / t_del);
	printf("%-26s %12.0f %12.0f\n", "peer: ip -batch", sets / t_ip_add, sets / t_ip_del);
	printf("%-26s %12.2f %12.2f\n", "ratio simreg/peer", t_ip_add / t_add, t_ip_del / t_del);
	free(all);
	return 0;
}
