/*
 * dpeer.c - a Diameter client's connection to one peer on the event loop
 * (dpeer.h).
 *
 *   IDLE --connect()--> CONNECTING --writable--> WAIT_CEA --CEA 2001--> OPEN
 *     ^                      |                      |                   |
 *     +---- back-off <-------+----------------------+---- failure ------+
 *                                                   OPEN --shutdown--> CLOSING
 *                                                   (DPR sent; DPA or Tw ends it)
 *
 * Requests in flight live in a slot table: the hop-by-hop identifier is
 * the slot's index in its low 20 bits and a per-slot generation in the
 * high 12, so an answer finds its request without a search and a late
 * answer to a reused slot finds nothing. The slots in use are also on a
 * list in sending order, which is deadline order since every request has
 * the same timeout; one timer serves the whole list.
 */
#define SLOG_COMPONENT "diameter"

#include "diameter/dpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define SLOT_BITS 20
#define SLOT_MAX (1u << SLOT_BITS)
#define NIL UINT32_MAX
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define IN_MAX (16u << 20)      /* a larger message ends the connection */
#define DPA_WAIT_MS 2000

enum state { ST_IDLE, ST_CONNECTING, ST_WAIT_CEA, ST_OPEN, ST_CLOSING, ST_DONE };

static const char *const state_names[] = { "idle", "connecting", "waiting for CEA", "open",
					   "closing", "done" };

struct pending {
	uint32_t hbh;                   /* 0: free (a used slot's hbh is never 0) */
	uint32_t prev, next;            /* the in-flight list, or the free list (next) */
	uint16_t gen;
	uint64_t deadline_ns;
	dpeer_answer_fn *fn;
	void *ctx;
	uint64_t tag;
};

struct dpeer {
	struct loop *loop;
	char *identity, *realm, *peer_identity;
	struct sockaddr_storage address;
	char where[INET6_ADDRSTRLEN + 8]; /* "[addr]:port" for the log */
	uint32_t vendor_id, app_id;
	uint64_t timeout_ns, watchdog_ms;

	enum state st;
	int fd;
	unsigned conn_gen;              /* changes whenever a connection ends */
	struct loop_io io;
	struct loop_timer flush_t, deadline_t, watchdog_t, reconnect_t;
	uint64_t backoff_ms;
	uint64_t last_rx_ns;
	bool dwr_out;                   /* our DWR is unanswered */

	struct buf out;                 /* bytes to write, from out_off */
	size_t out_off;
	uint8_t *in;
	size_t in_len, in_cap;
	struct buf ctl;                 /* scratch for our own messages */

	struct pending *slots;
	uint32_t n_slots, free_head, head, tail;

	uint32_t state_id;              /* Origin-State-Id: the start time */
	uint32_t e2e, session_lo;

	bool stopping;
	bool shutdown_pending;
	struct loop_shutdown_hook shutdown;
	struct dpeer_stats stats;
};

