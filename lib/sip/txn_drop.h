/*
 * txn_drop.h - end a server transaction without answering it.
 *
 * An edge proxy drops some requests on purpose (a request over an SA that
 * carries responses only, a request over a security association it no
 * longer knows): answering would tell an unauthenticated sender something,
 * or go over an SA the request did not use. The stack has already created
 * the server transaction when the request reaches its user; this ends it
 * quietly, as if its user had gone away (the TU_ABORT event of txn.h), so
 * that nothing is kept for a request nobody will answer.
 *
 * (Kept apart from txn.h on the P-CSCF's branch; it belongs there.)
 */
#ifndef SIMREG_SIP_TXN_DROP_H
#define SIMREG_SIP_TXN_DROP_H

#include "sip/txn.h"

/*
 * Terminate server transaction `id` without sending anything; a
 * retransmission of its request afterwards is a new request. May be called
 * from the stack's request callback. Returns 0, -ENOENT (gone) or -EPROTO
 * (the transaction's table refused: it is not a server transaction).
 */
int sip_server_txn_drop(struct sip_stack *st, sip_txn_id id);

#endif
