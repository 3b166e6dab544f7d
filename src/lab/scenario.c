#define SLOG_COMPONENT "lab"
#include "lab/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "lab/command.h"

/* ---- registering ------------------------------------------------------------ */

struct access_goal {
	const char *access;
	uint64_t failures; /* before the step */
	uint64_t set;	   /* the access's established set before the step */
};

static bool in(const char *s, const char *a, const char *b)
{
	return strcmp(s, a) == 0 || (b && strcmp(s, b) == 0);
}

/* Registered, or given up (back to idle or into back-off after a failure). */
static bool registered_or_failed(const struct lab_snapshot *s, void *ctx)
{
	const struct access_goal *g = ctx;
	const struct lab_access_obs *a = lab_obs_access(s, g->access);

	if (!a)
		return true;
	if (strcmp(a->state, "registered") == 0)
		return true;
	return in(a->state, "idle", "backoff") && a->failures > g->failures;
}

static int ue_request(const struct lab *lab, const char *verb, const char *access)
{
	const struct lab_member *ue = lab_function_of_kind(lab, "ue");
	char req[128], answer[1024];
	int rc;

	if (!ue)
		return -ENOENT;
	snprintf(req, sizeof(req), "%s %s", verb, access);
	rc = lab_ctl(lab, ue->name, req, answer, sizeof(answer));
	if (rc == -EPROTO)
		log_warn("%s: `%s`: %s", ue->name, req, answer);
	return rc;
}

static int access_before(const struct lab *lab, const char *access, struct access_goal *g)
{
	struct lab_snapshot s;
	const struct lab_access_obs *a;
	int rc = lab_observe(lab, &s);

	if (rc)
		return rc;
	a = lab_obs_access(&s, access);
	if (!a) {
		log_error("the UE has no access '%s'", access);
		return -ENOENT;
	}
	*g = (struct access_goal){
		.access = access,
		.failures = a->failures,
		.set = a->has_sa ? a->sa.set : 0,
	};
	return 0;
}

int lab_step_register(const struct lab *lab, const char *access, struct lab_snapshot *after)
{
	struct access_goal g;
	int rc = access_before(lab, access, &g);

	if (!rc)
		rc = ue_request(lab, "register", access);
	/* A refused request (already registering) still leaves a lab to read. */
	if (!rc || rc == -EPROTO)
		rc = lab_settle(lab, registered_or_failed, &g, LAB_QUIET_MS, LAB_STEP_TIMEOUT_MS,
				after);
	return rc;
}

int lab_step_settle(const struct lab *lab, struct lab_snapshot *after)
{
	return lab_settle(lab, NULL, NULL, LAB_QUIET_MS, LAB_STEP_TIMEOUT_MS, after);
}

/* ---- re-authentication ------------------------------------------------------ */

/* A new established set, or given up. */
static bool reauthenticated_or_failed(const struct lab_snapshot *s, void *ctx)
{
	const struct access_goal *g = ctx;
	const struct lab_access_obs *a = lab_obs_access(s, g->access);

	if (!a)
		return true;
	if (strcmp(a->state, "registered") == 0)
		return a->has_sa && a->sa.set != g->set;
	return in(a->state, "idle", "backoff") || a->failures > g->failures;
}

int lab_step_reauth(const struct lab *lab, const char *access, struct lab_snapshot *after)
{
	const struct lab_member *scscf = lab_function_of_kind(lab, "scscf");
	const struct lab_binding_obs *b;
	struct lab_snapshot now;
	struct access_goal g;
	char req[256], answer[1024];
	int rc;

	if (!scscf)
		return -ENOENT;
	rc = access_before(lab, access, &g);
	if (!rc)
		rc = lab_observe(lab, &now);
	if (rc)
		return rc;
	b = lab_obs_binding(&now, lab_obs_access(&now, access));
	if (!b || !b->id) {
		*after = now;
		return -ENOENT;
	}
	/* The S-CSCF shortens the binding and will challenge its next
	 * REGISTER (24.229 5.4.1.6); the UE re-registers at once. */
	snprintf(req, sizeof(req), "reauth %s binding=%llu", lab->deploy.impu,
		 (unsigned long long)b->id);
	rc = lab_ctl(lab, scscf->name, req, answer, sizeof(answer));
	if (rc) {
		log_error("%s: `%s`: %s", scscf->name, req, rc == -EPROTO ? answer : strerror(-rc));
		return rc;
	}
	rc = ue_request(lab, "reauth", access);
	if (!rc || rc == -EPROTO)
		rc = lab_settle(lab, reauthenticated_or_failed, &g, LAB_QUIET_MS,
				LAB_STEP_TIMEOUT_MS, after);
	return rc;
}

/* ---- the link goes away ------------------------------------------------------ */

int lab_step_drop(const struct lab *lab, const char *access, struct lab_snapshot *after)
{
	int rc = ue_request(lab, "drop", access);

	if (!rc || rc == -EPROTO)
		rc = lab_step_settle(lab, after);
	return rc;
}

int lab_step_restore(const struct lab *lab, const char *access, struct lab_snapshot *after)
{
	struct access_goal g;
	int rc = access_before(lab, access, &g);

	if (!rc)
		rc = ue_request(lab, "restore", access);
	if (!rc || rc == -EPROTO)
		rc = lab_settle(lab, registered_or_failed, &g, LAB_QUIET_MS, LAB_STEP_TIMEOUT_MS,
				after);
	return rc;
}