static void conn_fail(struct dpeer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void connect_now(struct dpeer *p);
static void send_dpr(struct dpeer *p);

/* --- the request table ------------------------------------------------------------- */

static int slots_grow(struct dpeer *p)
{
	uint32_t n = p->n_slots ? p->n_slots * 2 : 64;
	struct pending *s;

	if (p->n_slots >= SLOT_MAX)
		return -ENOMEM;
	if (n > SLOT_MAX)
		n = SLOT_MAX;
	s = realloc(p->slots, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (uint32_t i = p->n_slots; i < n; i++)
		s[i] = (struct pending){ .next = i + 1 < n ? i + 1 : NIL, .prev = NIL };
	p->free_head = p->n_slots;
	p->slots = s;
	p->n_slots = n;
	return 0;
}

static void list_unlink(struct dpeer *p, uint32_t i)
{
	struct pending *e = &p->slots[i];

	if (e->prev != NIL)
		p->slots[e->prev].next = e->next;
	else
		p->head = e->next;
	if (e->next != NIL)
		p->slots[e->next].prev = e->prev;
	else
		p->tail = e->prev;
}

static void slot_release(struct dpeer *p, uint32_t i)
{
	list_unlink(p, i);
	p->slots[i].hbh = 0;
	p->slots[i].next = p->free_head;
	p->free_head = i;
	p->stats.in_flight--;
}

/* Take slot i off the table and call its owner with a. */
static void complete(struct dpeer *p, uint32_t i, struct dpeer_answer *a)
{
	struct pending e = p->slots[i];

	slot_release(p, i);
	e.fn(e.ctx, e.tag, a);
	if (p->stopping && !p->stats.in_flight && p->st == ST_OPEN)
		send_dpr(p);
}

static void fail_all(struct dpeer *p, int err)
{
	struct dpeer_answer a = { .err = err };

	while (p->head != NIL)
		complete(p, p->head, &a);
}

static void on_deadline(struct loop *loop, struct loop_timer *t)
{
	struct dpeer *p = t->ctx;
	struct dpeer_answer a = { .err = -ETIMEDOUT };
	uint64_t now = loop_now_ns(loop);

	while (p->head != NIL && p->slots[p->head].deadline_ns <= now) {
		p->stats.timeouts++;
		log_warn("no answer from %s within %" PRIu64 " ms (hop-by-hop %08x)",
			 p->peer_identity, p->timeout_ns / 1000000, p->slots[p->head].hbh);
		complete(p, p->head, &a);
	}
	if (p->head != NIL)
		loop_timer_arm_at(loop, t, p->slots[p->head].deadline_ns);
}

/* --- writing ------------------------------------------------------------------------ */

static void set_events(struct dpeer *p, unsigned events)
{
	if (p->io.events != events)
		loop_io_modify(p->loop, &p->io, events);
}

/* Write what is queued; false when the connection failed meanwhile. */
static bool flush_now(struct dpeer *p)
{
	while (p->out_off < p->out.len) {
		ssize_t n = send(p->fd, p->out.p + p->out_off, p->out.len - p->out_off,
				 MSG_NOSIGNAL);

		if (n > 0) {
			p->out_off += (size_t)n;
			p->stats.writes++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(p, LOOP_READ | LOOP_WRITE);
			return true;
		}
		conn_fail(p, "write: %s", strerror(errno));
		return false;
	}
	buf_reset(&p->out);
	p->out_off = 0;
	set_events(p, LOOP_READ);
	return true;
}

static void on_flush(struct loop *loop, struct loop_timer *t)
{
	struct dpeer *p = t->ctx;

	(void)loop;
	if (p->fd >= 0 && p->st >= ST_WAIT_CEA)
		flush_now(p);
}

/* Queue msg[0..len); written at the end of this loop iteration. */
static int queue(struct dpeer *p, const void *msg, size_t len)
{
	size_t start = p->out.len;

	buf_put(&p->out, msg, len);
	if (buf_error(&p->out)) {
		p->out.len = start;
		p->out.err = 0;
		return -ENOMEM;
	}
	if (!loop_timer_armed(&p->flush_t) && !(p->io.events & LOOP_WRITE))
		loop_timer_arm(p->loop, &p->flush_t, 0);
	return 0;
}

/* --- our own messages --------------------------------------------------------------- */

static size_t ctl_begin(struct dpeer *p, uint8_t flags, uint32_t code, uint32_t app,
			uint32_t hbh, uint32_t e2e)
{
	buf_reset(&p->ctl);
	return dw_msg_begin(&p->ctl, flags, code, app, hbh, e2e);
}

static void put_origin(struct dpeer *p)
{
	dw_put_str(&p->ctl, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, str_from_cstr(p->identity));
	dw_put_str(&p->ctl, DW_AVP_ORIGIN_REALM, DW_AVP_MANDATORY, 0, str_from_cstr(p->realm));
}

static int ctl_send(struct dpeer *p, size_t start)
{
	dw_msg_end(&p->ctl, start);
	if (buf_error(&p->ctl))
		return buf_error(&p->ctl);
	return queue(p, p->ctl.p, p->ctl.len);
}

static uint32_t next_e2e(struct dpeer *p)
{
	/* RFC 6733 3: the start time in the high 12 bits, a counter below. */
	return (p->state_id << 20) | (p->e2e++ & 0xfffff);
}

static void put_application(struct dpeer *p)
{
	size_t g;

	if (p->vendor_id)
		dw_put_u32(&p->ctl, DW_AVP_SUPPORTED_VENDOR_ID, DW_AVP_MANDATORY, 0, p->vendor_id);
	g = dw_group_begin(&p->ctl, DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID, DW_AVP_MANDATORY, 0);
	dw_put_u32(&p->ctl, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, p->vendor_id);
	dw_put_u32(&p->ctl, DW_AVP_AUTH_APPLICATION_ID, DW_AVP_MANDATORY, 0, p->app_id);
	dw_group_end(&p->ctl, g);
}

static int send_cer(struct dpeer *p)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	size_t m;

	if (getsockname(p->fd, (struct sockaddr *)&local, &len) < 0)
		return -errno;
	m = ctl_begin(p, DW_REQUEST, DW_CMD_CAPABILITIES_EXCHANGE, 0, 0, next_e2e(p));
	put_origin(p);
	dw_put_address(&p->ctl, DW_AVP_HOST_IP_ADDRESS, DW_AVP_MANDATORY,
		       (const struct sockaddr *)&local);
	dw_put_u32(&p->ctl, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, 0);
	dw_put_str(&p->ctl, DW_AVP_PRODUCT_NAME, 0, 0, STR_LIT("simreg"));
	dw_put_u32(&p->ctl, DW_AVP_ORIGIN_STATE_ID, DW_AVP_MANDATORY, 0, p->state_id);
	put_application(p);
	return ctl_send(p, m);
}

static void send_dwr(struct dpeer *p)
{
	size_t m = ctl_begin(p, DW_REQUEST, DW_CMD_DEVICE_WATCHDOG, 0, 0, next_e2e(p));

	put_origin(p);
	dw_put_u32(&p->ctl, DW_AVP_ORIGIN_STATE_ID, DW_AVP_MANDATORY, 0, p->state_id);
	if (ctl_send(p, m) == 0) {
		p->dwr_out = true;
		p->stats.watchdogs_sent++;
	}
}

static void send_dpr(struct dpeer *p)
{
	size_t m = ctl_begin(p, DW_REQUEST, DW_CMD_DISCONNECT_PEER, 0, 0, next_e2e(p));

	put_origin(p);
	dw_put_u32(&p->ctl, DW_AVP_DISCONNECT_CAUSE, DW_AVP_MANDATORY, 0, 0 /* REBOOTING */);
	if (ctl_send(p, m) < 0 || !flush_now(p))
		return;
	log_notice("disconnecting from %s (DPR sent)", p->peer_identity);
	p->st = ST_CLOSING;
	loop_timer_arm(p->loop, &p->watchdog_t, DPA_WAIT_MS);
}

/* An answer to the peer's request req: Result-Code, and its Session-Id if any. */
static void send_answer(struct dpeer *p, const struct dw_header *h, const uint8_t *req,
			uint32_t result)
{
	/* Protocol errors (3000-3999) carry the E bit (RFC 6733 7.1.3). */
	bool error = result >= 3000 && result < 4000;
	struct dw_iter it;
	struct dw_avp sid;
	size_t m;

	m = ctl_begin(p, (uint8_t)((h->flags & DW_PROXIABLE) | (error ? DW_ERROR : 0)), h->code,
		      h->app, h->hbh, h->e2e);
	dw_iter_msg(&it, req, h->len);
	if (dw_find(&it, DW_AVP_SESSION_ID, 0, &sid) == 0)
		dw_put(&p->ctl, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, sid.data, sid.len);
	dw_put_u32(&p->ctl, DW_AVP_RESULT_CODE, DW_AVP_MANDATORY, 0, result);
	put_origin(p);
	if (h->code == DW_CMD_DEVICE_WATCHDOG)
		dw_put_u32(&p->ctl, DW_AVP_ORIGIN_STATE_ID, DW_AVP_MANDATORY, 0, p->state_id);
	ctl_send(p, m);
}

/* --- connection life ----------------------------------------------------------------- */

static void close_fd(struct dpeer *p)
{
	if (p->fd < 0)
		return;
	loop_io_remove(p->loop, &p->io);
	close(p->fd);
	p->fd = -1;
	p->conn_gen++;
	buf_reset(&p->out);
	p->out_off = 0;
	p->in_len = 0;
	p->dwr_out = false;
	loop_timer_cancel(p->loop, &p->flush_t);
	loop_timer_cancel(p->loop, &p->watchdog_t);
}

/* The shutdown is over for this peer: nothing more to say or wait for. */
static void finish_shutdown(struct dpeer *p)
{
	close_fd(p);
	p->st = ST_DONE;
	loop_timer_cancel(p->loop, &p->reconnect_t);
	if (p->shutdown_pending) {
		p->shutdown_pending = false;
		loop_shutdown_done(p->loop, &p->shutdown);
	}
}

static void schedule_reconnect(struct dpeer *p)
{
	p->st = ST_IDLE;
	loop_timer_arm(p->loop, &p->reconnect_t, p->backoff_ms);
	p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

static void conn_fail(struct dpeer *p, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->stopping) {
		log_info("connection to %s at %s ended while stopping: %s", p->peer_identity,
			 p->where, why);
		fail_all(p, -ENOTCONN);
		finish_shutdown(p);
		return;
	}
	log_warn("connection to %s at %s (%s) failed: %s; next attempt in %" PRIu64 " ms",
		 p->peer_identity, p->where, state_names[p->st], why, p->backoff_ms);
	close_fd(p);
	p->st = ST_IDLE;
	fail_all(p, -ENOTCONN);
	schedule_reconnect(p);
}

static void on_reconnect(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	connect_now(t->ctx);
}

static bool supports_app(const struct dpeer *p, const struct dw_iter *msg)
{
	struct dw_iter it = *msg, g;
	struct dw_avp a, b;
	uint32_t v;

	while (dw_next(&it, &a) > 0) {
		if (a.vendor)
			continue;
		if (a.code == DW_AVP_AUTH_APPLICATION_ID && dw_u32(&a, &v) == 0 &&
		    (v == p->app_id || v == DW_RELAY_APPLICATION))
			return true;
		if (a.code != DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID)
			continue;
		dw_iter_group(&g, &a);
		if (dw_find(&g, DW_AVP_AUTH_APPLICATION_ID, 0, &b) == 0 && dw_u32(&b, &v) == 0 &&
		    v == p->app_id)
			return true;
	}
	return false;
}

static void on_cea(struct dpeer *p, const struct dw_header *h, const uint8_t *msg)
{
	struct dw_iter it;
	struct dw_avp host, em;
	uint32_t code;
	bool exp;

	dw_iter_msg(&it, msg, h->len);
	if (dw_result(&it, &code, &exp) < 0) {
		conn_fail(p, "CEA without a Result-Code");
		return;
	}
	if (code != DW_SUCCESS || exp) {
		struct str e = dw_find(&it, DW_AVP_ERROR_MESSAGE, 0, &em) == 0 ? dw_str(&em) :
										    STR_LIT("");

		conn_fail(p, "CEA with Result-Code %u%s%.*s", code, e.len ? ": " : "",
			  (int)e.len, e.s);
		return;
	}
	if (dw_find(&it, DW_AVP_ORIGIN_HOST, 0, &host) < 0) {
		conn_fail(p, "CEA without an Origin-Host");
		return;
	}
	if (!str_eq(dw_str(&host), str_from_cstr(p->peer_identity))) {
		conn_fail(p, "the peer is %.*s, not %s", (int)host.len, (const char *)host.data,
			  p->peer_identity);
		return;
	}
	if (!supports_app(p, &it)) {
		conn_fail(p, "the peer does not support application %u (vendor %u)", p->app_id,
			  p->vendor_id);
		return;
	}
	p->st = ST_OPEN;
	p->backoff_ms = BACKOFF_FIRST_MS;
	p->stats.connects++;
	log_notice("connected to %s at %s (application %u, vendor %u)", p->peer_identity,
		   p->where, p->app_id, p->vendor_id);
	loop_timer_arm(p->loop, &p->watchdog_t, p->watchdog_ms);
	if (p->stopping)
		send_dpr(p);
}

static void on_request(struct dpeer *p, const struct dw_header *h, const uint8_t *msg)
{
	switch (h->code) {
	case DW_CMD_DEVICE_WATCHDOG:
		send_answer(p, h, msg, DW_SUCCESS);
		return;
	case DW_CMD_DISCONNECT_PEER:
		send_answer(p, h, msg, DW_SUCCESS);
		if (flush_now(p)) {
			p->backoff_ms = BACKOFF_FIRST_MS;
			conn_fail(p, "the peer sent DPR");
		}
		return;
	default:
		log_warn("%s sent command %u, which this client does not serve: 3001",
			 p->peer_identity, h->code);
		send_answer(p, h, msg, DW_COMMAND_UNSUPPORTED);
	}
}

static void on_message(struct dpeer *p, const struct dw_header *h, const uint8_t *msg)
{
	struct dpeer_answer a;
	uint32_t i;

	if (h->flags & DW_REQUEST) {
		on_request(p, h, msg);
		return;
	}
	switch (h->code) {
	case DW_CMD_CAPABILITIES_EXCHANGE:
		if (p->st == ST_WAIT_CEA)
			on_cea(p, h, msg);
		return;
	case DW_CMD_DEVICE_WATCHDOG:
		if (p->dwr_out)
			p->stats.watchdogs_answered++;
		p->dwr_out = false;
		return;
	case DW_CMD_DISCONNECT_PEER:
		if (p->st == ST_CLOSING) {
			log_notice("disconnected from %s (DPA received)", p->peer_identity);
			finish_shutdown(p);
		}
		return;
	}
	i = h->hbh & (SLOT_MAX - 1);
	if (i >= p->n_slots || p->slots[i].hbh != h->hbh || !h->hbh) {
		log_debug("answer from %s to no request of ours (hop-by-hop %08x, command %u)",
			  p->peer_identity, h->hbh, h->code);
		return;
	}
	p->stats.answers++;
	a = (struct dpeer_answer){ .h = *h, .msg = msg, .len = h->len };
	complete(p, i, &a);
}

/* Make room for at least `need` more octets in the input buffer. */
static int in_reserve(struct dpeer *p, size_t need)
{
	size_t cap = p->in_cap ? p->in_cap : 65536;
	uint8_t *n;

	if (p->in_cap - p->in_len >= need)
		return 0;
	while (cap - p->in_len < need)
		cap *= 2;
	n = realloc(p->in, cap);
	if (!n)
		return -ENOMEM;
	p->in = n;
	p->in_cap = cap;
	return 0;
}

/* Hand every whole message in the input buffer over; keep the rest. */
static void parse_input(struct dpeer *p)
{
	unsigned gen = p->conn_gen;
	size_t off = 0;

	while (p->in_len - off >= DW_HEADER_LEN) {
		struct dw_header h;

		if (dw_header_read(p->in + off, p->in_len - off, &h) < 0) {
			conn_fail(p, "malformed message header (version %u)", p->in[off]);
			return;
		}
		if (h.len > IN_MAX) {
			conn_fail(p, "a message of %u octets", h.len);
			return;
		}
		if (h.len > p->in_len - off) {
			/* Room for the rest, so that one read can complete it. */
			memmove(p->in, p->in + off, p->in_len - off);
			p->in_len -= off;
			if (in_reserve(p, h.len - p->in_len) < 0)
				conn_fail(p, "no memory for a message of %u octets", h.len);
			return;
		}
		on_message(p, &h, p->in + off);
		if (p->conn_gen != gen)
			return; /* the handler ended the connection */
		off += h.len;
	}
	memmove(p->in, p->in + off, p->in_len - off);
	p->in_len -= off;
}

static void read_input(struct dpeer *p)
{
	for (;;) {
		unsigned gen;
		bool full;
		ssize_t n;

		if (in_reserve(p, 4096) < 0) {
			conn_fail(p, "no memory for input");
			return;
		}
		n = recv(p->fd, p->in + p->in_len, p->in_cap - p->in_len, 0);
		if (n == 0) {
			conn_fail(p, "closed by the peer");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(p, "read: %s", strerror(errno));
			return;
		}
		p->in_len += (size_t)n;
		p->last_rx_ns = loop_now_ns(p->loop);
		gen = p->conn_gen;
		full = p->in_len == p->in_cap;
		parse_input(p);
		if (p->conn_gen != gen || !full)
			return;
	}
}

static void connected(struct dpeer *p)
{
	int err = send_cer(p);

	if (err) {
		conn_fail(p, "cannot send CER: %s", strerror(-err));
		return;
	}
	p->st = ST_WAIT_CEA;
	set_events(p, LOOP_READ);
	/* No CEA within Tw ends the attempt. */
	loop_timer_arm(p->loop, &p->watchdog_t, p->watchdog_ms);
	flush_now(p);
}

static void on_io(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct dpeer *p = io->ctx;
	unsigned gen = p->conn_gen;

	(void)loop;
	if (p->st == ST_CONNECTING) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			conn_fail(p, "connect: %s", strerror(soerr));
			return;
		}
		connected(p);
		return;
	}
	if ((events & LOOP_WRITE) && !flush_now(p))
		return;
	if (p->conn_gen == gen && (events & (LOOP_READ | LOOP_ERROR)))
		read_input(p);
}

