#include "ipsec/sa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

int ipsec_addr_parse(const char *text, struct ipsec_addr *out)
{
	struct ipsec_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &a.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, &a.v6) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}

const char *ipsec_addr_str(const struct ipsec_addr *a, char *buf)
{
	if (!inet_ntop(a->family, a->b, buf, IPSEC_ADDR_STRLEN))
		strcpy(buf, "?");
	return buf;
}

size_t ipsec_addr_len(const struct ipsec_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

bool ipsec_addr_eq(const struct ipsec_addr *a, const struct ipsec_addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, ipsec_addr_len(a)) == 0;
}

const char *ipsec_side_name(enum ipsec_side side)
{
	return side == IPSEC_SIDE_UE ? "ue" : "pcscf";
}

/*
 * The four announced (port, SPI) pairs. Each receiving port has the SPI its
 * owner announced next to it: spi-c goes with port-c and spi-s with port-s
 * (24.229 §5.1.1.2.1, RFC 3329 Annex H). So an SA is fully named by its two
 * ports: the SPI is the one announced with the destination port.
 */
enum endpoint {
	EP_UC, /* UE, port-c, spi-c of Security-Client */
	EP_US, /* UE, port-s, spi-s of Security-Client */
	EP_PC, /* P-CSCF, port-c, spi-c of Security-Server */
	EP_PS, /* P-CSCF, port-s, spi-s of Security-Server */
};

/* 33.203 §7.1; the same rows as tests/data/ipsec/ipsec_sa_table.tsv. */
static const struct {
	enum endpoint from, to;
} sa_layout[IPSEC_SET_SAS] = {
	{ EP_UC, EP_PS }, /* SA1: UE requests */
	{ EP_PC, EP_US }, /* SA2: P-CSCF requests */
	{ EP_PS, EP_UC }, /* SA3: responses to SA1 */
	{ EP_US, EP_PC }, /* SA4: responses to SA2 */
};

static bool ep_is_ue(enum endpoint e)
{
	return e == EP_UC || e == EP_US;
}

static uint16_t ep_port(const struct ipsec_set_params *p, enum endpoint e)
{
	switch (e) {
	case EP_UC: return p->client.port_c;
	case EP_US: return p->client.port_s;
	case EP_PC: return p->server.port_c;
	default: return p->server.port_s;
	}
}

static uint32_t ep_spi(const struct ipsec_set_params *p, enum endpoint e)
{
	switch (e) {
	case EP_UC: return p->client.spi_c;
	case EP_US: return p->client.spi_s;
	case EP_PC: return p->server.spi_c;
	default: return p->server.spi_s;
	}
}

static bool addr_usable(const struct ipsec_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET)
		return a->v4.s_addr != 0 && !IN_MULTICAST(ntohl(a->v4.s_addr)) &&
		       a->v4.s_addr != INADDR_BROADCAST;
	if (a->family == AF_INET6)
		return memcmp(a->b, zero, 16) != 0 && !IN6_IS_ADDR_MULTICAST(&a->v6);
	return false;
}

/* RFC 4303 §2.1: SPI 0 is reserved for local use, 1..255 by IANA. */
static bool spi_usable(uint32_t spi)
{
	return spi > 255;
}

static bool sec_params_valid(const struct ipsec_sec_params *s)
{
	return spi_usable(s->spi_c) && spi_usable(s->spi_s) && s->spi_c != s->spi_s &&
	       s->port_c != 0 && s->port_s != 0 && s->port_c != s->port_s;
}

static bool params_valid(const struct ipsec_set_params *p)
{
	if (!addr_usable(&p->ue) || !addr_usable(&p->pcscf) || p->ue.family != p->pcscf.family)
		return false;
	if (!sec_params_valid(&p->client) || !sec_params_valid(&p->server))
		return false;
	/* The names are NULL for an algorithm out of range. */
	if (!esp_auth_alg_name(p->keys.auth) || !esp_enc_alg_name(p->keys.enc))
		return false;
	return p->keys.ik_len == esp_auth_key_len(p->keys.auth) &&
	       p->keys.ck_len == esp_enc_key_len(p->keys.enc);
}

int ipsec_sa_set_build(struct ipsec_sa_set *set, enum ipsec_side side,
		       const struct ipsec_set_params *p)
{
	struct ipsec_sa_set s;

	if ((side != IPSEC_SIDE_UE && side != IPSEC_SIDE_PCSCF) || !params_valid(p))
		return -EINVAL;

	memset(&s, 0, sizeof(s));
	s.side = side;
	s.p = *p;
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		struct ipsec_sa *sa = &s.sa[i];
		enum endpoint from = sa_layout[i].from, to = sa_layout[i].to;
		bool from_self = ep_is_ue(from) == (side == IPSEC_SIDE_UE);

		sa->index = (uint8_t)(i + 1);
		sa->dir = from_self ? IPSEC_DIR_OUT : IPSEC_DIR_IN;
		sa->src = ep_is_ue(from) ? p->ue : p->pcscf;
		sa->dst = ep_is_ue(to) ? p->ue : p->pcscf;
		sa->sport = ep_port(p, from);
		sa->dport = ep_port(p, to);
		sa->spi = ep_spi(p, to);
	}
	*set = s;
	OPENSSL_cleanse(&s, sizeof(s));
	return 0;
}

const struct ipsec_sa *ipsec_sa_set_match(const struct ipsec_sa_set *set,
					  const struct ipsec_addr *src, uint16_t sport,
					  const struct ipsec_addr *dst, uint16_t dport)
{
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		const struct ipsec_sa *sa = &set->sa[i];

		if (sa->sport == sport && sa->dport == dport && ipsec_addr_eq(&sa->src, src) &&
		    ipsec_addr_eq(&sa->dst, dst))
			return sa;
	}
	return NULL;
}

const struct ipsec_addr *ipsec_sa_set_local(const struct ipsec_sa_set *set)
{
	return set->side == IPSEC_SIDE_UE ? &set->p.ue : &set->p.pcscf;
}

const struct ipsec_addr *ipsec_sa_set_remote(const struct ipsec_sa_set *set)
{
	return set->side == IPSEC_SIDE_UE ? &set->p.pcscf : &set->p.ue;
}

void ipsec_sa_set_wipe(struct ipsec_sa_set *set)
{
	OPENSSL_cleanse(&set->p.keys, sizeof(set->p.keys));
}
