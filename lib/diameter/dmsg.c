#include "diameter/dmsg.h"

#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdproto.h>

/* freeDiameter returns positive errno values; ours are negative. */
static int fd_err(int rc)
{
	return rc > 0 ? -rc : rc;
}

static int add_value(void *parent, struct dict_object *model, union avp_value *v)
{
	struct avp *avp = NULL;
	int rc;

	if (!model)
		return -EINVAL;
	rc = fd_msg_avp_new(model, 0, &avp);
	if (rc)
		return fd_err(rc);
	if (v)
		rc = fd_msg_avp_setvalue(avp, v);
	if (!rc)
		rc = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
	if (rc)
		fd_msg_free(avp);
	return fd_err(rc);
}

int dmsg_add_u32(void *parent, struct dict_object *model, uint32_t v)
{
	union avp_value val = { .u32 = v };

	return add_value(parent, model, &val);
}

int dmsg_add_i32(void *parent, struct dict_object *model, int32_t v)
{
	union avp_value val = { .i32 = v };

	return add_value(parent, model, &val);
}

int dmsg_add_octets(void *parent, struct dict_object *model, const void *data, size_t len)
{
	/* setvalue copies the bytes; it takes a non-const pointer only. */
	union avp_value val = { .os = { .data = (uint8_t *)(uintptr_t)data, .len = len } };

	if (!data && len)
		return -EINVAL;
	if (!data)
		val.os.data = (uint8_t *)"";
	return add_value(parent, model, &val);
}

int dmsg_add_group(void *parent, struct dict_object *model, struct avp **group)
{
	struct avp *avp = NULL;
	int rc;

	if (!model)
		return -EINVAL;
	rc = fd_msg_avp_new(model, 0, &avp);
	if (rc)
		return fd_err(rc);
	rc = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
	if (rc) {
		fd_msg_free(avp);
		return fd_err(rc);
	}
	*group = avp;
	return 0;
}

int dmsg_find(void *parent, struct dict_object *model, struct avp *prev, struct avp **out)
{
	msg_or_avp *it = NULL;
	int rc;

	if (!model)
		return -EINVAL;
	if (prev)
		rc = fd_msg_browse(prev, MSG_BRW_NEXT, &it, NULL);
	else
		rc = fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &it, NULL);
	while (!rc && it) {
		struct dict_object *m = NULL;

		if (fd_msg_model(it, &m) == 0 && m == model) {
			*out = it;
			return 0;
		}
		rc = fd_msg_browse(it, MSG_BRW_NEXT, &it, NULL);
	}
	return rc ? fd_err(rc) : -ENOENT;
}

size_t dmsg_count(void *parent, struct dict_object *model)
{
	struct avp *a = NULL;
	size_t n = 0;

	while (dmsg_find(parent, model, a, &a) == 0)
		n++;
	return n;
}

static int avp_value(struct avp *avp, union avp_value **v)
{
	struct avp_hdr *h = NULL;
	int rc = fd_msg_avp_hdr(avp, &h);

	if (rc)
		return fd_err(rc);
	/* An AVP the dictionary could not parse has no value. */
	if (!h->avp_value)
		return -EINVAL;
	*v = h->avp_value;
	return 0;
}

int dmsg_avp_u32(struct avp *avp, uint32_t *v)
{
	union avp_value *val;
	int err = avp_value(avp, &val);

	if (!err)
		*v = val->u32;
	return err;
}

int dmsg_avp_i32(struct avp *avp, int32_t *v)
{
	union avp_value *val;
	int err = avp_value(avp, &val);

	if (!err)
		*v = val->i32;
	return err;
}

int dmsg_avp_octets(struct avp *avp, struct str *v)
{
	union avp_value *val;
	int err = avp_value(avp, &val);

	if (!err)
		*v = str_make((const char *)val->os.data, val->os.len);
	return err;
}

int dmsg_get_u32(void *parent, struct dict_object *model, uint32_t *v)
{
	struct avp *a;
	int err = dmsg_find(parent, model, NULL, &a);

	return err ? err : dmsg_avp_u32(a, v);
}

int dmsg_get_i32(void *parent, struct dict_object *model, int32_t *v)
{
	struct avp *a;
	int err = dmsg_find(parent, model, NULL, &a);

	return err ? err : dmsg_avp_i32(a, v);
}

int dmsg_get_str(void *parent, struct dict_object *model, struct str *v)
{
	struct avp *a;
	int err = dmsg_find(parent, model, NULL, &a);

	return err ? err : dmsg_avp_octets(a, v);
}
