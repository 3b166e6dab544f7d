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
#include <stdio.h>

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

/* A running function's control socket, as `simreg ctl OBJECT` reaches it. */
struct ctl_target {
	const char *command; /* "ctl ue": the prefix of messages */
	const char *what;    /* "UE": "no UE answers there" */
	const char *socket;  /* "ue.ctl": the socket in the data directory */
	int timeout_ms;      /* the function answers from its loop at once; */
			     /* longer means it is wedged */
	void (*usage)(FILE *out); /* the object's manual page */
};

/*
 * ctl_request
 *	`simreg ctl OBJECT [--ctl PATH] REQUEST...`: send the words of the
 *	request as one line (ctl_join()) to PATH or DIR/t->socket,
 *	print the one-line JSON answer.
 * Returns CLI_OK when the answer says "ok": true, CLI_FAIL when it says
 * why not or nobody answers, CLI_USAGE for bad usage.
 */
int ctl_request(struct ctl *c, const struct ctl_target *t, int argc, char **argv);

/* Objects: argv[0] is the object name, the verb follows. */
int ctl_subscriber(struct ctl *c, int argc, char **argv);
/* A running UE's control socket (src/ctl/ue.c). */
int ctl_ue(struct ctl *c, int argc, char **argv);
/* One request to a running S-CSCF's control socket (scscf.c). */
int ctl_scscf(struct ctl *c, int argc, char **argv);
/* One request to a running P-CSCF's control socket (pcscf.c). */
int ctl_pcscf(struct ctl *c, int argc, char **argv);

#endif
