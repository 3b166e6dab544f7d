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
		 const struct ipsec_prefs *offers, bool renew)
{
	struct ipsec_mech m = { .q = IPSEC_Q_NONE };
	struct buf b;
	int rc;

	ue_sec_offer_drop(s, al, pcscf);
	if (renew && s->est.live)
		rc = ipsec_alloc_renew(al, pcscf, &s->est.set.p.client, &m.sp);
	else
		rc = ipsec_alloc_local(al, pcscf, &m.sp);
	if (rc)
		return rc;
	buf_init_fixed(&b, s->client, sizeof(s->client));
	for (unsigned i = 0; i < offers->n; i++) {
		/*
		 * 33.203 7.1: one entry per algorithm pair, all with the
		 * same SPIs and ports: spi-c/port-c receive the client SA
		 * (spi_uc, port_uc), spi-s/port-s the server SA.
		 */
		m.alg = offers->v[i].alg;
		m.ealg = offers->v[i].ealg;
		if (i)
			buf_puts(&b, ", ");
		ipsec_mech_print(&b, &m);
	}
	if (buf_error(&b)) {
		ipsec_alloc_release(al, pcscf, &m.sp);
		return -ENOSPC;
	}
	s->offer = m.sp;
	s->offer_held = true;
	return 0;
}

int ue_sec_read_server(struct ue_sec *s, const struct sip_msg *msg,
		       const struct ipsec_prefs *offers, const char **why)
{
	struct ipsec_offer o;
	struct ipsec_mech m;
	struct buf b;
	int rc;

	/* Security-Verify repeats every entry as received (RFC 3329 2.3.1 step 4). */
	buf_init_fixed(&b, s->server_text, sizeof(s->server_text));
	sip_msg_foreach(msg, SIP_HDR_SECURITY_SERVER, h)
		buf_printf(&b, "%s%.*s", b.len ? ", " : "", STR_FMT(h->value));
	if (buf_error(&b)) {
		*why = "Security-Server too long";
		return -EPROTO;
	}
	rc = ipsec_offer_from_msg(msg, SIP_HDR_SECURITY_SERVER, &o, why);
	if (rc == -ENOENT)
		*why = "no Security-Server";
	if (rc)
		return -EPROTO;
	if (ipsec_offer_choose_by_q(&o, offers, &m) < 0) {
		*why = "no ipsec-3gpp entry in Security-Server with an algorithm pair we offered";
		return -EPROTO;
	}
	s->server = m.sp;
	s->chosen.alg = m.alg;
	s->chosen.ealg = m.ealg;
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
	rc = esp_keys_derive(s->chosen.alg, s->chosen.ealg, ik, ck, &p.keys);
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
		   p->server.port_s, esp_auth_alg_name(sa->algs.alg), esp_enc_alg_name(sa->algs.ealg));
}
