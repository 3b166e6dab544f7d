/*
 * backend_impl.h - what the two backends share; not for users of lib/ipsec.
 *
 * backend.c keeps the bookkeeping common to both (set ids, the copy of each
 * installed set, the selector index, the key log) and calls the backend's
 * operations for what differs.
 */
#ifndef SIMREG_IPSEC_BACKEND_IMPL_H
#define SIMREG_IPSEC_BACKEND_IMPL_H

#include <stdio.h>

#include "core/loop.h"
#include "ipsec/backend.h"
#include "ipsec/table.h"

#define IPSEC_BACKEND_FDS 3 /* userspace: raw IPv4, raw IPv6, TUN */

struct ipsec_backend_ops {
	enum ipsec_backend_kind kind;
	/* Install / remove the SAs of a validated set with id and reqid assigned. */
	int (*install)(struct ipsec_backend *b, const struct ipsec_sa_set *set);
	int (*remove)(struct ipsec_backend *b, const struct ipsec_sa_set *set);
	/*
	 * Report sets that exist outside this process's memory (xfrm: in the
	 * kernel) through found(); NULL when a backend has none.
	 */
	int (*scan)(struct ipsec_backend *b,
		    int (*found)(struct ipsec_backend *b, const struct ipsec_sa_set *set));
	int (*counters)(struct ipsec_backend *b, const struct ipsec_sa_set *set,
			struct ipsec_sa_counters out[IPSEC_SET_SAS]);
	/* 1 if an ESP SA to dst with this SPI exists (anybody's), 0 if not, or -errno. */
	int (*spi_in_use)(struct ipsec_backend *b, const struct ipsec_addr *dst, uint32_t spi);
	size_t (*fds)(const struct ipsec_backend *b, int *fds, size_t cap);
	int (*input)(struct ipsec_backend *b, int fd);
	int (*ep_open)(struct ipsec_backend *b, const struct ipsec_addr *local, uint16_t port,
		       struct ipsec_endpoint **out);
	void (*ep_close)(struct ipsec_endpoint *ep);
	int (*ep_send)(struct ipsec_endpoint *ep, const struct ipsec_addr *to, uint16_t port,
		       const void *buf, size_t len);
	ssize_t (*ep_recv)(struct ipsec_endpoint *ep, void *buf, size_t cap,
			   struct ipsec_dgram_info *info);
	/* NULL: nothing to do (xfrm). */
	int (*tcp_bind)(struct ipsec_backend *b, int fd);
	/* NULL: all 0. */
	void (*stats)(const struct ipsec_backend *b, struct ipsec_backend_stats *out);
	void (*destroy)(struct ipsec_backend *b);
};

struct ipsec_backend {
	const struct ipsec_backend_ops *ops;
	struct ipsec_config cfg;
	uint32_t reqid_base; /* the tag in bits 31:24 */
	struct ipsec_table sets;      /* u32 id -> struct ipsec_sa_set * (malloc'd) */
	struct ipsec_table selectors; /* struct ipsec_sel_key -> struct ipsec_sa_set * */
	uint32_t next_id;
	FILE *keylog;
	struct loop *loop; /* when attached */
	struct loop_io io[IPSEC_BACKEND_FDS];
	size_t nio;
};

struct ipsec_endpoint {
	struct ipsec_backend *b;
	struct ipsec_addr local;
	uint16_t port;
	int fd;
};

/* Key of the selector index: one SA's addresses and ports. */
struct ipsec_sel_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
	uint8_t zero[3];
};

void ipsec_sel_key_make(struct ipsec_sel_key *k, const struct ipsec_addr *src, uint16_t sport,
			const struct ipsec_addr *dst, uint16_t dport);

/* The installed SA that carries src:sport -> dst:dport, and its set; or NULL. */
const struct ipsec_sa *ipsec_backend_match(const struct ipsec_backend *b,
					   const struct ipsec_addr *src, uint16_t sport,
					   const struct ipsec_addr *dst, uint16_t dport,
					   const struct ipsec_sa_set **set);

/*
 * Watch fd too, when attached to a loop (a descriptor the backend opened
 * after ipsec_backend_attach()). 0, -ENOSPC, or loop_io_add()'s error.
 */
int ipsec_backend_watch(struct ipsec_backend *b, int fd);

/* reqid of SA n of a set (see backend.h), and the reverse. */
uint32_t ipsec_reqid(const struct ipsec_backend *b, uint32_t set_id, enum ipsec_side side,
		     unsigned n);
bool ipsec_reqid_owned(const struct ipsec_backend *b, uint32_t reqid, uint32_t *set_id,
		       enum ipsec_side *side, unsigned *n);

/* Constructors of the two implementations (cfg already validated). */
int ipsec_userspace_create(const struct ipsec_config *cfg, struct ipsec_backend **out);
int ipsec_xfrm_create(const struct ipsec_config *cfg, struct ipsec_backend **out);
/* The kernel half of the probe, run inside the scratch namespace. */
int ipsec_xfrm_probe_here(char *msg, size_t cap);

/* Internet checksum of a UDP datagram with its pseudo-header (RFC 768, RFC 8200 §8.1). */
uint16_t ipsec_udp_checksum(const struct ipsec_addr *src, const struct ipsec_addr *dst,
			    const uint8_t *udp, size_t len);

#endif