static void connect_now(struct dpeer *p)
{
	const struct sockaddr *sa = (const struct sockaddr *)&p->address;
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in);
	int one = 1, err;

	p->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (p->fd < 0) {
		conn_fail(p, "socket: %s", strerror(errno));
		return;
	}
	/* Writes are gathered per loop iteration already; Nagle would only delay them. */
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	err = loop_io_add(p->loop, &p->io, p->fd, LOOP_WRITE, on_io, p);
	if (err) {
		close(p->fd);
		p->fd = -1;
		conn_fail(p, "cannot watch the socket: %s", strerror(-err));
		return;
	}
	p->st = ST_CONNECTING;
	loop_timer_arm(p->loop, &p->watchdog_t, p->watchdog_ms);
	if (connect(p->fd, sa, len) == 0) {
		connected(p);
		return;
	}
	if (errno != EINPROGRESS)
		conn_fail(p, "connect: %s", strerror(errno));
}

static void on_watchdog(struct loop *loop, struct loop_timer *t)
{
	struct dpeer *p = t->ctx;
	uint64_t now = loop_now_ns(loop), tw = p->watchdog_ms * 1000000;

	switch (p->st) {
	case ST_CONNECTING:
	case ST_WAIT_CEA:
		conn_fail(p, "no CEA within %" PRIu64 " ms", p->watchdog_ms);
		return;
	case ST_CLOSING:
		log_notice("no DPA from %s; closing", p->peer_identity);
		finish_shutdown(p);
		return;
	case ST_OPEN:
		break;
	default:
		return;
	}
	if (p->dwr_out) {
		conn_fail(p, "no DWA within %" PRIu64 " ms", p->watchdog_ms);
		return;
	}
	if (now - p->last_rx_ns < tw) {
		loop_timer_arm_at(loop, t, p->last_rx_ns + tw);
		return;
	}
	send_dwr(p);
	loop_timer_arm(loop, t, p->watchdog_ms);
}

