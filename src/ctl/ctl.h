/*
 * ctl.h - `simreg ctl`: provisioning and control of a simreg deployment.
 *
 * `simreg ctl [--data DIR] OBJECT VERB [OPTIONS]`. Each object (today:
 * subscriber) is a function taking the remaining arguments; ctl.c holds the
 * table of objects and the options they share.
 */
#ifndef SIMREG_CTL_CTL_H
#define SIMREG_CTL_CTL_H

#include <limits.h>
#include <stdbool.h>

#include "store/store.h"

/* Where the HSS keeps its data when --data is not given. */
#define CTL_DATA_DIR_DEFAULT "simreg-data"
/* The subscriber database inside the data directory. */
#define CTL_DB_NAME "hss.db"

struct ctl {
	const char *data_dir;
	char db_path[PATH_MAX];
};

/*
 * Open the subscriber store of the data directory. With create, the
 * directory and the database are made if missing; without, a missing
 * database is an error (so `show` never leaves an empty file behind).
 * Prints its own error message. Returns 0 or a negative errno.
 */
int ctl_open_store(struct ctl *c, bool create, struct store **out);

/* Objects: argv[0] is the object name, the verb follows. */
int ctl_subscriber(struct ctl *c, int argc, char **argv);
/* A running UE's control socket (src/ctl/ue.c). */
int ctl_ue(struct ctl *c, int argc, char **argv);
/* One request to a running S-CSCF's control socket (scscf.c). */
int ctl_scscf(struct ctl *c, int argc, char **argv);
/* One request to a running P-CSCF's control socket (pcscf.c). */
int ctl_pcscf(struct ctl *c, int argc, char **argv);

#endif
