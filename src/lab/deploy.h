/*
 * deploy.h - the network functions of a lab: their configuration, the
 * subscriber they serve, and how each is started and known to be ready.
 *
 * Everything a function needs is derived from the topology's tables
 * (topology.h): the HSS listens on the "hss" service, the S-CSCF on
 * "scscf", each P-CSCF on its own services (the core-facing one is what it
 * puts in Path), and the UE gets one access per service that serves an
 * access, bound to its interface towards that access. Nothing about a
 * particular topology is written here.
 *
 * In DIR, for every function NAME of the topology:
 *
 *     DIR/NAME.yaml      its deployment file (generated; read it, do not edit)
 *     DIR/NAME/          its data directory: database, control socket,
 *                        the UE's event log and SQN state
 *     DIR/NAME.esp_sa    the ESP keys it installs, in Wireshark's esp_sa
 *                        table format (P-CSCF and UE, when keys are logged)
 *     DIR/NAME.log       its output (written by the supervisor)
 *
 * A data directory carries a marker file; a later lab in the same DIR
 * removes only data directories that have it, so a --dir that happens to
 * hold a directory called "ue" of someone else's is refused, never emptied.
 */
#ifndef SIMREG_LAB_DEPLOY_H
#define SIMREG_LAB_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "lab/topology.h"

/* The subscriber of every lab: TS 35.208 test set 1's K and OPc, so that
 * anyone can recompute its vectors (osmo-auc-gen, simreg aka). */
#define LAB_IMPI "alice@ims.test"
#define LAB_IMPU "sip:alice@ims.test"
#define LAB_K "465b5ce8b199b49faa5f0a2ee238a6bc"
#define LAB_OPC "cd63cb71954a9f4e48a5994e37a02baf"
/* The HSS's derived-IMPI rule; the UE's template "{user}+{n}@{realm}"
 * gives alice+2@ims.test for its second access, which the rule covers. */
#define LAB_DERIVED_RULE "{user}+{2..3}@{realm}"

/* RFC 5626 flow timer of outbound registrations (the S-CSCF's Flow-Timer)
 * and the silence beyond it after which the P-CSCF fails a flow: a dropped
 * access is noticed within about 13 s of its last keepalive. */
#define LAB_FLOW_TIMER_S 10
#define LAB_FLOW_GRACE_S 3

#define LAB_MAX_FUNCTIONS 8
/* Marker file of a data directory the lab created. */
#define LAB_DATA_MARKER ".simreg-lab"

/* The simultaneous-registration mechanisms (DESIGN.md section 2), in the
 * order of the outcome table. NULL-terminated. */
extern const char *const lab_mechanisms[];
/* SA bindings (DESIGN.md section 3) and IPsec backends. NULL-terminated. */
extern const char *const lab_bindings[];
extern const char *const lab_backends[];

/* True if @name is in the NULL-terminated list @list. */
bool lab_name_in(const char *const *list, const char *name);

struct lab_deploy_opts {
	const char *mechanism;	/* S-CSCF policy and UE mechanism */
	const char *binding;	/* the P-CSCFs' SA binding */
	const char *ue_binding; /* the UE's SA binding; NULL: "registration" */
	const char *backend;	/* the P-CSCFs' IPsec backend */
	const char *ue_backend; /* the UE's; NULL: the same as the P-CSCFs' */
	bool keys;		/* log.keys and ESP key logs (lab use: on) */
	const char *simreg;	/* absolute path of the simreg binary */
};

/* What lab_deploy_prepare() made of one function. */
struct lab_deployed_fn {
	const struct lab_function_spec *spec;
	const char *config; /* DIR/NAME.yaml */
	const char *data;   /* DIR/NAME */
	const char *ctl;    /* DIR/NAME/<kind>.ctl */
	const char *keylog; /* DIR/NAME.esp_sa, or NULL */
	const char *ready;  /* readiness text of its log */
	const char *const *argv;
};

struct lab_deployment {
	struct lab_deploy_opts o; /* with the NULLs resolved */
	struct lab_deployed_fn fns[LAB_MAX_FUNCTIONS];
	size_t n_fns;
};

/*
 * Check @o (names from the lists above; -EINVAL, logged, otherwise), then
 * for every function of @t: clear a previous lab's data directory in
 * @absdir (refusing, -EEXIST, one the lab did not create), write its
 * configuration, create its data directory, and provision the subscriber
 * into the HSS's database with `simreg ctl subscriber add`. Fills @d;
 * strings and argv arrays are allocated in @a. Returns 0 or a negative
 * errno (-ENAMETOOLONG when a control socket path would not fit a Unix
 * socket address: use a shorter directory), logged.
 */
int lab_deploy_prepare(const struct lab_topology *t, const struct lab_deploy_opts *o,
		       const char *absdir, struct arena *a, struct lab_deployment *d);

/*
 * The YAML deployment file of function @f of @t, into @out (allocated in
 * @a). @absdir names the lab directory. Exposed for the tests; returns 0 or
 * -ENOMEM.
 */
int lab_deploy_yaml(const struct lab_topology *t, const struct lab_function_spec *f,
		    const struct lab_deploy_opts *o, const char *absdir, struct arena *a,
		    const char **out);

#endif