/* ---- a MESSAGE from the core ------------------------------------------------- */

static const struct lab_service_spec *service(const struct lab *lab, const char *name)
{
	const struct lab_topology *t = lab_topology_find(lab->topology ? lab->topology : "");

	for (size_t i = 0; t && i < t->n_services; i++)
		if (strcmp(t->services[i].name, name) == 0)
			return &t->services[i];
	return NULL;
}

static const char *ns_of(const struct lab *lab, const char *role)
{
	for (size_t i = 0; i < lab->n_ns; i++)
		if (lab->ns_role[i] && strcmp(lab->ns_role[i], role) == 0)
			return lab->ns[i];
	return NULL;
}

/*
 * The application server's scenario: one MESSAGE to the IMPU through the
 * S-CSCF. SIPp's own keywords fill the addresses and the Call-ID, which
 * SIPp makes from our -cid_str (SIPp matches responses by Call-ID, so it
 * must be its own): the UE's event log is searched for it.
 */
static int write_scenario(const char *path, const struct lab *lab, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n"
		"<!-- written by simreg lab: an application server in the core sends a\n"
		"     MESSAGE to the IMPU; the S-CSCF forks it to every binding. -->\n"
		"<scenario name=\"MESSAGE to %s\">\n"
		"  <send retrans=\"500\">\n"
		"    <![CDATA[\n\n"
		"MESSAGE %s SIP/2.0\n"
		"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
		"Max-Forwards: 70\n"
		"From: <sip:as@%s>;tag=[pid]-[call_number]\n"
		"To: <%s>\n"
		"Call-ID: [call_id]\n"
		"CSeq: 1 MESSAGE\n"
		"Content-Type: text/plain\n"
		"Content-Length: [len]\n\n"
		"%s\n"
		"    ]]>\n"
		"  </send>\n"
		"  <recv response=\"100\" optional=\"true\"/>\n"
		"  <recv response=\"200\"/>\n"
		"</scenario>\n",
		lab->deploy.impu, lab->deploy.impu, "ims.test", lab->deploy.impu, text);
	return fclose(f) ? -errno : 0;
}

/* The last final status line in SIPp's message log. */
static int final_status(const char *log_path)
{
	FILE *f = fopen(log_path, "re");
	char line[512];
	int status = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int code;

		if (sscanf(line, "SIP/2.0 %d", &code) == 1 && code >= 200)
			status = code;
	}
	fclose(f);
	return status;
}

int lab_step_message(const struct lab *lab, const char *text, struct lab_msg_result *r)
{
	static unsigned counter;
	const struct lab_service_spec *as = service(lab, "as"), *scscf = service(lab, "scscf");
	const char *ns = as ? ns_of(lab, as->role) : NULL;
	char as_addr[LAB_ADDR_LEN], scscf_addr[LAB_ADDR_LEN + 8], port[8];
	char *xml = NULL, *msglog = NULL, cid_str[96];
	struct lab_snapshot after;
	int n = ++counter, rc, got;

	memset(r, 0, sizeof(*r));
	if (!as || !scscf || !ns)
		return -ENOENT;
	lab_fmt_host(as_addr, LAB_V4, as->plane, as->net, as->host, 0);
	lab_fmt_host(scscf_addr, LAB_V4, scscf->plane, scscf->net, scscf->host, 0);
	snprintf(scscf_addr + strlen(scscf_addr), 8, ":%u", scscf->port);
	snprintf(port, sizeof(port), "%u", as->port);
	snprintf(cid_str, sizeof(cid_str), "lab-%s-%d-message-%d-%%u@%%s", lab->id, (int)getpid(),
		 n);
	/* What SIPp makes of it for its first (and only) call. */
	snprintf(r->call_id, sizeof(r->call_id), "lab-%s-%d-message-%d-1@%s", lab->id,
		 (int)getpid(), n, as_addr);
	if (asprintf(&xml, "%s/as-message-%d.xml", lab->dir, n) < 0 ||
	    asprintf(&msglog, "%s/as-message-%d.log", lab->dir, n) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	rc = write_scenario(xml, lab, text);
	if (rc)
		goto out;
	{
		const char *argv[] = {
			"ip",
			"netns",
			"exec",
			ns,
			"sipp",
			"-sf",
			xml,
			"-m",
			"1",
			"-i",
			as_addr,
			"-p",
			port,
			"-t",
			"u1",
			"-nostdin",
			"-timeout",
			"40s",
			"-timeout_error",
			"-trace_msg",
			"-message_file",
			msglog,
			"-cid_str",
			cid_str,
			scscf_addr,
			NULL,
		};

		/* SIPp exits 1 when the call did not end in a 200: that is an
		 * outcome, read from its message log below. */
		rc = lab_cmd_run(argv, LAB_CMD_QUIET, NULL, 0);
		if (rc == -ENOENT) {
			log_error("sipp is not installed (Debian package sip-tester)");
			goto out;
		}
	}
	r->status = final_status(msglog);
	/* The copies may still be on their way to an access (or the UE's
	 * answer on its way back): let the lab settle first. */
	rc = lab_step_settle(lab, &after);
	if (rc && rc != -ETIMEDOUT)
		goto out;
	got = lab_ue_received(lab, r->call_id, "MESSAGE", &r->answered);
	rc = got < 0 ? got : 0;
	if (got > 0)
		r->delivered = got;
out:
	free(xml);
	free(msglog);
	return rc;
}
