#include "ipsec/alloc.h"

#include <errno.h>
#include <openssl/rand.h>
#include <string.h>

/* Random draws before falling back to a scan of the whole range. */
#define RANDOM_TRIES 32

struct port_key {
	uint8_t peer[16];
	uint16_t port;
	uint8_t family;
	uint8_t zero;
};

static void *const IN_USE = (void *)1;

static uint32_t default_random32(void *ctx)
{
	uint32_t r = 0;

	/* RAND_bytes only fails without entropy; a zero still works, just badly. */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	return r;
}

int ipsec_alloc_init(struct ipsec_alloc *a, const struct ipsec_alloc_config *cfg,
		     const struct ipsec_alloc_seam *seam)
{
	struct ipsec_alloc_config c = cfg ? *cfg : IPSEC_ALLOC_CONFIG_DEFAULT;

	if (c.spi_min < 256 || c.spi_max < c.spi_min || c.port_min == 0 ||
	    c.port_max < c.port_min || (c.spi_max == c.spi_min) || c.port_max == c.port_min)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->cfg = c;
	if (seam)
		a->seam = *seam;
	if (!a->seam.random32)
		a->seam.random32 = default_random32;
	ipsec_table_init(&a->spis, sizeof(uint32_t));
	ipsec_table_init(&a->ports, sizeof(struct port_key));
	return 0;
}

void ipsec_alloc_destroy(struct ipsec_alloc *a)
{
	ipsec_table_free(&a->spis);
	ipsec_table_free(&a->ports);
}

static struct port_key port_key(const struct ipsec_addr *peer, uint16_t port)
{
	struct port_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.peer, peer->b, ipsec_addr_len(peer));
	k.family = (uint8_t)peer->family;
	k.port = port;
	return k;
}

bool ipsec_alloc_spi_in_use(const struct ipsec_alloc *a, uint32_t spi)
{
	return ipsec_table_get(&a->spis, &spi) != NULL;
}

bool ipsec_alloc_port_in_use(const struct ipsec_alloc *a, const struct ipsec_addr *peer,
			     uint16_t port)
{
	struct port_key k = port_key(peer, port);

	return ipsec_table_get(&a->ports, &k) != NULL;
}

size_t ipsec_alloc_spi_count(const struct ipsec_alloc *a)
{
	return a->spis.count;
}

size_t ipsec_alloc_port_count(const struct ipsec_alloc *a)
{
	return a->ports.count;
}

/* Uniform enough in [min, max] for ranges below 2^32: multiply-shift. */
static uint32_t draw(struct ipsec_alloc *a, uint32_t min, uint32_t max)
{
	uint64_t range = (uint64_t)max - min + 1;

	return min + (uint32_t)(((uint64_t)a->seam.random32(a->seam.ctx) * range) >> 32);
}

static bool spi_free(struct ipsec_alloc *a, uint32_t spi, uint32_t avoid)
{
	return spi != avoid && !ipsec_alloc_spi_in_use(a, spi) &&
	       (!a->seam.spi_usable || a->seam.spi_usable(a->seam.ctx, spi));
}

/*
 * A free SPI: random draws first, so values are unpredictable and a value
 * just released is unlikely to come back soon; a scan from a random point
 * then guarantees success while the range has room.
 */
static int spi_take(struct ipsec_alloc *a, uint32_t avoid, uint32_t *out)
{
	uint32_t min = a->cfg.spi_min, max = a->cfg.spi_max, v;
	uint64_t range = (uint64_t)max - min + 1;
	int ret;

	for (int i = 0; i < RANDOM_TRIES; i++) {
		v = draw(a, min, max);
		if (spi_free(a, v, avoid))
			goto found;
	}
	if (a->spis.count >= range)
		return -ENOSPC;
	v = draw(a, min, max);
	for (uint64_t n = 0; n < range; n++) {
		if (spi_free(a, v, avoid))
			goto found;
		v = v == max ? min : v + 1;
	}
	return -ENOSPC;
found:
	ret = ipsec_table_add(&a->spis, &v, IN_USE);
	if (ret)
		return ret;
	*out = v;
	return 0;
}

static void spi_put(struct ipsec_alloc *a, uint32_t spi)
{
	ipsec_table_del(&a->spis, &spi);
}

static bool port_free(struct ipsec_alloc *a, const struct ipsec_addr *peer, uint16_t port,
		      uint16_t avoid)
{
	return port != avoid && !ipsec_alloc_port_in_use(a, peer, port) &&
	       (!a->seam.port_usable || a->seam.port_usable(a->seam.ctx, peer, port));
}

/* Add one reference to (peer, port). */
static int port_hold(struct ipsec_alloc *a, const struct ipsec_addr *peer, uint16_t port)
{
	struct port_key k = port_key(peer, port);
	void **ref = ipsec_table_ref(&a->ports, &k);

	if (ref) {
		*ref = (void *)((uintptr_t)*ref + 1);
		return 0;
	}
	return ipsec_table_add(&a->ports, &k, IN_USE);
}

