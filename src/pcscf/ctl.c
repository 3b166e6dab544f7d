/*
 * ctl.c - the P-CSCF's control socket commands (docs/architecture.md,
 * "Control sockets"; lib/core/ctlsock.h). The lab and the tests read the
 * P-CSCF's state only through these.
 *
 *   status              counters, backend, binding
 *   flows               every registration flow with its SA sets
 *   flow ID             one flow
 *   remove ID           end a flow (its sets go after the linger)
 *   remove-impi IMPI    end every flow of an IMPI
 *   subscriptions       the reg-event subscriptions held
 */
#define SLOG_COMPONENT "pcscf"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pcscf/context.h"

static void sa_json(struct json_writer *w, struct pcscf *pc, const struct pcscf_sa *sa)
{
	const struct ipsec_set_params *p = &sa->set.p;
	uint64_t now = pcscf_now_ms(pc);
	struct ipsec_sa_counters ctr[IPSEC_SET_SAS];

	json_begin_object(w);
	json_kv_int(w, "set", sa->set_id);
	json_kv_cstring(w, "state", pcscf_sa_state_name(sa->state));
	json_kv_int(w, "expires_in", sa->expires_ms > now ? (int64_t)((sa->expires_ms - now) / 1000) : 0);
	json_kv_cstring(w, "alg", esp_auth_alg_name(p->keys.auth));
	json_kv_cstring(w, "ealg", esp_enc_alg_name(p->keys.enc));
	json_kv_int(w, "spi_uc", p->client.spi_c);
	json_kv_int(w, "spi_us", p->client.spi_s);
	json_kv_int(w, "port_uc", p->client.port_c);
	json_kv_int(w, "port_us", p->client.port_s);
	json_kv_int(w, "spi_pc", p->server.spi_c);
	json_kv_int(w, "spi_ps", p->server.spi_s);
	json_kv_int(w, "port_pc", p->server.port_c);
	json_kv_int(w, "port_ps", p->server.port_s);
	if (sa->set_id && ipsec_backend_counters(pc->ipsec, sa->set_id, ctr) == 0) {
		json_key(w, "packets");
		json_begin_array(w);
		for (unsigned i = 0; i < IPSEC_SET_SAS; i++)
			json_uint(w, ctr[i].packets);
		json_end_array(w);
		json_key(w, "dropped");
		json_begin_array(w);
		for (unsigned i = 0; i < IPSEC_SET_SAS; i++)
			json_uint(w, ctr[i].replay + ctr[i].auth + ctr[i].other);
		json_end_array(w);
	}
	json_end_object(w);
}

static void flow_json(struct json_writer *w, struct pcscf *pc, const struct pcscf_reg *r)
{
	const struct pcscf_sa *sets[3] = { r->temp, r->est, r->old };
	char a[IPSEC_ADDR_STRLEN], tok[PCSCF_TOKEN_LEN + 1];

	json_begin_object(w);
	json_kv_int(w, "id", (int64_t)r->id);
	json_kv_cstring(w, "state", pcscf_reg_state_name(r->state));
	json_kv_cstring(w, "impi", r->impi);
	json_kv_cstring(w, "impu", r->impu ? r->impu : "");
	json_kv_cstring(w, "ue", ipsec_addr_str(&r->key.ue, a));
	json_kv_int(w, "port_uc", r->key.port_uc);
	json_kv_int(w, "port_us", r->key.port_us);
	json_kv_cstring(w, "contact", r->contact ? r->contact : "");
	json_kv_int(w, "expires", r->expires_s);
	json_kv_int(w, "flow_timer", r->flow_timer_s);
	json_kv_bool(w, "flow_failed", r->flow_failed);
	pcscf_token_make(pc->token_key, r->id, tok);
	json_kv_cstring(w, "token", tok);
	json_key(w, "impus");
	json_begin_array(w);
	for (const char *p = r->impus; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		json_string(w, str_make(p, len));
		p = nl ? nl + 1 : NULL;
	}
	json_end_array(w);
	json_key(w, "sets");
	json_begin_array(w);
	for (unsigned i = 0; i < 3; i++)
		if (sets[i])
			sa_json(w, pc, sets[i]);
	json_end_array(w);
	json_end_object(w);
}

struct walk {
	struct pcscf *pc;
	struct json_writer *w;
	unsigned counts[PCSCF_REG__COUNT];
	unsigned sets;
};

static int count_flow(void *arg, const void *key, void *value)
{
	struct walk *k = arg;
	const struct pcscf_reg *r = value;

	k->counts[r->state]++;
	k->sets += (r->temp != NULL) + (r->est != NULL) + (r->old != NULL);
	return 0;
}

