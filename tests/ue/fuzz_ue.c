/*
 * libFuzzer target for the UE's handling of what the network sends.
 *
 * Each input holds up to three messages separated by NUL bytes. A fresh
 * UE (one access, outbound) sends its initial REGISTER; the first message
 * is delivered as the answer to it, the second as the answer to whatever
 * the UE sent next (over the set it went over), the third as a request
 * arriving over the access's established set. Whatever they hold, the UE
 * must not crash, leak or misbehave under the sanitizers, and must keep
 * its own books: no SPI or port held beyond its offer and two SA sets.
 * The seeds are a real exchange (a 401 with a good challenge, the 200, a
 * reg-event NOTIFY), so mutations reach deep into the registration.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "sip/msg.h"
#include "ue/context.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] = "ue:\n"
			   "  impi: alice@ims.test\n"
			   "  impus: [ \"sip:alice@ims.test\" ]\n"
			   "  mechanism: outbound\n"
			   "  keepalive:\n"
			   "    interval: 1h\n"
			   "  register_at_start: false\n"
			   "  accesses: [ \"wlan local=198.18.1.2 pcscf=198.18.1.1:5060\" ]\n";

struct env {
	uint64_t ref;
	uint32_t set;
	uint32_t next_set;
	uint32_t entropy;
};

static int env_send(void *ctx, struct ue_access *a, const struct ue_sa *sa, struct str msg,
		    uint64_t ref)
{
	struct env *e = ctx;

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

/* The same entropy as the unit tests, so the seeds' Call-IDs and ports fit. */
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

/* The next NUL-separated chunk of [*p, end). */
static struct str chunk(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *s = *p, *z = memchr(s, 0, (size_t)(end - s));
	struct str c = str_make((const char *)s, (size_t)((z ? z : end) - s));

	*p = z ? z + 1 : end;
	return c;
}

static bool parse(struct sip_msg *m, struct str c)
{
	sip_msg_init(m);
	return c.len && sip_parse(m, c.s, c.len, SIP_FRAME_DATAGRAM, NULL, NULL) > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_section *const sections[] = { &ue_config_section };
	static struct config cfg;
	static bool loaded;
	struct ipsec_alloc_config alloc = IPSEC_ALLOC_CONFIG_DEFAULT;
	const uint8_t *p = data, *end = data + size;
	struct loop_manual_clock clock;
	struct ue_access_config acc;
	struct env e = { .entropy = 0x2545f491 };
	struct ue_seam seam = { fill, &e };
	struct loop *loop;
	struct ue *ue;
	struct sip_msg m;
	struct ue_reply rep;
	char path[] = "/dev/shm/fuzz-ue-sqn-XXXXXX", why[256];
	const struct ue_config *c;
	int fd;

	if (!loaded) {
		slog_init("fuzz", SLOG_TARGET_STDERR, SLOG_ERROR);
		if (config_load_buffer(&cfg, sections, 1, "fuzz", yaml, sizeof(yaml) - 1, NULL))
			abort();
		loaded = true;
	}
	c = config_get(&cfg, &ue_config_section);
	if (ue_access_config_parse(c->accesses.v[0], &acc, why, sizeof(why)))
		abort();
	fd = mkstemp(path);
	if (fd < 0)
		return 0;
	close(fd);
	unlink(path);
	loop_manual_clock_init(&clock, 0);
	if (loop_create(&loop, &clock.clock))
		abort();
	if (ue_create(&ue, c, &acc, 1, &alloc, loop, &ops, &e, &seam, NULL, path, why,
		      sizeof(why)))
		abort();
	ue_reg_event(ue, &ue->acc[0], UE_REG_EV_REGISTER, NULL);
	for (int i = 0; i < 2 && p < end; i++) {
		struct str c1 = chunk(&p, end);

		if (parse(&m, c1) && m.kind == SIP_MSG_RESPONSE)
			ue_on_response(ue, e.ref, &m, e.set);
	}
	if (p < end) {
		struct str c3 = chunk(&p, end);

		if (parse(&m, c3) && m.kind == SIP_MSG_REQUEST)
			ue_on_request(ue, &ue->acc[0], &m, ue->acc[0].sec.est.set.id, &rep);
	}
	/* Time passes: refreshes, keepalives, retries run on whatever state is left. */
	loop_advance(loop, 700000000);
	/* Two sets and one offer at most: 2 SPIs each. */
	if (ipsec_alloc_spi_count(&ue->alloc) > 6)
		abort();
	ue_destroy(ue);
	loop_destroy(loop);
	unlink(path);
	return 0;
}
