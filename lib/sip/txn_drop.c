/*
 * txn_drop.c - end a server transaction without answering (txn_drop.h).
 */
#include "sip/txn_drop.h"

#include <errno.h>

#include "sip/stack_int.h"

int sip_server_txn_drop(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = txn_get(st, id);

	if (!t)
		return -ENOENT;
	return txn_event(t, SIP_TXN_EV_TU_ABORT, NULL) == 0 ? 0 : -EPROTO;
}