static int cmd_status(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	struct pcscf *pc = ctx;
	struct walk k = { pc, w, { 0 }, 0 };
	unsigned held = 0, active = 0;
	const struct pcscf_stats *s = &pc->stats;

	ipsec_table_each(&pc->regs.by_id, count_flow, &k);
	pcscf_regevent_counts(pc->rev, &held, &active);
	json_kv_cstring(w, "function", "pcscf");
	json_kv_bool(w, "ready", true);
	json_kv_cstring(w, "backend", ipsec_backend_kind_name(ipsec_backend_kind(pc->ipsec)));
	json_kv_cstring(w, "binding",
			pc->cfg.sa_binding == PCSCF_BIND_IMPI ? "impi" : "registration");
	json_kv_int(w, "flows", (int64_t)pc->regs.n_flows);
	json_key(w, "states");
	json_begin_object(w);
	for (unsigned i = 0; i < PCSCF_REG_GONE; i++)
		json_kv_int(w, pcscf_reg_state_name(i), k.counts[i]);
	json_end_object(w);
	json_kv_int(w, "sets", k.sets);
	json_kv_int(w, "ports", ipsec_sip_port_count(pc->ports));
	json_kv_int(w, "subscriptions", held);
	json_kv_int(w, "subscriptions_active", active);
	json_key(w, "counters");
	json_begin_object(w);
	json_kv_int(w, "registers", (int64_t)s->registers);
	json_kv_int(w, "challenges", (int64_t)s->challenges);
	json_kv_int(w, "ue_requests", (int64_t)s->ue_requests);
	json_kv_int(w, "to_ue", (int64_t)s->to_ue);
	json_kv_int(w, "rejected", (int64_t)s->rejected);
	json_kv_int(w, "dropped", (int64_t)s->dropped);
	json_kv_int(w, "bidding_down", (int64_t)s->bidding_down);
	json_kv_int(w, "forged_tokens", (int64_t)s->forged_tokens);
	json_kv_int(w, "dead_flows", (int64_t)s->dead_flows);
	json_kv_int(w, "flows_failed", (int64_t)s->flows_failed);
	json_kv_int(w, "unprotected_drops", (int64_t)ipsec_sip_unprotected_drops(pc->ports));
	json_kv_int(w, "refused_events", (int64_t)pc->regs.stats.refused);
	json_kv_int(w, "sets_installed", (int64_t)pc->regs.stats.sets_installed);
	json_kv_int(w, "sets_removed", (int64_t)pc->regs.stats.sets_removed);
	json_end_object(w);
	return 0;
}

static int list_flow(void *arg, const void *key, void *value)
{
	struct walk *k = arg;

	flow_json(k->w, k->pc, value);
	return 0;
}

static int cmd_flows(void *ctx, const struct ctl_request *req, struct json_writer *w,
		     const char **error)
{
	struct pcscf *pc = ctx;
	struct walk k = { pc, w, { 0 }, 0 };

	json_key(w, "flows");
	json_begin_array(w);
	ipsec_table_each(&pc->regs.by_id, list_flow, &k);
	json_end_array(w);
	return 0;
}

static struct pcscf_reg *flow_arg(struct pcscf *pc, struct str arg, const char **error)
{
	uint64_t id;
	struct pcscf_reg *r;

	if (str_to_u64(arg, UINT64_MAX, &id) != 0) {
		*error = "flow id must be a number";
		return NULL;
	}
	r = pcscf_reg_by_id(&pc->regs, id);
	if (!r)
		*error = "no such flow";
	return r;
}

static int cmd_flow(void *ctx, const struct ctl_request *req, struct json_writer *w,
		    const char **error)
{
	struct pcscf *pc = ctx;
	struct pcscf_reg *r = flow_arg(pc, req->argv[1], error);

	if (!r)
		return -ENOENT;
	json_key(w, "flow");
	flow_json(w, pc, r);
	return 0;
}

static int cmd_remove(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	struct pcscf *pc = ctx;
	struct pcscf_reg *r = flow_arg(pc, req->argv[1], error);
	uint64_t id;

	if (!r)
		return -ENOENT;
	id = r->id;
	log_notice("flow %" PRIu64 " (%s): removed through the control socket", id, r->impi);
	pcscf_reg_end(&pc->regs, r, PCSCF_REG_EV_CTL_REMOVE);
	json_kv_int(w, "removed", (int64_t)id);
	return 0;
}

static int cmd_remove_impi(void *ctx, const struct ctl_request *req, struct json_writer *w,
			   const char **error)
{
	struct pcscf *pc = ctx;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;

	/* Ids first: ending a flow may unlink it from the IMPI's chain. */
	for (struct pcscf_reg *r = pcscf_regs_of_impi(&pc->regs, req->argv[1].s); r;
	     r = r->impi_next) {
		if (strcmp(r->impi, req->argv[1].s) != 0)
			continue;
		if (n == cap) {
			uint64_t *p = realloc(ids, (cap ? cap * 2 : 16) * sizeof(*ids));

			if (!p) {
				free(ids);
				*error = "out of memory";
				return -ENOMEM;
			}
			ids = p;
			cap = cap ? cap * 2 : 16;
		}
		ids[n++] = r->id;
	}
	json_key(w, "removed");
	json_begin_array(w);
	for (size_t i = 0; i < n; i++) {
		struct pcscf_reg *r = pcscf_reg_by_id(&pc->regs, ids[i]);

		if (r && pcscf_reg_end(&pc->regs, r, PCSCF_REG_EV_CTL_REMOVE) == 0)
			json_uint(w, ids[i]);
	}
	json_end_array(w);
	if (n)
		log_notice("%zu flows of %s removed through the control socket", n,
			   req->argv[1].s);
	free(ids);
	return 0;
}

static int cmd_subscriptions(void *ctx, const struct ctl_request *req, struct json_writer *w,
			     const char **error)
{
	struct pcscf *pc = ctx;

	json_key(w, "subscriptions");
	pcscf_regevent_json(pc->rev, w);
	return 0;
}

const struct ctl_command pcscf_ctl_commands[] = {
	{ "status", "", "counters, IPsec backend, SA binding", 0, 0, cmd_status },
	{ "flows", "", "every registration flow with its SA sets", 0, 0, cmd_flows },
	{ "flow", "ID", "one registration flow", 1, 1, cmd_flow },
	{ "remove", "ID", "end a registration flow; its SA sets go after the linger", 1, 1,
	  cmd_remove },
	{ "remove-impi", "IMPI", "end every registration flow of an IMPI", 1, 1,
	  cmd_remove_impi },
	{ "subscriptions", "", "the reg-event subscriptions to the S-CSCF", 0, 0,
	  cmd_subscriptions },
};

const size_t pcscf_ctl_ncommands = sizeof(pcscf_ctl_commands) / sizeof(pcscf_ctl_commands[0]);