/* --- shutdown ----------------------------------------------------------------------- */

static int shutdown_begin(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct dpeer *p = h->ctx;

	(void)loop;
	p->stopping = true;
	loop_timer_cancel(p->loop, &p->reconnect_t);
	if (p->st != ST_OPEN) {
		/* Nothing said yet that needs a goodbye. */
		fail_all(p, -ENOTCONN);
		close_fd(p);
		p->st = ST_DONE;
		return 0;
	}
	p->shutdown_pending = true;
	if (!p->stats.in_flight)
		send_dpr(p);
	/* Otherwise the last answer in flight sends the DPR (complete()). */
	return LOOP_SHUTDOWN_PENDING;
}

static void shutdown_expire(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct dpeer *p = h->ctx;

	(void)loop;
	p->shutdown_pending = false;
	fail_all(p, -ESHUTDOWN);
	close_fd(p);
	p->st = ST_DONE;
}

/* --- the interface ------------------------------------------------------------------ */

static void format_where(struct dpeer *p)
{
	const struct sockaddr *sa = (const struct sockaddr *)&p->address;
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		port = ntohs(in6->sin6_port);
		snprintf(p->where, sizeof(p->where), "[%s]:%u", a, port);
		return;
	}
	inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, a,
		  sizeof(a));
	port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	snprintf(p->where, sizeof(p->where), "%s:%u", a, port);
}

