/*
 * backend.h - one interface to the SAs of a host, two implementations.
 *
 *   xfrm       the kernel does ESP: SAs and policies through XFRM netlink,
 *              protected ports are ordinary UDP sockets (xfrm.c).
 *   userspace  simreg does ESP itself over raw IP sockets (protocol 50),
 *              for kernels built without CONFIG_INET_ESP (userspace.c).
 *   auto       probe, in a scratch network namespace, whether the kernel
 *              accepts an ESP SA: xfrm if it does, userspace if not. The
 *              choice and its reason are logged (`simreg ipsec probe`).
 *
 * Configuration key `ipsec.backend: auto | xfrm | userspace` selects one.
 *
 * A SIP transport uses the protected ports through endpoints, the same way
 * for both backends: ipsec_endpoint_open() on (local address, protected
 * port), poll ipsec_endpoint_fd() for input, ipsec_endpoint_recv() gets one
 * datagram with the SA it arrived over, ipsec_endpoint_send() sends one
 * over the SA whose selectors match. The userspace backend also has
 * descriptors of its own (the raw sockets): the event loop watches those
 * from ipsec_backend_fds() and calls ipsec_backend_input() when readable;
 * that decrypts and queues datagrams to the endpoints' descriptors.
 *
 * TCP between protected ports stays the kernel's, in both backends: the
 * owner of a listener or a connection calls ipsec_backend_tcp_bind() on
 * its socket, and the SAs carry it (the userspace backend through a TUN
 * device, tun.h).
 *
 * All calls are synchronous; an XFRM request is a kernel round trip of a
 * few microseconds. Nothing here is thread-safe: one backend belongs to
 * one event loop.
 */
#ifndef SIMREG_IPSEC_BACKEND_H
#define SIMREG_IPSEC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "ipsec/alloc.h"
#include "ipsec/sa.h"

#define IPSEC_BACKEND_KINDS(X)       \
	X(AUTO, "auto")              \
	X(XFRM, "xfrm")              \
	X(USERSPACE, "userspace")

enum ipsec_backend_kind {
#define X(id, name) IPSEC_BACKEND_##id,
	IPSEC_BACKEND_KINDS(X)
#undef X
	IPSEC_BACKEND_KIND_COUNT
};

/* "auto" -> IPSEC_BACKEND_AUTO ...; -EINVAL for anything else. */
int ipsec_backend_kind_parse(const char *name, enum ipsec_backend_kind *out);
const char *ipsec_backend_kind_name(enum ipsec_backend_kind kind);

/*
 * reqid ownership (xfrm): every SA simreg installs has a reqid
 *   [31:24] the tag (ipsec.reqid_tag)   [23:3] set id   [2] side   [1:0] SA - 1
 * so a restarted process finds its own sets (and only those) in the
 * kernel, and knows each SA's set, number and side without other state.
 */
#define IPSEC_REQID_DEFAULT_TAG 0x53 /* 'S' */
#define IPSEC_SET_ID_MAX ((1u << 21) - 1)

/* userspace: the routing table of the TCP TUN device (ipsec.tun_table). */
#define IPSEC_TUN_TABLE_DEFAULT 83

/* The `ipsec:` section of the configuration (ipsec_config_section). */
struct ipsec_config {
	enum ipsec_backend_kind backend;
	/*
	 * Append Wireshark esp_sa lines (see keylog.h) for every SA installed.
	 * NULL or "": off, the default. The file is created 0600.
	 */
	const char *keylog_path;
	uint8_t reqid_tag;      /* 0 means IPSEC_REQID_DEFAULT_TAG */
	uint8_t pad_blocks_max; /* userspace: extra random padding blocks (esp.h) */
	/*
	 * userspace: name (a "%d" is replaced by a number) of the TUN device
	 * that carries protected TCP, made on the first
	 * ipsec_backend_tcp_bind(); NULL or "": no protected TCP.
	 */
	const char *tun;
	uint32_t tun_table; /* userspace: table of the TUN's route (tun.h); 0: the default */
	struct ipsec_alloc_config alloc; /* for whoever allocates the local halves */
};

extern const struct config_section ipsec_config_section;

/* What auto found, and why it chose what it chose. */
struct ipsec_probe {
	enum ipsec_backend_kind choice; /* XFRM, USERSPACE, or AUTO if neither works */
	bool kernel_esp;  /* the kernel accepted an ESP SA */
	bool raw_esp;     /* a raw IPPROTO_ESP socket could be opened */
	char kernel[256]; /* what the kernel said */
	char raw[128];
	char reason[512]; /* one sentence for the log */
};

/*
 * Probe in a scratch network namespace (a forked child that unshares its
 * network namespace, so nothing the host holds is touched): try
 * XFRM_MSG_NEWSA for an ESP transport SA with cbc(aes) + hmac(sha1), and
 * open a raw ESP socket. Always fills *out; returns 0, or a negative errno
 * if the probe itself could not run (no fork; the reason says so).
 * The child allocates: call this (and ipsec_backend_open() with AUTO)
 * before the process starts threads.
 */
