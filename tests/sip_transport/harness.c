/*
 * harness.c - see harness.h.
 */
#include "harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/print.h"

#define MS 1000000ull
#define START_MS 1000

/* Deterministic ids: a counter, so branches and tags are the same every run. */
static void counter_fill(void *ctx, uint8_t *out, size_t n)
{
	struct harness *h = ctx;

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(h->ids_counter >> (8 * (i % 8)));
	h->ids_counter++;
}

static int h_send(struct sip_tp *tp, struct sip_flow *flow, const char *data, size_t len)
{
	struct h_tp *ht = (struct h_tp *)tp;
	struct harness *h = ht->h;
	struct h_sent *s;

	if (ht->fail_send)
		return ht->fail_send;
	if (h->n_sent == H_MAX_SENT)
		return -ENOBUFS;
	s = &h->sent[h->n_sent++];
	s->at_ms = h_now(h);
	s->tp = tp->id;
	s->to = flow->remote;
	s->msg = malloc(len + 1);
	memcpy(s->msg, data, len);
	s->msg[len] = '\0';
	s->len = len;
	return 0;
}

static void h_close(struct sip_tp *tp)
{
}

static void h_describe(const struct sip_tp *tp, struct buf *out)
{
	buf_puts(out, "recording");
}

static const struct sip_tp_ops h_udp_ops = {
	.name = "rec-udp", .proto = SIP_TRANSPORT_UDP, .flags = 0,
	.send = h_send, .close = h_close, .describe = h_describe,
};

static const struct sip_tp_ops h_tcp_ops = {
	.name = "rec-tcp", .proto = SIP_TRANSPORT_TCP, .flags = SIP_TPF_RELIABLE | SIP_TPF_STREAM,
	.send = h_send, .close = h_close, .describe = h_describe,
};

static struct h_event *push(struct harness *h, enum h_event_kind k)
{
	struct h_event *e = &h->ev[h->n_ev < H_MAX_EVENTS ? h->n_ev++ : H_MAX_EVENTS - 1];

	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->at_ms = h_now(h);
	return e;
}

static void tu_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct harness *h = ctx;
	struct h_event *e = push(h, H_REQUEST);

	e->id = stx;
	snprintf(e->method, sizeof(e->method), "%.*s", STR_FMT(rx->msg->method_name));
	h->last_stx = stx;
	if (stx && h->auto_status)
		sip_server_txn_respond(st, stx, h->auto_status, STR_NULL);
}

static void tu_cancel(struct sip_stack *st, void *ctx, sip_txn_id invite, uint64_t ref,
		      struct sip_rx *rx)
{
	struct h_event *e = push(ctx, H_CANCEL);

	e->id = invite;
	e->ref = ref;
}

static void tu_server_failure(struct sip_stack *st, void *ctx, sip_txn_id stx, uint64_t ref,
			      int err)
{
	struct h_event *e = push(ctx, H_SERVER_FAILURE);

	e->id = stx;
	e->err = err;
}

static void tu_stray(struct sip_stack *st, void *ctx, struct sip_rx *rx)
{
	push(ctx, H_STRAY)->status = rx->msg->status;
}

static void tu_flow_failure(struct sip_stack *st, void *ctx, const struct sip_flow *flow, int err)
{
	push(ctx, H_FLOW_FAILURE)->err = err;
}

const struct sip_tu_ops h_tu_ops = {
	.request = tu_request,
	.cancel = tu_cancel,
	.server_failure = tu_server_failure,
	.stray_response = tu_stray,
	.flow_failure = tu_flow_failure,
};

static void cl_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			struct sip_rx *rx)
{
	struct h_event *e = push(ctx, H_RESPONSE);

	e->id = id;
	e->ref = ref;
	e->status = rx->msg->status;
}

static void cl_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct h_event *e = push(ctx, H_FAILURE);

	e->id = id;
	e->ref = ref;
	e->err = err;
}

const struct sip_client_ops h_client_ops = { .response = cl_response, .failure = cl_failure };

static void add_tp(struct harness *h, struct h_tp *t, const struct sip_tp_ops *ops)
{
	t->tp.ops = ops;
	t->h = h;
	sip_sockaddr_parse(STR_LIT(H_LOCAL ":5060"), 5060, &t->tp.local);
	snprintf(t->tp.sent_by, sizeof(t->tp.sent_by), H_LOCAL ":5060");
	sip_tpset_add(sip_stack_transports(h->st), &t->tp, NULL);
}

