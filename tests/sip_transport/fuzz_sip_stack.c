/*
 * libFuzzer target: the stack's receive path, transactions and proxy core
 * over the recording transports of harness.h.
 *
 * Input: byte 0 chooses the transport (bit 0: TCP) and what the TU does
 * with a new request (bits 1-2: answer it, forward it through the proxy
 * core to two targets, or leave it); byte 1 is the status code (100 + x
 * mod 600); the rest is up to three messages separated by NUL bytes. The
 * first goes in; after it the second goes in as is (a retransmission, a
 * CANCEL, an ACK) and each message the stack sent is answered with the
 * third's status line applied, then time runs out every timer.
 * Invariants: no crash, no leak, and once the requests left unanswered are
 * answered, no transaction and no proxy context left after 300 s of
 * simulated time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sip/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct harness *h;
static struct sip_proxy *px;
static unsigned mode, status;
/* Requests left unanswered (mode 0), answered 500 at the end of the input. */
static sip_txn_id pending[8];
static unsigned n_pending;

static void tu_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	static const struct sip_proxy_target t[2] = {
		{ .uri = STR_LIT("sip:a@198.18.0.3") },
		{ .uri = STR_LIT("sip:b@198.18.0.4;transport=tcp") },
	};
	struct sip_proxy_req req = { .stx = stx, .targets = t, .n_targets = 2,
				     .record_route = STR_LIT("<sip:198.18.0.1;lr>") };

	if (!stx) {
		sip_proxy_forward_stateless(px, rx);
		return;
	}
	if (mode == 1)
		sip_server_txn_respond(st, stx, status, STR_NULL);
	if (mode == 1 && status >= 200)
		return;
	if (mode == 2)
		sip_proxy_forward(px, &req, NULL);
	else if (n_pending < 8)
		pending[n_pending++] = stx;
	else
		sip_server_txn_respond(st, stx, 503, STR_NULL);
}

static void tu_cancel(struct sip_stack *st, void *ctx, sip_txn_id inv, uint64_t ref,
		      struct sip_rx *rx)
{
	if (sip_proxy_cancel(px, ref) < 0)
		sip_server_txn_respond(st, inv, 487, STR_NULL);
}

static void tu_stray(struct sip_stack *st, void *ctx, struct sip_rx *rx)
{
	sip_proxy_forward_stateless(px, rx);
}

static const struct sip_tu_ops ops = {
	.request = tu_request, .cancel = tu_cancel, .stray_response = tu_stray,
};

static char *part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
	size_t n = z ? (size_t)(z - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (z ? 1 : 0);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 2, *end = data + size;
	char *a, *b, *c;
	bool tcp;

	if (size < 3)
		return 0;
	if (!h) {
		h = h_new(NULL, &ops, NULL);
		sip_proxy_create(&px, h->st, NULL, NULL);
	}
	tcp = data[0] & 1;
	mode = (data[0] >> 1) & 3;
	status = 100 + data[1] * 600u / 256u;
	a = part(&p, end);
	b = p < end ? part(&p, end) : NULL;
	c = p < end ? part(&p, end) : NULL;
	h_input(h, tcp, 5062, a);
	if (b)
		h_input(h, tcp, 5062, b);
	if (c) {
		/* Answer what went out with c's code; c's bytes are a whole message too. */
		unsigned n = h->n_sent;

		for (unsigned i = 0; i < n && i < 8; i++) {
			char *r = h_response_to(h, i, status < 200 ? 180 : status);

			if (r)
				h_input(h, tcp, 5060, r);
			free(r);
		}
		h_input(h, tcp, 5060, c);
	}
	/* A server transaction waits for its TU as long as it takes (17.2.2). */
	for (unsigned i = 0; i < n_pending; i++)
		sip_server_txn_respond(h->st, pending[i], 500, STR_NULL);
	n_pending = 0;
	h_advance(h, 300000);
	if (sip_stack_stats(h->st)->txn_live != 0 || sip_proxy_live(px) != 0)
		abort();
	for (unsigned i = 0; i < h->n_sent; i++)
		free(h->sent[i].msg);
	h->n_sent = 0;
	h->n_ev = 0;
	free(a);
	free(b);
	free(c);
	return 0;
}
