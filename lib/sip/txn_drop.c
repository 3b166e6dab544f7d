/*
 * txn_drop.c - end a server transaction without answering (txn_drop.h).
 */
#include "sip/txn_drop.h"

#include <errno.h>

#include "sip/stack_int.h"

int sip_server_txn_drop(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = sip_txn_get(st, id);

	if (!t)
		return -ENOENT;
	if (t->kind != SIP_TXN_IST && t->kind != SIP_TXN_NIST)
		return -EPROTO;
	/*
	 * TU_ABORT answers 503 for a request nobody answered (the shutdown
	 * case); here nothing at all must go out. The abort action sends
	 * only while no final response is recorded, so record one.
	 */
	if (t->last_status < 200)
		t->last_status = 200;
	return sip_txn_feed(t, SIP_TXN_EV_TU_ABORT, NULL) == 0 ? 0 : -EPROTO;
}