int dpeer_start(struct loop *loop, const struct dpeer_config *cfg, struct dpeer **out)
{
	struct dpeer *p;
	int family = cfg->address.ss_family;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->identity = strdup(cfg->identity);
	p->realm = strdup(cfg->realm);
	p->peer_identity = strdup(cfg->peer_identity);
	if (!p->identity || !p->realm || !p->peer_identity) {
		dpeer_free(p);
		return -ENOMEM;
	}
	p->loop = loop;
	p->address = cfg->address;
	p->vendor_id = cfg->vendor_id;
	p->app_id = cfg->app_id;
	p->timeout_ns = cfg->timeout_ms * 1000000;
	p->watchdog_ms = cfg->watchdog_ms ? cfg->watchdog_ms : 30000;
	p->fd = -1;
	p->head = p->tail = p->free_head = NIL;
	p->backoff_ms = BACKOFF_FIRST_MS;
	p->state_id = (uint32_t)time(NULL);
	buf_init(&p->out);
	buf_init(&p->ctl);
	format_where(p);
	loop_timer_init(&p->flush_t, on_flush, p);
	loop_timer_init(&p->deadline_t, on_deadline, p);
	loop_timer_init(&p->watchdog_t, on_watchdog, p);
	loop_timer_init(&p->reconnect_t, on_reconnect, p);
	p->shutdown = (struct loop_shutdown_hook){ .name = "Diameter peer",
						   .begin = shutdown_begin,
						   .expire = shutdown_expire,
						   .ctx = p };
	loop_on_shutdown(loop, &p->shutdown);
	connect_now(p);
	*out = p;
	return 0;
}

