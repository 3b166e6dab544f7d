/*
 * ctl.c - the UE's control commands (the server is lib/core's ctlsock).
 */
#define SLOG_COMPONENT "ue"
#include "ue/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "ue/context.h"

/* Room for an error that names an access and a state, until the next request. */
static char errbuf[160];

static const char *errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
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
	json_kv_cstring(w, "alg", esp_auth_alg_name(sa->algs.alg));
	json_kv_cstring(w, "ealg", esp_enc_alg_name(sa->algs.ealg));
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
	json_key(w, "keepalives");
	json_begin_object(w);
	/* RFC 5626 4.4: CRLFCRLF pings answered by CRLF pongs on TCP, STUN on UDP. */
	json_kv_cstring(w, "kind", a->cfg.proto == SIP_TRANSPORT_TCP ? "crlf" : "stun");
	kv_uint(w, "sent", a->ka_sent);
	kv_uint(w, "answered", a->ka_answered);
	json_end_object(w);
	kv_uint(w, "msgs_tx", a->msgs_tx);
	kv_uint(w, "msgs_rx", a->msgs_rx);
	json_end_object(w);
}

static int cmd_status(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	struct ue *ue = ctx;

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
	return 0;
}

/* register / deregister / reauth / drop / restore ACCESS */
static int cmd_event(struct ue *ue, enum ue_reg_event ev, const struct ctl_request *req,
		     struct json_writer *w, const char **error)
{
	struct ue_access *a = ue_access_by_name(ue, req->argv[1]);
	enum ue_reg_state before;
	int rc;

	if (!a) {
		*error = errorf("no access '%.*s'", STR_FMT(req->argv[1]));
		return -ENOENT;
	}
	before = a->reg.state;
	rc = ue_reg_event(ue, a, ev, NULL);
	if (rc) {
		*error = errorf("%s: %s refused in state %s", a->cfg.name, ue_reg_event_name(ev),
				ue_reg_state_name(before));
		return rc;
	}
	json_kv_cstring(w, "access", a->cfg.name);
	json_kv_cstring(w, "from", ue_reg_state_name(before));
	json_kv_cstring(w, "state", ue_reg_state_name(a->reg.state));
	return 0;
}

#define EVENT_CMD(name, ev)                                                                  \
	static int cmd_##name(void *ctx, const struct ctl_request *req, struct json_writer *w, \
			      const char **error)                                              \
	{                                                                                    \
		return cmd_event(ctx, ev, req, w, error);                                    \
	}
EVENT_CMD(register, UE_REG_EV_REGISTER)
EVENT_CMD(deregister, UE_REG_EV_DEREGISTER)
EVENT_CMD(reauth, UE_REG_EV_REAUTH)
EVENT_CMD(drop, UE_REG_EV_DROP)
EVENT_CMD(restore, UE_REG_EV_RESTORE)
#undef EVENT_CMD

/* send METHOD TO via ACCESS [TEXT...]: the text words are joined by spaces. */
static int cmd_send(void *ctx, const struct ctl_request *req, struct json_writer *w,
		    const char **error)
{
	struct ue *ue = ctx;
	struct ue_access *a;
	char call_id[40], text[CTL_LINE_MAX];
	struct buf b;
	int rc;

	if (!str_eq_cstr(req->argv[3], "via")) {
		*error = "usage: send MESSAGE|OPTIONS TO via ACCESS [TEXT]";
		return -EINVAL;
	}
	a = ue_access_by_name(ue, req->argv[4]);
	if (!a) {
		*error = errorf("no access '%.*s'", STR_FMT(req->argv[4]));
		return -ENOENT;
	}
	buf_init_fixed(&b, text, sizeof(text));
	for (int i = 5; i < req->argc; i++)
		buf_printf(&b, "%s%.*s", i > 5 ? " " : "", STR_FMT(req->argv[i]));
	rc = ue_send_request(ue, a, req->argv[1], req->argv[2], buf_str(&b), call_id);
	switch (rc) {
	case 0:
		break;
	case -EPERM:
		*error = errorf("%s is not registered (state %s)", a->cfg.name,
				ue_reg_state_name(a->reg.state));
		return rc;
	case -EINVAL:
		*error = "method must be MESSAGE or OPTIONS, TO a SIP URI";
		return rc;
	default:
		*error = errorf("not sent: %s", strerror(-rc));
		return rc;
	}
	json_kv_cstring(w, "access", a->cfg.name);
	json_kv_cstring(w, "call_id", call_id);
	return 0;
}

const struct ctl_command ue_ctl_commands[] = {
	{ "status", "", "every access: registration state, SA sets, subscription, beliefs", 0, 0,
	  cmd_status },
	{ "register", "ACCESS", "register the access (or re-register it now)", 1, 1,
	  cmd_register },
	{ "deregister", "ACCESS", "deregister the access (REGISTER with Expires 0)", 1, 1,
	  cmd_deregister },
	{ "reauth", "ACCESS", "re-register asking to be challenged", 1, 1, cmd_reauth },
	{ "drop", "ACCESS", "the link goes away: sockets closed, SAs deleted, nothing sent", 1, 1,
	  cmd_drop },
	{ "restore", "ACCESS", "the link is back: register after the RFC 5626 back-off", 1, 1,
	  cmd_restore },
	{ "send", "MESSAGE|OPTIONS TO via ACCESS [TEXT...]",
	  "a request to TO through the access's Service-Route", 4, CTL_ARGS_MAX - 1, cmd_send },
};

const size_t ue_ctl_ncommands = sizeof(ue_ctl_commands) / sizeof(ue_ctl_commands[0]);
