/*
 * sec.c - Security-Client offers, the choice from Security-Server, and
 * the temporary SA set of a challenge.
 */
#include "ue/sec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aka/esp_keys.h"
#include "sip/msg.h"

void ue_sec_offer_drop(struct ue_sec *s, struct ipsec_alloc *al, const struct ipsec_addr *pcscf)
{
	if (!s->offer_held)
		return;
	ipsec_alloc_release(al, pcscf, &s->offer);
	s->offer_held = false;
}

int ue_sec_offer(struct ue_sec *s, struct ipsec_alloc *al, const struct ipsec_addr *pcscf,
		 const struct ue_offer *offers, size_t noffers, bool renew)
{
	struct ipsec_sec_params half;
	struct buf b;
	int rc;

	ue_sec_offer_drop(s, al, pcscf);
	if (renew && s->est.live)
		rc = ipsec_alloc_renew(al, pcscf, &s->est.set.p.client, &half);
	else
		rc = ipsec_alloc_local(al, pcscf, &half);
	if (rc)
		return rc;
	buf_init_fixed(&b, s->client, sizeof(s->client));
	for (size_t i = 0; i < noffers; i++) {
		/*
		 * 33.203 7.1: the UE lists its algorithms with the same SPIs
		 * and ports in each entry; spi-c/port-c are the client SA's
		 * receiving side (spi_uc, port_uc), spi-s/port-s the server's.
		 */
		buf_printf(&b, "%sipsec-3gpp;alg=%s;ealg=%s;spi-c=%u;spi-s=%u;port-c=%u;port-s=%u",
			   i ? ", " : "", esp_auth_alg_name((enum esp_auth_alg)offers[i].alg),
			   esp_enc_alg_name((enum esp_enc_alg)offers[i].ealg), half.spi_c,
			   half.spi_s, half.port_c, half.port_s);
	}
	if (buf_error(&b)) {
		ipsec_alloc_release(al, pcscf, &half);
		return -ENOSPC;
	}
	s->offer = half;
	s->offer_held = true;
	return 0;
}

/* The offer an entry's alg/ealg names, or -1. */
static int offer_index(const struct sip_secmech *m, const struct ue_offer *offers, size_t n)
{
	enum esp_auth_alg alg;
	enum esp_enc_alg ealg = ESP_ENC_NULL;

	if (!(m->present & SIP_SEC_ALG) || esp_auth_alg_parse(m->alg, &alg) < 0)
		return -1;
	if ((m->present & SIP_SEC_EALG) && esp_enc_alg_parse(m->ealg, &ealg) < 0)
		return -1;
	/* 33.203 Annex H: prot defaults to esp, mod to trans; nothing else is IMS. */
	if ((m->present & SIP_SEC_PROT) && !str_caseeq_cstr(m->prot, "esp"))
		return -1;
	if ((m->present & SIP_SEC_MOD) && !str_caseeq_cstr(m->mod, "trans"))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (offers[i].alg == (int)alg && offers[i].ealg == (int)ealg)
			return (int)i;
	return -1;
}

int ue_sec_read_server(struct ue_sec *s, const struct sip_msg *msg, const struct ue_offer *offers,
		       size_t noffers, const char **why)
{
	const unsigned need = SIP_SEC_SPI_C | SIP_SEC_SPI_S | SIP_SEC_PORT_C | SIP_SEC_PORT_S;
	struct buf b;
	int best = -1, best_q = -1;
	struct sip_secmech m;
	struct ipsec_sec_params server = { 0 };

	buf_init_fixed(&b, s->server_text, sizeof(s->server_text));
	sip_msg_foreach(msg, SIP_HDR_SECURITY_SERVER, h) {
		int idx, q;

		/* Security-Verify repeats every entry as received (RFC 3329 2.3.1 step 4). */
		buf_printf(&b, "%s%.*s", b.len ? ", " : "", STR_FMT(h->value));
		if (sip_secmech_parse(h->value, &m, NULL) < 0 ||
		    !str_caseeq_cstr(m.mech, "ipsec-3gpp") || (m.present & need) != need)
			continue;
		idx = offer_index(&m, offers, noffers);
		if (idx < 0)
			continue;
		q = (m.present & SIP_SEC_Q) ? m.q : 1000;
		if (q > best_q) {
			best_q = q;
			best = idx;
			server.spi_c = m.spi_c;
			server.spi_s = m.spi_s;
			server.port_c = m.port_c;
			server.port_s = m.port_s;
		}
	}
	if (buf_error(&b)) {
		*why = "Security-Server too long";
		return -EPROTO;
	}
	if (b.len == 0) {
		*why = "no Security-Server";
		return -EPROTO;
	}
	if (best < 0) {
		*why = "no complete ipsec-3gpp entry in Security-Server with an algorithm we offered";
		return -EPROTO;
	}
	s->server = server;
	s->chosen = offers[best];
	return 0;
}

int ue_sec_build_temporary(struct ue_sec *s, const struct ipsec_addr *ue,
			   const struct ipsec_addr *pcscf, const uint8_t ik[16],
			   const uint8_t ck[16])
{
	struct ipsec_set_params p;
	int rc;

	if (!s->offer_held)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.ue = *ue;
	p.pcscf = *pcscf;
	p.client = s->offer;
	p.server = s->server;
	rc = esp_keys_derive((enum esp_auth_alg)s->chosen.alg, (enum esp_enc_alg)s->chosen.ealg,
			     ik, ck, &p.keys);
	if (rc == 0)
		rc = ipsec_sa_set_build(&s->tmp.set, IPSEC_SIDE_UE, &p);
	esp_keys_wipe(&p.keys);
	if (rc)
		return rc;
	s->tmp.algs = s->chosen;
	s->tmp.temporary = true;
	s->tmp.live = false;
	memcpy(s->tmp.verify, s->server_text, sizeof(s->tmp.verify));
	s->offer_held = false;
	return 0;
}

void ue_sa_describe(const struct ue_sa *sa, struct buf *b)
{
	const struct ipsec_set_params *p = &sa->set.p;

	buf_printf(b,
		   "set %u spi_uc=%u spi_us=%u port_uc=%u port_us=%u spi_pc=%u spi_ps=%u "
		   "port_pc=%u port_ps=%u %s/%s",
		   sa->set.id, p->client.spi_c, p->client.spi_s, p->client.port_c,
		   p->client.port_s, p->server.spi_c, p->server.spi_s, p->server.port_c,
		   p->server.port_s, esp_auth_alg_name((enum esp_auth_alg)sa->algs.alg),
		   esp_enc_alg_name((enum esp_enc_alg)sa->algs.ealg));
}
