/*
 * dmsg.h - building and reading AVPs of freeDiameter messages.
 *
 * Thin, typed wrappers over fd_msg_avp_new/_setvalue/_add and
 * fd_msg_browse, so message code reads as "add Public-Identity", "get
 * SIP-Number-Auth-Items". A parent is a struct msg or a grouped struct avp
 * (freeDiameter's msg_or_avp). Values are copied into the message.
 *
 * All functions return 0 or a negative errno: -ENOENT when the AVP is
 * absent, -EINVAL when its value has the wrong size for the request,
 * -ENOMEM, or the freeDiameter error negated.
 *
 * Getters return slices into the message: they live as long as it does.
 */
#ifndef SIMREG_DIAMETER_DMSG_H
#define SIMREG_DIAMETER_DMSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct dict_object;
struct avp;

/* Add a child AVP to `parent` (a struct msg * or a grouped struct avp *). */
int dmsg_add_u32(void *parent, struct dict_object *model, uint32_t v);
int dmsg_add_i32(void *parent, struct dict_object *model, int32_t v);
int dmsg_add_octets(void *parent, struct dict_object *model, const void *data, size_t len);
static inline int dmsg_add_str(void *parent, struct dict_object *model, struct str s)
{
	return dmsg_add_octets(parent, model, s.s, s.len);
}
/* Add an empty grouped AVP; *group receives it to add children to. */
int dmsg_add_group(void *parent, struct dict_object *model, struct avp **group);

/*
 * Find the first child of `parent` whose model is `model` after `prev`
 * (NULL: from the start). Only direct children are searched.
 */
int dmsg_find(void *parent, struct dict_object *model, struct avp *prev, struct avp **out);

/* Count the direct children of `parent` with this model. */
size_t dmsg_count(void *parent, struct dict_object *model);

/* Value of an AVP found with dmsg_find(). */
int dmsg_avp_u32(struct avp *avp, uint32_t *v);
int dmsg_avp_i32(struct avp *avp, int32_t *v);
int dmsg_avp_octets(struct avp *avp, struct str *v);

/* Find the first child with this model and read its value. */
int dmsg_get_u32(void *parent, struct dict_object *model, uint32_t *v);
int dmsg_get_i32(void *parent, struct dict_object *model, int32_t *v);
int dmsg_get_str(void *parent, struct dict_object *model, struct str *v);

#endif
