/*
 * regevent.h - the UE's reg-event subscription of one access (RFC 3680,
 * TS 24.229 5.1.1.3) and what its NOTIFYs make the UE believe.
 *
 * After each initial registration the access SUBSCRIBEs to the reg event
 * of its IMPU through its Service-Route, over its established SA set, with
 * its protected contact, and keeps the subscription: refreshed inside its
 * dialog before it runs out (RFC 6665 4.1.2.2, 24.229 5.1.1.3), made anew
 * when the notifier ends or loses it while the access is registered. The
 * P-CSCF Record-Routes the dialog with the access's flow token, so every
 * NOTIFY of it comes back over the same SA set: under regevent-probe the
 * S-CSCF's probe of an old binding is exactly such a NOTIFY, and answering
 * it (200, on the access it arrived on) is what keeps that binding.
 *
 * A NOTIFY's reginfo document (version-checked, reginfo_watch_check())
 * updates the access's belief: which IMPUs are registered and whether our
 * own contact is still active. Our contact terminated by the network ends
 * the registration (network-ended) without re-registering, except when
 * the event asks for it (deactivated: at once; probation: after its
 * retry-after): with mechanism `none` the S-CSCF ends the older access's
 * binding when a newer one registers (unregistered), and re-registering
 * it at once would make the two accesses evict each other for ever. Our
 * contact "shortened" moves the registration's expiry (network-initiated
 * re-authentication).
 */
#ifndef SIMREG_UE_REGEVENT_H
#define SIMREG_UE_REGEVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/loop.h"
#include "core/str.h"
#include "reginfo/reginfo.h"

#define UE_SUB_STATES(X)                                    \
	X(NONE, "none")                                     \
	X(SUBSCRIBING, "subscribing")                       \
	X(ACTIVE, "active")                                 \
	X(REFRESHING, "refreshing")                         \
	X(TERMINATED, "terminated")

enum ue_sub_state {
#define X(id, name) UE_SUB_##id,
	UE_SUB_STATES(X)
#undef X
};

const char *ue_sub_state_name(enum ue_sub_state s);

/* What the UE believes about one IMPU, from the NOTIFYs of one access. */
struct ue_belief {
	char aor[160];
	enum reginfo_reg_state state;
	unsigned active_contacts;
	bool ours_active;    /* our contact on this access is among the active ones */
};

#define UE_MAX_BELIEFS 8
#define UE_SUB_MAX_ROUTES 4
#define UE_SUB_URI_MAX 256

/*
 * The subscription's dialog (RFC 6665 4.1.2.2, RFC 3261 12.1.2) is known
 * once the first 2xx or NOTIFY came: the notifier's tag, its Contact (the
 * remote target) and the route set, from the Record-Route of that
 * message (the P-CSCF's entry names the access's flow token). A refresh
 * is a SUBSCRIBE inside that dialog.
 *
 * One timer, read by state: ACTIVE, the refresh is due; REFRESHING, the
 * subscription runs out (the refresh was not answered in time);
 * TERMINATED, the next attempt at a new subscription is due.
 */
struct ue_sub {
	enum ue_sub_state state;
	char call_id[40];
	char tag[24];         /* our (From) tag */
	char remote_tag[64];  /* the notifier's tag */
	bool dialog;          /* remote target and route set known */
	char target[UE_SUB_URI_MAX];
	char routes[UE_SUB_MAX_ROUTES][UE_SUB_URI_MAX];
	unsigned nroutes;
	uint32_t cseq;
	uint64_t txn;
	uint32_t expires;     /* granted by the last 2xx or NOTIFY */
	uint64_t expires_at_ms;
	unsigned failures;    /* attempts failed since the last 2xx (RFC 5626 4.5 back-off) */
	uint64_t refreshes;   /* refreshes the notifier accepted */
	bool full_wanted;     /* a version was missed: the next refresh is for full state */
	struct reginfo_watch watch;
	uint64_t notifies;
	struct ue_belief beliefs[UE_MAX_BELIEFS];
	unsigned nbeliefs;
	struct loop_timer timer;
};

struct ue;
struct ue_access;
struct sip_msg;
struct ue_reply;

/* Initialise the subscription part of an access (its timer). */
void ue_sub_init(struct ue *ue, struct ue_access *a);

/*
 * Start a new subscription of access a (registered): SUBSCRIBE outside
 * any dialog over its established set, through its Service-Route.
 */
int ue_sub_start(struct ue *ue, struct ue_access *a);

/* Forget the subscription of a (deregistered, dropped): no message is sent, the timer stops. */
void ue_sub_reset(struct ue *ue, struct ue_access *a);

/* A final response (or failure, msg NULL and err < 0) to our SUBSCRIBE. */
void ue_sub_response(struct ue *ue, struct ue_access *a, struct sip_msg *msg, int err);

/*
 * A NOTIFY arrived on access `on`. Finds the subscription by Call-ID and
 * our tag (on any access: the answer still leaves over `on`), applies the
 * document, and fills the reply: 200, 481 (no such subscription), 489
 * (not Event: reg), 400 (no or bad document). What the NOTIFY asks for
 * (a refresh for full state, a new subscription after a terminated one)
 * is sent after the answer, from a zero-delay timer.
 */
void ue_sub_notify(struct ue *ue, struct ue_access *on, struct sip_msg *msg,
		   struct ue_reply *rep);

#endif
