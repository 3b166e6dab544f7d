/*
 * alloc.h - SPIs and protected ports for the local half of SA sets.
 *
 * Each side picks the SPIs it receives on and its protected ports (33.203
 * §7.1): the UE spi_uc, spi_us, port_uc, port_us; the P-CSCF spi_pc,
 * spi_ps, port_pc, port_ps.
 *
 * SPIs: an inbound SA is found by its SPI alone (RFC 4303 §2.1; our
 * destination address is fixed), so an SPI is unique among everything this
 * host holds. They are drawn at random from a configurable range: a fresh
 * SPI is not guessable, a value still in use is never handed out again, and
 * no fixed pool caps the number of sets (a P-CSCF holds 100,000
 * registrations, i.e. 200,000 inbound SPIs).
 *
 * Ports: 100,000 registrations cannot each have their own ports (there are
 * 65,535), and they need not: an SA's selectors are both addresses and both
 * ports, so a port pair is unique *per peer address*. Two sets towards the
 * same peer (two registrations from one UE address, or a re-registration
 * while the old set lives) get different port_c; port_s may be kept on
 * re-registration (33.203 §7.4, 34.229 TC 8.2), so ports are reference
 * counted.
 *
 * Nothing here talks to the kernel: backends that share the SPI space with
 * others (xfrm) pass a veto in the seam, and reserve() adopts what a
 * restart found installed.
 */
#ifndef SIMREG_IPSEC_ALLOC_H
#define SIMREG_IPSEC_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/sa.h"
#include "ipsec/table.h"

/* Injectable randomness and vetoes, for deterministic tests and backends. */
struct ipsec_alloc_seam {
	/* 32 random bits. NULL: OpenSSL's DRBG. */
	uint32_t (*random32)(void *ctx);
	/* Optional: false if the SPI is taken outside this allocator. */
	bool (*spi_usable)(void *ctx, uint32_t spi);
	/* Optional: false if the port cannot be bound for this peer. */
	bool (*port_usable)(void *ctx, const struct ipsec_addr *peer, uint16_t port);
	void *ctx;
};

struct ipsec_alloc_config {
	uint32_t spi_min; /* at least 256 (RFC 4303 §2.1) */
	uint32_t spi_max;
	uint16_t port_min;
	uint16_t port_max;
};

/* SPIs 0x00010000..0xffffffff, ports 10000..32767 (below Linux's ephemeral range). */
#define IPSEC_ALLOC_CONFIG_DEFAULT \
	((struct ipsec_alloc_config){ 0x00010000u, 0xffffffffu, 10000, 32767 })

struct ipsec_alloc {
	struct ipsec_alloc_config cfg;
	struct ipsec_alloc_seam seam;
	struct ipsec_table spis;  /* key: u32 SPI */
	struct ipsec_table ports; /* key: (peer, port) -> reference count */
};

/*
 * cfg NULL: IPSEC_ALLOC_CONFIG_DEFAULT; seam NULL: system RNG, no vetoes.
 * Returns 0 or -EINVAL (a range that is empty or reaches below 256 / to 0).
 */
int ipsec_alloc_init(struct ipsec_alloc *a, const struct ipsec_alloc_config *cfg,
		     const struct ipsec_alloc_seam *seam);
void ipsec_alloc_destroy(struct ipsec_alloc *a);

/*
 * The local half of a new set towards `peer`: two fresh SPIs (spi_c !=
 * spi_s), two ports not in use towards peer (port_c != port_s).
 * Returns 0 with *out filled, -ENOSPC when a range is exhausted, -ENOMEM;
 * on error nothing stays allocated.
 */
int ipsec_alloc_local(struct ipsec_alloc *a, const struct ipsec_addr *peer,
		      struct ipsec_sec_params *out);

/*
 * The same for a re-registration of the flow that holds `old`: fresh SPIs
 * and port_c, port_s kept (its reference count grows).
 */
int ipsec_alloc_renew(struct ipsec_alloc *a, const struct ipsec_addr *peer,
		      const struct ipsec_sec_params *old, struct ipsec_sec_params *out);

/*
 * Mark a local half as in use, e.g. a set adopted after a restart.
 * -EEXIST if one of its SPIs is in use (nothing changes); its ports may
 * already be held (shared port_s).
 */
int ipsec_alloc_reserve(struct ipsec_alloc *a, const struct ipsec_addr *peer,
			const struct ipsec_sec_params *in);

/*
 * Give a local half back once its set is deleted. -ENOENT if one of its
 * values is not held (nothing changes).
 */
int ipsec_alloc_release(struct ipsec_alloc *a, const struct ipsec_addr *peer,
			const struct ipsec_sec_params *in);

bool ipsec_alloc_spi_in_use(const struct ipsec_alloc *a, uint32_t spi);
bool ipsec_alloc_port_in_use(const struct ipsec_alloc *a, const struct ipsec_addr *peer,
			     uint16_t port);
size_t ipsec_alloc_spi_count(const struct ipsec_alloc *a);
size_t ipsec_alloc_port_count(const struct ipsec_alloc *a);

#endif
