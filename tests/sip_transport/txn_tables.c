/*
 * txn_tables - print the transaction state tables as Markdown, the way
 * docs/sip-transport.md shows them (txn_tables_doc.sh keeps the two equal).
 */
#include <stdio.h>

#include "sip/txn.h"

int main(void)
{
	return sip_txn_tables_markdown(stdout) < 0 ? 1 : 0;
}