int ipsec_probe_run(struct ipsec_probe *out);

struct ipsec_backend;
struct ipsec_endpoint;

/*
 * Open the configured backend; with AUTO, probe first and log the choice
 * and the reason. Returns 0, -EINVAL (bad config: the reqid tag 0xff, a
 * backend out of range, a TUN name of IFNAMSIZ characters or more, the TUN
 * table 253..255), -ENOTSUP (auto found
 * neither backend usable, or the one asked for cannot work: the log says
 * why), -ENOMEM, or the errno of a socket that could not be opened.
 * `probe` (may be NULL) receives the probe result when one ran.
 */
int ipsec_backend_open(const struct ipsec_config *cfg, struct ipsec_backend **out,
		       struct ipsec_probe *probe);

/*
 * Close: endpoints must be closed first. The userspace backend's SAs end
 * with it; the xfrm backend's stay in the kernel (adopt them with
 * ipsec_backend_list() after a restart, or ipsec_backend_remove() them).
 */
void ipsec_backend_close(struct ipsec_backend *b);

enum ipsec_backend_kind ipsec_backend_kind(const struct ipsec_backend *b);

/*
 * Install the four SAs of set (from ipsec_sa_set_build()) and, for xfrm,
 * the policies that route its selectors through them. All or nothing: on
 * error what was installed is removed again and the error is logged with
 * the SPI and addresses of the SA that failed.
 * On success set->id (and set->reqid) are assigned and the backend keeps
 * a copy. Returns 0, -EINVAL (set not valid), -EEXIST (an SPI or a
 * selector already installed), -ENOSPC (no set id left), or the kernel's
 * errno.
 */
int ipsec_backend_install(struct ipsec_backend *b, struct ipsec_sa_set *set);

/* Delete the SAs (and policies) of set `id`. -ENOENT if unknown. */
int ipsec_backend_remove(struct ipsec_backend *b, uint32_t id);

/*
 * Call fn for every set this process owns. xfrm reads the kernel: sets
 * installed by an earlier simreg process (reqids in our range) are adopted,
 * i.e. from now on known as if installed here; SAs of other owners are
 * never looked at beyond their reqid. fn returning non-zero stops the walk.
 */
int ipsec_backend_list(struct ipsec_backend *b,
		       int (*fn)(void *arg, const struct ipsec_sa_set *set), void *arg);

/* The set `id` as installed, or NULL. */
const struct ipsec_sa_set *ipsec_backend_set(const struct ipsec_backend *b, uint32_t id);

struct ipsec_sa_counters {
	uint64_t packets; /* protected packets sent (out) or accepted (in) */
	uint64_t bytes;   /* bytes they protected (transport header and payload) */
	uint64_t replay;  /* inbound drops: duplicate or left of the window */
	uint64_t auth;    /* inbound drops: ICV mismatch */
	uint64_t other;   /* inbound drops for any other reason */
	uint32_t seq;     /* outbound: the last sequence number sent (what a restored
			   * set must continue after, ipsec_set_params.seq_start) */
};

/*
 * Whether an inbound ESP SA to our address dst already uses spi, whoever
 * installed it (xfrm: asks the kernel, so other IKE daemons' SAs count).
 * Returns 1, 0, or a negative errno.
 */
int ipsec_backend_spi_in_use(struct ipsec_backend *b, const struct ipsec_addr *dst, uint32_t spi);

/*
 * The allocator's SPI veto for one local address, so that SPIs are unique
 * among everything the host holds, not only among simreg's:
 *
 *     struct ipsec_spi_veto v = { backend, local_addr };
 *     struct ipsec_alloc_seam seam = { .spi_usable = ipsec_spi_veto, .ctx = &v };
 *
 * An error asking the kernel counts as "not usable" (another SPI is drawn).
 */
struct ipsec_spi_veto {
	struct ipsec_backend *b;
	struct ipsec_addr local;
};
bool ipsec_spi_veto(void *ctx, uint32_t spi);

/* Counters of SA1..SA4 of set `id` (out[0] is SA1). -ENOENT if unknown. */
int ipsec_backend_counters(struct ipsec_backend *b, uint32_t id,
			   struct ipsec_sa_counters out[IPSEC_SET_SAS]);

/*
 * What the backend did with the packets it handled itself (userspace; the
 * xfrm backend's are all 0: the kernel counts per SA). The SA counters
 * (ipsec_backend_counters()) count both protocols together.
 */