struct harness *h_new(const struct sip_timers *timers, const struct sip_tu_ops *ops, void *ctx)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct sip_stack_config cfg;

	loop_manual_clock_init(&h->clock, START_MS * MS);
	if (loop_create(&h->loop, &h->clock.clock) < 0)
		abort();
	sip_stack_config_default(&cfg);
	if (timers)
		cfg.timers = *timers;
	cfg.ids.fill = counter_fill;
	cfg.ids.ctx = h;
	cfg.server_name = NULL;
	if (sip_stack_create(&h->st, h->loop, &cfg, ops ? ops : &h_tu_ops, ops ? ctx : h) < 0)
		abort();
	add_tp(h, &h->udp, &h_udp_ops);
	add_tp(h, &h->tcp, &h_tcp_ops);
	return h;
}

void h_free(struct harness *h)
{
	sip_stack_destroy(h->st);
	loop_destroy(h->loop);
	for (unsigned i = 0; i < h->n_sent; i++)
		free(h->sent[i].msg);
	free(h);
}

void h_advance(struct harness *h, uint64_t ms)
{
	loop_advance(h->loop, ms);
}

uint64_t h_now(struct harness *h)
{
	return loop_now_ms(h->loop) - START_MS;
}

void h_input(struct harness *h, bool tcp, uint16_t from_port, const char *msg)
{
	struct h_tp *t = tcp ? &h->tcp : &h->udp;
	struct sip_flow f;

	sip_flow_init(&f);
	f.proto = t->tp.ops->proto;
	f.tp = t->tp.id;
	f.local = t->tp.local;
	sip_sockaddr_parse(STR_LIT(H_PEER), from_port, &f.remote);
	if (tcp)
		f.conn = 7;
	sip_tpset_input(sip_stack_transports(h->st), &t->tp, &f, msg, strlen(msg));
}

int h_client(struct harness *h, bool tcp, const char *msg, sip_txn_id *id)
{
	struct sip_client_req req = {
		.msg = str_from_cstr(msg),
		.ops = &h_client_ops,
		.ctx = h,
		.ref = 42,
	};
	union sip_sockaddr peer;

	sip_sockaddr_parse(STR_LIT(H_PEER), 5060, &peer);
	sip_flow_to(&req.dest, tcp ? SIP_TRANSPORT_TCP : SIP_TRANSPORT_UDP, &peer);
	return sip_client_txn_start(h->st, &req, id);
}

char *h_response_to(struct harness *h, unsigned i, unsigned code)
{
	static struct sip_msg m;
	struct buf b;
	char *out;

	sip_msg_init(&m);
	if (i >= h->n_sent || sip_parse(&m, h->sent[i].msg, h->sent[i].len, SIP_FRAME_DATAGRAM,
					 NULL, NULL) < 0)
		return NULL;
	buf_init(&b);
	sip_print_response_start(&b, &m, code, STR_NULL, code > 100 ? STR_LIT("uas") : STR_NULL);
	sip_print_body(&b, STR_NULL, STR_NULL);
	out = strndup(b.p, b.len);
	buf_free(&b);
	return out;
}

unsigned h_count_sent(struct harness *h, const char *prefix)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->n_sent; i++)
		n += strncmp(h->sent[i].msg, prefix, strlen(prefix)) == 0;
	return n;
}

int h_last_sent(struct harness *h, const char *prefix)
{
	for (unsigned i = h->n_sent; i > 0; i--)
		if (strncmp(h->sent[i - 1].msg, prefix, strlen(prefix)) == 0)
			return (int)i - 1;
	return -1;
}

unsigned h_count_ev(struct harness *h, enum h_event_kind k)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->n_ev; i++)
		n += h->ev[i].kind == k;
	return n;
}

const struct h_event *h_last_ev(struct harness *h, enum h_event_kind k)
{
	for (unsigned i = h->n_ev; i > 0; i--)
		if (h->ev[i - 1].kind == k)
			return &h->ev[i - 1];
	return NULL;
}

char *h_request(const char *method, const char *branch, const char *via_extra, const char *to_tag,
		unsigned cseq)
{
	char *out;
	int n;

	n = asprintf(&out,
		     "%s sip:bob@" H_LOCAL " SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP " H_PEER ":5062;branch=%s%s\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@example.com>;tag=a1\r\n"
		     "To: <sip:bob@example.com>%s%s\r\n"
		     "Call-ID: c1@" H_PEER "\r\n"
		     "CSeq: %u %s\r\n"
		     "Content-Length: 0\r\n\r\n",
		     method, branch, via_extra, to_tag ? ";tag=" : "", to_tag ? to_tag : "", cseq,
		     method);
	return n < 0 ? NULL : out;
}