void dpeer_free(struct dpeer *p)
{
	if (!p)
		return;
	if (p->loop) {
		loop_shutdown_hook_remove(p->loop, &p->shutdown);
		close_fd(p);
		loop_timer_cancel(p->loop, &p->deadline_t);
		loop_timer_cancel(p->loop, &p->reconnect_t);
	}
	/* Requests still in flight are dropped without a call: their owner is going too. */
	free(p->slots);
	free(p->in);
	buf_free(&p->out);
	buf_free(&p->ctl);
	free(p->identity);
	free(p->realm);
	free(p->peer_identity);
	free(p);
}

bool dpeer_is_open(const struct dpeer *p)
{
	return p && p->st == ST_OPEN;
}

size_t dpeer_session_id(struct dpeer *p, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s;%u;%u", p->identity, p->state_id, p->session_lo++);

	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

int dpeer_send(struct dpeer *p, const void *msg, size_t len, dpeer_answer_fn *fn, void *ctx,
	       uint64_t tag)
{
	struct pending *e;
	uint32_t i;
	int err;

	if (p->stopping)
		return -ESHUTDOWN;
	if (p->st != ST_OPEN)
		return -ENOTCONN;
	if (len < DW_HEADER_LEN || !(((const uint8_t *)msg)[4] & DW_REQUEST))
		return -EINVAL;
	if (p->free_head == NIL && slots_grow(p) < 0)
		return -ENOMEM;
	i = p->free_head;
	err = queue(p, msg, len);
	if (err)
		return err;
	e = &p->slots[i];
	p->free_head = e->next;
	e->gen = (uint16_t)((e->gen + 1) & 0xfff);
	e->hbh = (uint32_t)e->gen << SLOT_BITS | i;
	if (!e->hbh)
		e->hbh = (uint32_t)(e->gen = 1) << SLOT_BITS | i;
	e->fn = fn;
	e->ctx = ctx;
	e->tag = tag;
	e->deadline_ns = loop_now_ns(p->loop) + p->timeout_ns;
	e->next = NIL;
	e->prev = p->tail;
	if (p->tail != NIL)
		p->slots[p->tail].next = i;
	else
		p->head = i;
	p->tail = i;
	dw_set_ids(p->out.p + p->out.len - len, e->hbh, next_e2e(p));
	p->stats.requests++;
	p->stats.in_flight++;
	if (!loop_timer_armed(&p->deadline_t))
		loop_timer_arm_at(p->loop, &p->deadline_t, e->deadline_ns);
	return 0;
}

void dpeer_get_stats(const struct dpeer *p, struct dpeer_stats *out)
{
	*out = p->stats;
}
