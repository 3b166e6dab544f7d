/*
 * sa.h - the SA set of one registration (TS 33.203 §7.1, RFC 3329).
 *
 * Each side announces the SPIs it wants to *receive* on and its protected
 * ports: the UE in Security-Client (spi-c = spi_uc, spi-s = spi_us,
 * port-c = port_uc, port-s = port_us), the P-CSCF in Security-Server
 * (spi_pc, spi_ps, port_pc, port_ps). From those eight numbers, the two
 * addresses, one algorithm pair and one key pair follow four unidirectional
 * transport-mode ESP SAs:
 *
 *              UE                                  P-CSCF
 *      port_uc  ---- SA1, SPI spi_ps ---------->  port_ps
 *      port_uc  <--- SA3, SPI spi_uc -----------  port_ps
 *      port_us  <--- SA2, SPI spi_us -----------  port_pc
 *      port_us  ---- SA4, SPI spi_pc ---------->  port_pc
 *
 * SA1/SA3 carry the UE's requests and their responses, SA2/SA4 the P-CSCF's
 * requests (terminating INVITE, NOTIFY) and their responses. The SPI in an
 * ESP header is always one the receiver chose. All four SAs share IK_ESP,
 * CK_ESP, alg and ealg; their selectors are addresses and ports, shared by
 * UDP and TCP. tests/data/ipsec/ipsec_sa_table.tsv is the reference. The
 * keys come expanded from lib/aka (esp_keys_derive(), 33.203 Annex I).
 *
 * A struct ipsec_sa_set is plain data: it holds keys but no resources, so
 * copying one is fine; ipsec_sa_set_wipe() erases the keys of a copy that is
 * no longer needed.
 */
#ifndef SIMREG_IPSEC_SA_H
#define SIMREG_IPSEC_SA_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "aka/esp_keys.h"

/* An IPv4 or IPv6 address; family is AF_INET or AF_INET6. */
struct ipsec_addr {
	sa_family_t family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	};
};

#define IPSEC_ADDR_STRLEN INET6_ADDRSTRLEN

/* Parse a literal address ("198.18.0.1", "2001:db8::1"). -EINVAL otherwise. */
int ipsec_addr_parse(const char *text, struct ipsec_addr *out);
/* Print into buf (IPSEC_ADDR_STRLEN bytes); returns buf. */
const char *ipsec_addr_str(const struct ipsec_addr *a, char *buf);
bool ipsec_addr_eq(const struct ipsec_addr *a, const struct ipsec_addr *b);
/* Bytes of the address proper: 4 or 16. */
size_t ipsec_addr_len(const struct ipsec_addr *a);

/* What one Security-Client or Security-Server entry announces. */
struct ipsec_sec_params {
	uint32_t spi_c;
	uint32_t spi_s;
	uint16_t port_c;
	uint16_t port_s;
};

/* Everything an SA set is built from. */
struct ipsec_set_params {
	struct ipsec_addr ue;
	struct ipsec_addr pcscf;
	struct ipsec_sec_params client; /* UE: spi_uc, spi_us, port_uc, port_us */
	struct ipsec_sec_params server; /* P-CSCF: spi_pc, spi_ps, port_pc, port_ps */
	struct esp_keys keys; /* alg, ealg, IK_ESP, CK_ESP (lib/aka, Annex I) */
	/*
	 * Outbound SAs of a set restored after a restart: the last
	 * sequence number sent before, indexed like ipsec_sa_set.sa (SA n
	 * at [n - 1]); numbering continues after it,
	 * because the peer's replay window still remembers the numbers it
	 * saw (RFC 4303 §3.3.3). All zero for a new set; inbound entries
	 * are ignored. The xfrm backend keeps its SAs in the kernel across a
	 * restart; when it installs a set again (the kernel lost it), the
	 * kernel's counter starts here too.
	 */
	uint32_t seq_start[4];
};

enum ipsec_side {
	IPSEC_SIDE_UE,
	IPSEC_SIDE_PCSCF,
};

/* Direction of an SA as seen from the side that holds the set. */
enum ipsec_dir {
	IPSEC_DIR_IN,
	IPSEC_DIR_OUT,
};

struct ipsec_sa {
	uint8_t index; /* 1..4, the numbering of 33.203 §7.1 */
	enum ipsec_dir dir;
	struct ipsec_addr src;
	struct ipsec_addr dst;
	uint16_t sport;
	uint16_t dport;
	uint32_t spi; /* chosen by the receiver (dst) */
};

#define IPSEC_SET_SAS 4

struct ipsec_sa_set {
	uint32_t id;   /* given by the backend on install; 0 = not installed */
	uint32_t reqid; /* xfrm: reqid of SA1; SA n uses reqid + n - 1 */
	enum ipsec_side side;
	struct ipsec_set_params p;
	struct ipsec_sa sa[IPSEC_SET_SAS]; /* sa[0] is SA1 */
};

/*
 * Build the four SAs from p as seen by `side`.
 *
 * p is validated first: both addresses of one family and neither
 * unspecified nor multicast; no SPI in 0..255 (reserved, RFC 4303 §2.1);
 * the two SPIs one side receives on distinct (it could not tell its SAs
 * apart otherwise); no port 0; port-c != port-s on either side; alg and
 * ealg known; key lengths those of alg/ealg (as esp_keys_derive() makes
 * them).
 *
 * Returns 0 with *set filled (id and reqid 0), or -EINVAL with *set
 * untouched. Does not allocate.
 */
int ipsec_sa_set_build(struct ipsec_sa_set *set, enum ipsec_side side,
		       const struct ipsec_set_params *p);

/* The SA n (1..4) of the set. */
static inline const struct ipsec_sa *ipsec_sa_set_sa(const struct ipsec_sa_set *set, unsigned n)
{
	return &set->sa[n - 1];
}

/*
 * The SA of this set that carries a datagram from src:sport to dst:dport,
 * or NULL. Used by transports to pick the outbound SA of a send and to name
 * the SA an inbound datagram came over.
 */
const struct ipsec_sa *ipsec_sa_set_match(const struct ipsec_sa_set *set,
					  const struct ipsec_addr *src, uint16_t sport,
					  const struct ipsec_addr *dst, uint16_t dport);

/* This side's own address and the peer's. */
const struct ipsec_addr *ipsec_sa_set_local(const struct ipsec_sa_set *set);
const struct ipsec_addr *ipsec_sa_set_remote(const struct ipsec_sa_set *set);

/* Erase the keys (OPENSSL_cleanse); the rest of the set stays readable. */
void ipsec_sa_set_wipe(struct ipsec_sa_set *set);

const char *ipsec_side_name(enum ipsec_side side);

#endif
