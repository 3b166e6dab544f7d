/*
 * lab.h - bring a lab up, take it down, say how it is.
 *
 * A lab lives in a directory DIR: DIR/lab.json describes it (topology,
 * namespaces, interfaces, addresses, routes, services and ports, the
 * processes with their pids, logs and captures), DIR/<name>.log holds each
 * process's output and DIR/<link>.pcap each link's capture.
 *
 * lab_up() builds in this order: namespaces and links, captures (so they
 * see everything), then the processes, each awaited until it says it is
 * ready. lab.json is rewritten after every stage, so even a lab command that
 * is killed half-way leaves a record; a failure or an interrupt at any point
 * undoes everything done so far.
 *
 * lab_down() stops the processes (SIGTERM, then SIGKILL after a grace
 * period), closes the captures (an end marker is sent over each link and
 * awaited in the file, then SIGINT, so no packet is lost in dumpcap's
 * buffers), kills whatever still runs inside the lab's namespaces and
 * deletes them. It works from lab.json and, if that is missing or damaged,
 * from the namespace name prefix alone; running it twice is harmless.
 */
#ifndef SIMREG_LAB_LAB_H
#define SIMREG_LAB_LAB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/arena.h"
#include "lab/deploy.h"
#include "lab/netns.h"
#include "lab/supervisor.h"
#include "lab/topology.h"

#define LAB_STATE_FILE "lab.json"
/* Schema version of lab.json; bumped when a reader must change. */
#define LAB_STATE_VERSION 1
#define LAB_MAX_MEMBERS 32
/* How long dumpcap may take to open its interface. */
#define LAB_CAPTURE_READY_MS 15000
/* How long a capture may take to write its end marker. */
#define LAB_CAPTURE_FLUSH_MS 5000
/* UDP port of the end-of-capture marker: discard (RFC 863). */
#define LAB_MARKER_PORT 9

/* A process the lab runs in one of its namespaces (a network function). */
struct lab_fn_spec {
	const char *name;        /* [a-z0-9_-]+, unique; its log is DIR/<name>.log */
	const char *role;        /* namespace (node role) it runs in */
	const char *ready;       /* text it prints when ready */
	const char *const *argv; /* NULL-terminated */
	/* For a network function (deploy.h), recorded in lab.json; else NULL. */
	const char *kind;   /* "hss", "scscf", "pcscf", "ue" */
	const char *config; /* its deployment file */
	const char *data;   /* its data directory */
	const char *ctl;    /* its control socket */
	const char *keylog; /* its ESP key log */
};

struct lab_up_opts {
	const char *topology; /* "t1", "t2" */
	const char *dir;      /* created if missing (its parent must exist) */
	int ready_timeout_ms; /* per process */
	int grace_ms;         /* SIGTERM to SIGKILL, when undoing */
	const struct lab_fn_spec *fns;
	size_t n_fns;
	/* If not NULL: run the topology's network functions, configured so
	 * (deploy.h), instead of @fns. */
	const struct lab_deploy_opts *deploy;
	/* Set by a signal handler to abandon (and undo) the build; may be NULL. */
	const volatile sig_atomic_t *cancel;
};

enum lab_member_kind {
	LAB_MEMBER_CAPTURE,
	LAB_MEMBER_FUNCTION,
};

/* A process of the lab, as started or as read back from lab.json. */
struct lab_member {
	enum lab_member_kind kind;
	const char *name;  /* capture: the link */
	const char *role;
	const char *netns;
	const char *log;
	const char *ready;
	const char *const *argv;
	/* network functions (NULL for other processes) */
	const char *fn_kind;
	const char *config;
	const char *data;
	const char *ctl;
	const char *keylog;
	/* captures */
	const char *pcap;
	const char *ifname;
	const char *marker_dst;
	struct lab_proc proc;
};

/* How a lab's network functions were configured (lab.json "deployment"). */
struct lab_deploy_rec {
	bool present;
	const char *mechanism, *binding, *ue_binding, *backend, *ue_backend;
	const char *impi, *impu, *derived_rule, *k, *opc;
};

struct lab {
	struct arena arena;
	char id[LAB_ID_LEN + 1];
	const char *dir;        /* absolute */
	const char *topology;   /* name */
	const char *summary;
	const struct lab_plan *plan; /* NULL when read back from lab.json */
	const char *state;      /* "building", "up", "failed" */
	const char *error;      /* why it failed, or NULL */
	const char *ns[LAB_MAX_NODES];
	const char *ns_role[LAB_MAX_NODES];
	size_t n_ns;
	struct lab_member members[LAB_MAX_MEMBERS];
	size_t n_members;
	struct lab_deploy_rec deploy;
};

/* The member of @lab that is the network function @name, or NULL. */
const struct lab_member *lab_function(const struct lab *lab, const char *name);
/* The first network function of kind @kind ("ue"), or NULL. */
const struct lab_member *lab_function_of_kind(const struct lab *lab, const char *kind);

/*
 * The lab id of directory @dir: six hex digits of a 32-bit FNV-1a hash of
 * its canonical absolute path (of its parent plus its name, if @dir itself
 * no longer exists). If @abs is not NULL it receives that path (malloc'd).
 * Returns 0 or a negative errno.
 */
int lab_id_for_dir(const char *dir, char id[LAB_ID_LEN + 1], char **abs);

/* Build the lab described by @o. Root only (-EPERM otherwise, logged).
 * Returns 0, or a negative errno after undoing everything (logged). */
int lab_up(const struct lab_up_opts *o);

/* Take down the lab in @dir. Returns 0 when nothing of it is left, or a
 * negative errno naming (in the log) what could not be removed. */
int lab_down(const char *dir, int grace_ms);

/* Print the lab's state (from lab.json, checked against the system) to
 * @out. Returns 0 if every namespace exists and every process runs, 1 if
 * not, or a negative errno (-ENOENT: no lab.json in @dir). */
int lab_status(const char *dir, FILE *out);

/* Print topology @name's plan: nodes, interfaces, addresses, routes,
 * services, captures; with @commands, the commands that build it; with
 * @configs (not NULL), the deployment file of each network function as
 * `up` would write it for those options, in lab directory "DIR". */
int lab_print_plan(const char *name, bool commands, const struct lab_deploy_opts *configs,
		   FILE *out);

/*
 * Read DIR/lab.json into @lab (initialising its arena; lab_free() it).
 * Returns 0, -ENOENT (no file), -EINVAL (not a lab.json we understand,
 * logged with the line and column) or -ENOMEM.
 */
int lab_state_read(const char *dir, struct lab *lab);
void lab_free(struct lab *lab);

#endif
