/*
 * ctl.c - the UE's control commands.
 */
#define SLOG_COMPONENT "ue"
#include "ue/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "ue/context.h"

#define MAX_WORDS 8

static void answer_error(struct json_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void answer_error(struct json_writer *w, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_begin_object(w);
	json_kv_bool(w, "ok", false);
	json_kv_cstring(w, "error", text);
	json_end_object(w);
}

static void kv_uint(struct json_writer *w, const char *k, uint64_t v)
{
	json_key(w, k);
	json_uint(w, v);
}

static void sa_json(struct json_writer *w, const char *name, const struct ue_sa *sa)
{
	const struct ipsec_set_params *p = &sa->set.p;

	json_key(w, name);
	if (!sa->live) {
		json_null(w);
		return;
	}
	json_begin_object(w);
	kv_uint(w, "set", sa->set.id);
	kv_uint(w, "spi_uc", p->client.spi_c);
	kv_uint(w, "spi_us", p->client.spi_s);
	kv_uint(w, "port_uc", p->client.port_c);
	kv_uint(w, "port_us", p->client.port_s);
	kv_uint(w, "spi_pc", p->server.spi_c);
	kv_uint(w, "spi_ps", p->server.spi_s);
	kv_uint(w, "port_pc", p->server.port_c);
	kv_uint(w, "port_ps", p->server.port_s);
	json_kv_cstring(w, "alg", esp_auth_alg_name((enum esp_auth_alg)sa->algs.alg));
	json_kv_cstring(w, "ealg", esp_enc_alg_name((enum esp_enc_alg)sa->algs.ealg));
	json_end_object(w);
}

static void access_json(struct ue *ue, struct json_writer *w, const struct ue_access *a)
{
	char buf[SIP_SOCKADDR_STRLEN];
	uint64_t now = loop_now_ms(ue->loop);

	json_begin_object(w);
	json_kv_cstring(w, "name", a->cfg.name);
	kv_uint(w, "n", a->n);
	json_kv_cstring(w, "impi", a->impi);
	json_kv_cstring(w, "state", ue_reg_state_name(a->reg.state));
	json_kv_bool(w, "link", a->link_up);
	json_kv_cstring(w, "local", sip_sockaddr_str(&a->cfg.local, buf, sizeof(buf)));
	json_kv_cstring(w, "pcscf", sip_sockaddr_str(&a->cfg.pcscf, buf, sizeof(buf)));
	json_kv_cstring(w, "transport", sip_transport_name(a->cfg.proto));
	if (a->reg.state == UE_REG_REGISTERED || a->reg.state == UE_REG_REFRESHING ||
	    a->reg.state == UE_REG_RECHALLENGED || a->reg.state == UE_REG_REAUTHENTICATING) {
		kv_uint(w, "expires_in",
			a->reg.expires_at_ms > now ? (a->reg.expires_at_ms - now) / 1000 : 0);
		json_kv_bool(w, "outbound", a->reg.outbound);
		json_key(w, "impus");
		json_begin_array(w);
		for (unsigned i = 0; i < a->reg.nassoc; i++)
			json_string(w, a->reg.assoc[i]);
		json_end_array(w);
		json_key(w, "service_route");
		json_begin_array(w);
		for (unsigned i = 0; i < a->reg.nroutes; i++)
			json_string(w, a->reg.routes[i]);
		json_end_array(w);
	}
	kv_uint(w, "failures", a->reg.failures);
	sa_json(w, "sa", &a->sec.est);
	sa_json(w, "sa_temporary", &a->sec.tmp);
	json_key(w, "subscription");
	json_begin_object(w);
	json_kv_cstring(w, "state", ue_sub_state_name(a->sub.state));
	kv_uint(w, "notifies", a->sub.notifies);
	json_key(w, "registered");
	json_begin_array(w);
	for (unsigned i = 0; i < a->sub.nbeliefs; i++) {
		const struct ue_belief *b = &a->sub.beliefs[i];

		json_begin_object(w);
		json_kv_cstring(w, "aor", b->aor);
		json_kv_cstring(w, "state", reginfo_reg_state_name(b->state));
		json_kv_bool(w, "ours", b->ours_active);
		json_end_object(w);
	}
	json_end_array(w);
	json_end_object(w);
	kv_uint(w, "msgs_tx", a->msgs_tx);
	kv_uint(w, "msgs_rx", a->msgs_rx);
	json_end_object(w);
}

static int cmd_status(struct ue *ue, struct json_writer *w)
{
	json_begin_object(w);
	json_kv_bool(w, "ok", true);
	json_kv_cstring(w, "function", "ue");
	json_kv_cstring(w, "impi", ue->cfg->impi);
	json_kv_cstring(w, "mechanism", ue_mech_name((enum ue_mech)ue->cfg->mechanism));
	json_kv_cstring(w, "sa_binding",
			ue->cfg->sa_binding == UE_SA_BINDING_IMPI ? "impi" : "registration");
	json_key(w, "accesses");
	json_begin_array(w);
	for (size_t i = 0; i < ue->nacc; i++)
		access_json(ue, w, &ue->acc[i]);
	json_end_array(w);
	json_end_object(w);
	return 0;
}

/* register / deregister / reauth / drop / restore ACCESS */
static int cmd_event(struct ue *ue, struct json_writer *w, enum ue_reg_event ev, struct str name)
{
	struct ue_access *a = ue_access_by_name(ue, name);
	enum ue_reg_state before;
	int rc;

	if (!a) {
		answer_error(w, "no access '%.*s'", STR_FMT(name));
		return -ENOENT;
	}
	before = a->reg.state;
	rc = ue_reg_event(ue, a, ev, NULL);
	if (rc == -EPERM) {
		answer_error(w, "%s: %s refused in state %s", a->cfg.name, ue_reg_event_name(ev),
			     ue_reg_state_name(before));
		return rc;
	}
	json_begin_object(w);
	json_kv_bool(w, "ok", true);
	json_kv_cstring(w, "access", a->cfg.name);
	json_kv_cstring(w, "from", ue_reg_state_name(before));
	json_kv_cstring(w, "state", ue_reg_state_name(a->reg.state));
	json_end_object(w);
	return 0;
}

/* send METHOD TO via ACCESS [TEXT...]: the text is the rest of the line. */
static int cmd_send(struct ue *ue, struct json_writer *w, struct str *words, unsigned n,
		    struct str rest)
{
	struct ue_access *a;
	char call_id[40];
	int rc;

	if (n < 5 || !str_eq_cstr(words[3], "via")) {
		answer_error(w, "usage: send MESSAGE|OPTIONS TO via ACCESS [TEXT]");
		return -EINVAL;
	}
	a = ue_access_by_name(ue, words[4]);
	if (!a) {
		answer_error(w, "no access '%.*s'", STR_FMT(words[4]));
		return -ENOENT;
	}
	rc = ue_send_request(ue, a, words[1], words[2], rest, call_id);
	switch (rc) {
	case 0:
		break;
	case -EPERM:
		answer_error(w, "%s is not registered (state %s)", a->cfg.name,
			     ue_reg_state_name(a->reg.state));
		return rc;
	case -EINVAL:
		answer_error(w, "method must be MESSAGE or OPTIONS, TO a SIP URI");
		return rc;
	default:
		answer_error(w, "not sent: %s", strerror(-rc));
		return rc;
	}
	json_begin_object(w);
	json_kv_bool(w, "ok", true);
	json_kv_cstring(w, "access", a->cfg.name);
	json_kv_cstring(w, "call_id", call_id);
	json_end_object(w);
	return 0;
}

static const struct {
	const char *name;
	enum ue_reg_event ev;
} event_cmds[] = {
	{ "register", UE_REG_EV_REGISTER },  { "deregister", UE_REG_EV_DEREGISTER },
	{ "reauth", UE_REG_EV_REAUTH },      { "drop", UE_REG_EV_DROP },
	{ "restore", UE_REG_EV_RESTORE },
};

int ue_ctl_exec(struct ue *ue, struct str line, struct json_writer *w)
{
	struct str words[MAX_WORDS], rest = STR_NULL;
	unsigned n = 0;
	size_t i = 0;

	line = str_trim(line);
	/* Split into words; after the fifth ("send M TO via A") the rest is text. */
	while (i < line.len && n < MAX_WORDS) {
		size_t s;

		while (i < line.len && (line.s[i] == ' ' || line.s[i] == '\t'))
			i++;
		if (i == line.len)
			break;
		if (n == 5 && str_eq_cstr(words[0], "send")) {
			rest = str_make(line.s + i, line.len - i);
			break;
		}
		s = i;
		while (i < line.len && line.s[i] != ' ' && line.s[i] != '\t')
			i++;
		words[n++] = str_make(line.s + s, i - s);
	}
	if (n == 0) {
		answer_error(w, "empty request");
		return -EINVAL;
	}
	if (str_eq_cstr(words[0], "status") && n == 1)
		return cmd_status(ue, w);
	if (str_eq_cstr(words[0], "send"))
		return cmd_send(ue, w, words, n, rest);
	for (size_t k = 0; k < sizeof(event_cmds) / sizeof(event_cmds[0]); k++) {
		if (!str_eq_cstr(words[0], event_cmds[k].name))
			continue;
		if (n != 2) {
			answer_error(w, "usage: %s ACCESS", event_cmds[k].name);
			return -EINVAL;
		}
		return cmd_event(ue, w, event_cmds[k].ev, words[1]);
	}
	answer_error(w, "unknown request '%.*s' (status, register, deregister, reauth, drop, "
			"restore, send)",
		     STR_FMT(words[0]));
	return -EINVAL;
}