static int port_put(struct ipsec_alloc *a, const struct ipsec_addr *peer, uint16_t port)
{
	struct port_key k = port_key(peer, port);
	void **ref = ipsec_table_ref(&a->ports, &k);

	if (!ref)
		return -ENOENT;
	if (*ref == IN_USE)
		ipsec_table_del(&a->ports, &k);
	else
		*ref = (void *)((uintptr_t)*ref - 1);
	return 0;
}

static int port_take(struct ipsec_alloc *a, const struct ipsec_addr *peer, uint16_t avoid,
		     uint16_t *out)
{
	uint16_t min = a->cfg.port_min, max = a->cfg.port_max, v;
	uint32_t range = (uint32_t)max - min + 1;

	for (int i = 0; i < RANDOM_TRIES; i++) {
		v = (uint16_t)draw(a, min, max);
		if (port_free(a, peer, v, avoid))
			goto found;
	}
	v = (uint16_t)draw(a, min, max);
	for (uint32_t n = 0; n < range; n++) {
		if (port_free(a, peer, v, avoid))
			goto found;
		v = v == max ? min : (uint16_t)(v + 1);
	}
	return -ENOSPC;
found:
	*out = v;
	return port_hold(a, peer, v);
}

static int alloc_half(struct ipsec_alloc *a, const struct ipsec_addr *peer,
		      const uint16_t *keep_port_s, struct ipsec_sec_params *out)
{
	struct ipsec_sec_params s = { 0 };
	int ret;

	ret = spi_take(a, 0, &s.spi_c);
	if (ret)
		goto out;
	ret = spi_take(a, s.spi_c, &s.spi_s);
	if (ret)
		goto put_spi_c;
	if (keep_port_s) {
		s.port_s = *keep_port_s;
		ret = port_hold(a, peer, s.port_s);
	} else {
		ret = port_take(a, peer, 0, &s.port_s);
	}
	if (ret)
		goto put_spi_s;
	ret = port_take(a, peer, s.port_s, &s.port_c);
	if (ret)
		goto put_port_s;
	*out = s;
	return 0;

put_port_s:
	port_put(a, peer, s.port_s);
put_spi_s:
	spi_put(a, s.spi_s);
put_spi_c:
	spi_put(a, s.spi_c);
out:
	return ret;
}

int ipsec_alloc_local(struct ipsec_alloc *a, const struct ipsec_addr *peer,
		      struct ipsec_sec_params *out)
{
	return alloc_half(a, peer, NULL, out);
}

int ipsec_alloc_renew(struct ipsec_alloc *a, const struct ipsec_addr *peer,
		      const struct ipsec_sec_params *old, struct ipsec_sec_params *out)
{
	if (!ipsec_alloc_port_in_use(a, peer, old->port_s))
		return -ENOENT;
	return alloc_half(a, peer, &old->port_s, out);
}

int ipsec_alloc_reserve(struct ipsec_alloc *a, const struct ipsec_addr *peer,
			const struct ipsec_sec_params *in)
{
	int ret;

	if (in->spi_c == in->spi_s || in->port_c == in->port_s)
		return -EINVAL;
	if (ipsec_alloc_spi_in_use(a, in->spi_c) || ipsec_alloc_spi_in_use(a, in->spi_s))
		return -EEXIST;
	ret = ipsec_table_add(&a->spis, &in->spi_c, IN_USE);
	if (ret)
		goto out;
	ret = ipsec_table_add(&a->spis, &in->spi_s, IN_USE);
	if (ret)
		goto put_spi_c;
	ret = port_hold(a, peer, in->port_c);
	if (ret)
		goto put_spi_s;
	ret = port_hold(a, peer, in->port_s);
	if (ret)
		goto put_port_c;
	return 0;

put_port_c:
	port_put(a, peer, in->port_c);
put_spi_s:
	spi_put(a, in->spi_s);
put_spi_c:
	spi_put(a, in->spi_c);
out:
	return ret;
}

int ipsec_alloc_release(struct ipsec_alloc *a, const struct ipsec_addr *peer,
			const struct ipsec_sec_params *in)
{
	if (in->spi_c == in->spi_s || in->port_c == in->port_s ||
	    !ipsec_alloc_spi_in_use(a, in->spi_c) || !ipsec_alloc_spi_in_use(a, in->spi_s) ||
	    !ipsec_alloc_port_in_use(a, peer, in->port_c) ||
	    !ipsec_alloc_port_in_use(a, peer, in->port_s))
		return -ENOENT;
	spi_put(a, in->spi_c);
	spi_put(a, in->spi_s);
	port_put(a, peer, in->port_c);
	port_put(a, peer, in->port_s);
	return 0;
}
