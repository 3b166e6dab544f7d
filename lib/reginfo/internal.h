/*
 * internal.h - what the files of lib/reginfo share and nobody else sees.
 */
#ifndef SIMREG_REGINFO_INTERNAL_H
#define SIMREG_REGINFO_INTERNAL_H

#include <libxml/tree.h>

#include "reginfo/reginfo.h"

/*
 * Read `buf` into a libxml2 tree with the parser's hardening: no network,
 * no DTD (a DOCTYPE is refused), no entity substitution, libxml2's depth
 * limit, at most REGINFO_MAX_DOC bytes. Returns 0 and the tree in *out
 * (the caller frees it with xmlFreeDoc()), -EMSGSIZE, -EBADMSG or -ENOMEM
 * with the reason in *err.
 */
int reginfo_read_xml(const char *buf, size_t len, xmlDocPtr *out, struct reginfo_error *err);

#endif