struct ipsec_backend_stats {
	uint64_t udp_in;      /* datagrams decrypted and queued to an endpoint */
	uint64_t udp_out;     /* datagrams sent over an SA */
	uint64_t udp_dropped; /* decrypted but refused: outside the SA's selectors, bad length or
			       * checksum, no endpoint on the port, the endpoint's queue full */
	uint64_t tcp_in;      /* segments decrypted and written into the TUN */
	uint64_t tcp_out;     /* segments read from the TUN and sent over an SA */
	uint64_t tcp_dropped; /* from the TUN: no SA selects them (nothing leaves in the clear),
			       * or not TCP; decrypted: outside the SA's selectors, too short,
			       * no TUN, the TUN full */
	uint64_t unknown_spi; /* ESP to an SPI of no SA of ours */
	uint64_t malformed;   /* not ESP over IPv4/IPv6 as a raw socket delivers it */
};

/* Copy the backend's counters into *out. */
void ipsec_backend_stats(const struct ipsec_backend *b, struct ipsec_backend_stats *out);

/*
 * ipsec_backend_tcp_bind
 *	Make a TCP socket one the SAs carry: a listener on a protected server
 *	port (port_s) or a connection from a protected client port (port_c).
 *	Call it on the new socket before bind(), listen() or connect().
 *	  xfrm       nothing to do: the kernel's policies select TCP as they
 *	             select UDP (an SA's selectors name no protocol);
 *	  userspace  binds the socket to the backend's TUN device
 *	             (SO_BINDTODEVICE; the device is made on the first call,
 *	             which needs CAP_NET_ADMIN, see tun.h). Its segments leave
 *	             into the TUN, where the backend sends each through the SA
 *	             whose selectors match (none: dropped and counted); it
 *	             accepts only what the backend decrypted and wrote into the
 *	             TUN, so a cleartext connection to the port is refused.
 *	fd : a TCP socket (IPv4 or IPv6); borrowed, the caller closes it
 * Returns 0, -ENOTSOCK or -EBADF (fd is no socket), -EPROTOTYPE (not TCP),
 * -ENOTSUP (userspace without a TUN device: ipsec.tun is empty, or it could
 * not be made, which the log says once, with the reason; UDP is not
 * affected), or the errno of SO_BINDTODEVICE.
 */
int ipsec_backend_tcp_bind(struct ipsec_backend *b, int fd);

/*
 * Descriptors the event loop must watch for input, then call
 * ipsec_backend_input() with the one that is readable. Returns how many
 * were stored (0 for xfrm). The set grows when the userspace backend makes
 * its TUN device: a caller that polls by itself asks again after
 * ipsec_backend_tcp_bind(); ipsec_backend_attach() follows by itself.
 */
size_t ipsec_backend_fds(const struct ipsec_backend *b, int *fds, size_t cap);
/* Process everything readable on fd (non-blocking). 0 or a negative errno. */
int ipsec_backend_input(struct ipsec_backend *b, int fd);

struct loop;

/*
 * Let the event loop drive the backend: watch its descriptors and call
 * ipsec_backend_input() whenever one is readable (a no-op for xfrm, which
 * has none), including one the backend opens later (the userspace
 * backend's TUN). Endpoints are watched by their users as before.
 * Returns 0, -EEXIST if attached already, or loop_io_add()'s error (nothing
 * stays watched). ipsec_backend_close() detaches.
 */
int ipsec_backend_attach(struct ipsec_backend *b, struct loop *loop);
void ipsec_backend_detach(struct ipsec_backend *b);

/* How an inbound datagram reached an endpoint. */
struct ipsec_dgram_info {
	struct ipsec_addr src;
	struct ipsec_addr dst;
	uint16_t sport;
	uint16_t dport;
	uint32_t set_id;  /* 0: matched no installed set */
	uint8_t sa_index; /* 1..4, 0 with set_id 0 */
};

/*
 * Open the protected port `port` on local address `local`. Returns 0 and
 * *out, -EADDRINUSE if already open here or bound by someone else, -ENOMEM.
 */
int ipsec_endpoint_open(struct ipsec_backend *b, const struct ipsec_addr *local, uint16_t port,
			struct ipsec_endpoint **out);
void ipsec_endpoint_close(struct ipsec_endpoint *ep);

/* Readable when a datagram waits. */
int ipsec_endpoint_fd(const struct ipsec_endpoint *ep);

/*
 * Send one UDP payload from the endpoint to to:port over the installed SA
 * with those selectors. Returns 0, -ENOENT when no installed SA matches
 * (nothing is sent in the clear), -EMSGSIZE, -EOVERFLOW (the SA's sequence
 * numbers are spent), or a socket errno.
 */
int ipsec_endpoint_send(struct ipsec_endpoint *ep, const struct ipsec_addr *to, uint16_t port,
			const void *buf, size_t len);

/*
 * Receive one datagram (non-blocking). Returns its length, -EAGAIN when
 * none waits, -EMSGSIZE if it did not fit in cap (it is dropped), or a
 * socket errno; *info (written only when a datagram is returned) says where
 * it came from and over which SA.
 */
ssize_t ipsec_endpoint_recv(struct ipsec_endpoint *ep, void *buf, size_t cap,
			    struct ipsec_dgram_info *info);

#endif
