/*
 * fuzz_scscf - the S-CSCF's decoders and state machines under arbitrary
 * input: REGISTER decoding and classification, SUBSCRIBE, routing, and the
 * IMSSubscription reader.
 *
 * An input is a sequence of SIP messages separated by two NUL bytes, each
 * handed to the logic in turn on a fresh S-CSCF (so a REGISTER and its
 * answer can be one input). The Cx seam answers at once with one fixed
 * vector (TS 35.208 set 1, RAND 5a..5a01, SQN 0x20: the nonce
 * "WlpaWlpaWlpaWlpaWlpaAQ2k6Zl1u4AA1fxNgvmdMYQ=", RES 7907e8f0f385874c)
 * and accepts every SAR, so a seed can carry a whole registration; the
 * SIP seam prints responses into a buffer and drops them. Every input is
 * also read as a User-Data document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "scscf/scscf.h"
#include "sip/print.h"

static struct loop_manual_clock clock_;
static struct loop *loop;
static struct config config;
static struct scscf_config cfg;
static struct sip_msg *current;
static struct {
	bool sar;
	uint64_t ref;
} pending[64];
static unsigned n_pending;

static int response_start(void *ctx, uint64_t txn, struct buf *b, unsigned code,
			  struct str reason)
{
	if (!current)
		return -ENOENT;
	sip_print_response_start(b, current, code, reason, STR_LIT("fuzz"));
	return buf_error(b);
}

static int response_send(void *ctx, uint64_t txn, struct str response)
{
	return 0;
}

static int request(void *ctx, struct str msg, struct str next_hop, uint64_t ref)
{
	return 0;
}

static int fork_(void *ctx, uint64_t txn, const struct scscf_target *t, unsigned n)
{
	return 0;
}

static bool is_local(void *ctx, const struct sip_uri *uri)
{
	return false;
}

static const struct scscf_sip_ops sip_ops = {
	response_start, response_send, request, fork_, is_local,
};

static int queue(bool sar, uint64_t ref)
{
	if (n_pending == 64)
		return -ENOBUFS;
	pending[n_pending].sar = sar;
	pending[n_pending++].ref = ref;
	return 0;
}

static int mar(void *ctx, const struct scscf_mar *req, uint64_t ref)
{
	return queue(false, ref);
}

static int sar(void *ctx, const struct scscf_sar *req, uint64_t ref)
{
	return queue(true, ref);
}

static const struct scscf_cx_ops cx_ops = { mar, sar };

static void hex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void pump(struct scscf *s)
{
	static const char user_data[] =
		"<IMSSubscription><PrivateID>alice@ims.test</PrivateID><ServiceProfile>"
		"<PublicIdentity><Identity>sip:alice@ims.test</Identity></PublicIdentity>"
		"<PublicIdentity><Identity>tel:+15551230001</Identity></PublicIdentity>"
		"</ServiceProfile></IMSSubscription>";

	while (n_pending) {
		uint64_t ref = pending[0].ref;
		bool is_sar = pending[0].sar;

		memmove(&pending[0], &pending[1], (n_pending - 1) * sizeof(pending[0]));
		n_pending--;
		if (is_sar) {
			struct scscf_saa a = { .result = { 0, DIA_SUCCESS, false },
					       .user_data = STR_LIT(user_data) };

			scscf_cx_saa(s, ref, &a);
		} else {
			struct scscf_maa a = { .result = { 0, DIA_SUCCESS, false },
					       .have_vector = true, .xres_len = 8 };

			memset(a.rand, 0x5a, 16);
			a.rand[15] = 1;
			hex("0da4e99975bb8000d5fc4d82f99d3184", a.autn, 16);
			hex("7907e8f0f385874c", a.xres, 8);
			hex("089e8dc381b3470a01e36483cd4f7fc1", a.ck, 16);
			hex("f89e83c6e188dc393bc1f8d6a01fe572", a.ik, 16);
			scscf_cx_maa(s, ref, &a);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct config_section *const sections[] = { &scscf_config_section };

	slog_init("fuzz", SLOG_TARGET_STDERR, SLOG_ERROR);
	loop_manual_clock_init(&clock_, 0);
	if (loop_create(&loop, &clock_.clock) < 0 ||
	    config_load_buffer(&config, sections, 1, "(fuzz)", "", 0, NULL) < 0)
		abort();
	cfg = *(const struct scscf_config *)config_get(&config, &scscf_config_section);
	cfg.policy = SCSCF_POLICY_MODIFIED_IMPI_PROBE;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scscf s;
	struct arena a;
	struct scscf_identity *ids;
	unsigned n_ids;
	const char *p = (const char *)data, *end = p + size;
	uint64_t txn = 0;

	arena_init(&a, 0, 0);
	scscf_user_data_parse(str_make(p, size), &a, &ids, &n_ids);
	arena_destroy(&a);

	scscf_init(&s, loop, &cfg);
	s.sip = &sip_ops;
	s.cx = &cx_ops;
	while (p < end) {
		const char *sep = memmem(p, (size_t)(end - p), "\0\0", 2);
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
		char *copy = malloc(len + 1);
		struct sip_msg *m = malloc(sizeof(*m));

		memcpy(copy, p, len);
		copy[len] = '\0';
		sip_msg_init(m);
		if (sip_parse(m, copy, len, SIP_FRAME_DATAGRAM, NULL, NULL) > 0 &&
		    m->kind == SIP_MSG_REQUEST) {
			current = m;
			scscf_sip_request(&s, ++txn, m);
			pump(&s);
			current = NULL;
		}
		free(m);
		free(copy);
		p += len + (sep ? 2 : 0);
	}
	/* Timers: expiry, reg-await-auth, probes. */
	loop_advance(loop, 700000 * 1000ULL);
	pump(&s);
	n_pending = 0;
	scscf_fini(&s);
	return 0;
}
