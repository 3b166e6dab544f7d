#include "ctl/sub_fields.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/hex.h"
#include "store/model.h"

const char *const sub_field_name[SF__COUNT] = {
#define X(id, name, arg, help) [SF_##id] = name,
	SUB_FIELDS(X)
#undef X
};

const char *const sub_field_arg[SF__COUNT] = {
#define X(id, name, arg, help) [SF_##id] = arg,
	SUB_FIELDS(X)
#undef X
};

const char *const sub_field_help[SF__COUNT] = {
#define X(id, name, arg, help) [SF_##id] = help,
	SUB_FIELDS(X)
#undef X
};

int sub_field_lookup(struct str name)
{
	for (int i = 0; i < SF__COUNT; i++) {
		if (str_eq_cstr(name, sub_field_name[i]))
			return i;
	}
	return -1;
}

static int fail(struct sub_error *e, enum sub_field field, const char *why)
{
	e->field = field;
	e->why = why;
	e->detail[0] = '\0';
	return -EINVAL;
}

static int parse_key(struct str text, uint8_t out[STORE_KEY_LEN], struct sub_error *e,
		     enum sub_field field)
{
	if (hex_decode(str_trim(text), out, STORE_KEY_LEN))
		return fail(e, field, "is not 32 hex digits");
	return 0;
}

static int parse_amf(struct str text, uint8_t out[STORE_AMF_LEN], struct sub_error *e)
{
	if (hex_decode(str_trim(text), out, STORE_AMF_LEN))
		return fail(e, SF_AMF, "is not 4 hex digits");
	return 0;
}

/* 1 to 12 hex digits: a 48-bit SQN (TS 33.102 section 6.3.2). */
static int parse_sqn(struct str text, uint64_t *out, struct sub_error *e)
{
	uint64_t v = 0;

	text = str_trim(text);
	if (text.len > 2 && text.s[0] == '0' && (text.s[1] == 'x' || text.s[1] == 'X'))
		text = str_sub(text, 2, text.len - 2);
	if (text.len == 0 || text.len > 12)
		return fail(e, SF_SQN, "is not 1 to 12 hex digits (48 bits)");
	for (size_t i = 0; i < text.len; i++) {
		char c = text.s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return fail(e, SF_SQN, "is not 1 to 12 hex digits (48 bits)");
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static int parse_max_reg(struct str text, uint32_t *out, struct sub_error *e)
{
	uint64_t v;

	if (str_to_u64(str_trim(text), 1000, &v))
		return fail(e, SF_MAX_REG, "is not a number from 0 to 1000");
	*out = (uint32_t)v;
	return 0;
}

static int parse_yes_no(struct str text, bool *out, struct sub_error *e, enum sub_field field)
{
	text = str_trim(text);
	if (str_eq_cstr(text, "yes") || str_eq_cstr(text, "true") || str_eq_cstr(text, "1"))
		*out = true;
	else if (str_eq_cstr(text, "no") || str_eq_cstr(text, "false") || str_eq_cstr(text, "0"))
		*out = false;
	else
		return fail(e, field, "is not yes or no");
	return 0;
}

static bool is_none(struct str text)
{
	return str_eq_cstr(str_trim(text), "none");
}

/* OPc or OP: exactly one for a new subscription, at most one for `set`. */
static int parse_op(const struct sub_fields *f, bool required, uint8_t op[STORE_KEY_LEN],
		    bool *is_opc, struct sub_error *e)
{
	if (f->set[SF_OPC] && f->set[SF_OP])
		return fail(e, SF_OP, "is given together with opc; give one of them");
	if (f->set[SF_OPC]) {
		*is_opc = true;
		return parse_key(f->v[SF_OPC], op, e, SF_OPC);
	}
	if (f->set[SF_OP]) {
		*is_opc = false;
		return parse_key(f->v[SF_OP], op, e, SF_OP);
	}
	return required ? fail(e, SF_OPC, "is missing (give opc or op)") : 0;
}

static int parse_impus(const struct sub_fields *f, struct arena *a, struct store_impu_spec **v,
		       size_t *n, struct sub_error *e)
{
	uint32_t next_irs;
	const char *why = NULL;
	int err;

	*v = NULL;
	*n = 0;
	err = model_impu_list_parse(f->v[SF_IMPU], 1, a, v, n, &next_irs, &why);
	if (err == -EINVAL)
		return fail(e, SF_IMPU, why);
	if (err)
		return err;
	if (f->set[SF_BARRED] && !is_none(f->v[SF_BARRED])) {
		if (model_impu_flag(f->v[SF_BARRED], MODEL_IMPU_BARRED, *v, *n, &why))
			return fail(e, SF_BARRED, why);
	}
	if (f->set[SF_UNREG] && !is_none(f->v[SF_UNREG])) {
		if (model_impu_flag(f->v[SF_UNREG], MODEL_IMPU_UNREG_SERVICES, *v, *n, &why))
			return fail(e, SF_UNREG, why);
	}
	return 0;
}

static int parse_derived(struct str rule, struct str impi, struct arena *a, struct str **out,
			 size_t *n, struct sub_error *e)
{
	const char *why = NULL;
	int err = model_derived_expand(rule, impi, a, out, n, &why);

	return err == -EINVAL ? fail(e, SF_DERIVED, why) : err;
}

int sub_fields_to_spec(const struct sub_fields *f, struct arena *a,
		       struct store_subscription_spec *spec, struct sub_error *e)
{
	struct store_impu_spec *impus = NULL;
	struct str *derived = NULL;
	const char *why = NULL;
	int err;

	memset(spec, 0, sizeof(*spec));
	spec->amf[0] = 0x80;
	spec->auth_scheme = STORE_AUTH_AKAV1_MD5;
	if (!f->set[SF_IMPI])
		return fail(e, SF_IMPI, "is missing");
	spec->impi = str_trim(f->v[SF_IMPI]);
	if (model_check_impi(spec->impi, &why))
		return fail(e, SF_IMPI, why);
	if (!f->set[SF_IMPU])
		return fail(e, SF_IMPU, "is missing");
	err = parse_impus(f, a, &impus, &spec->n_impus, e);
	if (err)
		return err;
	spec->impus = impus;
	if (!f->set[SF_K])
		return fail(e, SF_K, "is missing");
	err = parse_key(f->v[SF_K], spec->k, e, SF_K);
	if (!err)
		err = parse_op(f, true, spec->op, &spec->op_is_opc, e);
	if (!err && f->set[SF_AMF])
		err = parse_amf(f->v[SF_AMF], spec->amf, e);
	if (!err && f->set[SF_SQN])
		err = parse_sqn(f->v[SF_SQN], &spec->sqn, e);
	if (!err && f->set[SF_MAX_REG])
		err = parse_max_reg(f->v[SF_MAX_REG], &spec->max_registrations, e);
	if (!err && f->set[SF_ROAMING])
		err = parse_yes_no(f->v[SF_ROAMING], &spec->roaming_allowed, e, SF_ROAMING);
	if (!err && f->set[SF_DERIVED] && !model_rule_is_none(f->v[SF_DERIVED])) {
		err = parse_derived(f->v[SF_DERIVED], spec->impi, a, &derived, &spec->n_derived, e);
		spec->derived = derived;
		spec->derived_rule = str_trim(f->v[SF_DERIVED]);
	}
	return err;
}

/* --barred / --unregistered-services without --impu: change flags in place. */
static int apply_flags(const struct sub_fields *f, struct store *st, int64_t id,
		       struct arena *a, struct sub_error *e)
{
	struct store_impu_spec *specs;
	struct store_impu *cur;
	const char *why = NULL;
	size_t n;
	int err;

	err = store_impu_list(st, id, a, &cur, &n);
	if (err)
		return err;
	specs = arena_alloc(a, (n ? n : 1) * sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		specs[i] = (struct store_impu_spec){ .uri = cur[i].uri, .irs = cur[i].irs,
						     .barred = cur[i].barred,
						     .unreg_services = cur[i].unreg_services };
	if (f->set[SF_BARRED]) {
		for (size_t i = 0; i < n; i++)
			specs[i].barred = false;
		if (!is_none(f->v[SF_BARRED]) &&
		    model_impu_flag(f->v[SF_BARRED], MODEL_IMPU_BARRED, specs, n, &why))
			return fail(e, SF_BARRED, why);
	}
	if (f->set[SF_UNREG]) {
		for (size_t i = 0; i < n; i++)
			specs[i].unreg_services = false;
		if (!is_none(f->v[SF_UNREG]) &&
		    model_impu_flag(f->v[SF_UNREG], MODEL_IMPU_UNREG_SERVICES, specs, n, &why))
			return fail(e, SF_UNREG, why);
	}
	for (size_t i = 0; i < n && !err; i++)
		err = store_impu_set_flags(st, cur[i].id, specs[i].barred, specs[i].unreg_services);
	return err;
}

int sub_fields_apply(const struct sub_fields *f, struct store *st, int64_t id, struct str impi,
		     struct arena *a, struct sub_error *e)
{
	struct store_subscription_spec upd = { 0 };
	unsigned fields = 0;
	int err = 0;

	if (f->set[SF_K]) {
		err = parse_key(f->v[SF_K], upd.k, e, SF_K);
		fields |= STORE_UPD_K;
	}
	if (!err && (f->set[SF_OPC] || f->set[SF_OP])) {
		err = parse_op(f, false, upd.op, &upd.op_is_opc, e);
		fields |= STORE_UPD_OP;
	}
	if (!err && f->set[SF_AMF]) {
		err = parse_amf(f->v[SF_AMF], upd.amf, e);
		fields |= STORE_UPD_AMF;
	}
	if (!err && f->set[SF_SQN]) {
		err = parse_sqn(f->v[SF_SQN], &upd.sqn, e);
		fields |= STORE_UPD_SQN;
	}
	if (!err && f->set[SF_MAX_REG]) {
		err = parse_max_reg(f->v[SF_MAX_REG], &upd.max_registrations, e);
		fields |= STORE_UPD_MAX_REG;
	}
	if (!err && f->set[SF_ROAMING]) {
		err = parse_yes_no(f->v[SF_ROAMING], &upd.roaming_allowed, e, SF_ROAMING);
		fields |= STORE_UPD_ROAMING;
	}
	if (!err && fields)
		err = store_sub_update(st, id, fields, &upd);
	if (!err && f->set[SF_DERIVED]) {
		struct str *derived = NULL;
		size_t n = 0;
		struct str rule = str_trim(f->v[SF_DERIVED]);

		if (model_rule_is_none(rule))
			rule = STR_NULL;
		err = parse_derived(rule, impi, a, &derived, &n, e);
		if (!err)
			err = store_sub_set_derived(st, id, rule, derived, n);
	}
	if (!err && f->set[SF_IMPU]) {
		struct store_impu_spec *impus;
		size_t n;

		err = parse_impus(f, a, &impus, &n, e);
		if (!err)
			err = store_sub_set_impus(st, id, impus, n);
	} else if (!err && (f->set[SF_BARRED] || f->set[SF_UNREG])) {
		err = apply_flags(f, st, id, a, e);
	}
	return err;
}

int sub_find_conflict(struct store *st, const struct store_subscription_spec *spec,
		      struct arena *a, struct sub_error *e)
{
	struct store_subscription owner;
	struct store_impu impu;

	if (store_impi_lookup(st, spec->impi, a, NULL, &owner) == 0) {
		fail(e, SF_IMPI, "is already provisioned");
		if (str_eq(owner.impi, spec->impi))
			snprintf(e->detail, sizeof(e->detail), "%.*s", STR_FMT(spec->impi));
		else
			snprintf(e->detail, sizeof(e->detail), "%.*s (derived IMPI of %.*s)",
				 STR_FMT(spec->impi), STR_FMT(owner.impi));
		explicit_bzero(&owner, sizeof(owner));
		return 0;
	}
	for (size_t i = 0; i < spec->n_derived; i++) {
		if (store_impi_lookup(st, spec->derived[i], a, NULL, &owner) == 0) {
			fail(e, SF_DERIVED, "gives an IMPI that is already provisioned");
			snprintf(e->detail, sizeof(e->detail), "%.*s (subscription %.*s)",
				 STR_FMT(spec->derived[i]), STR_FMT(owner.impi));
			explicit_bzero(&owner, sizeof(owner));
			return 0;
		}
	}
	for (size_t i = 0; i < spec->n_impus; i++) {
		if (store_impu_lookup(st, spec->impus[i].uri, a, &impu) == 0) {
			fail(e, SF_IMPU, "names an IMPU that is already provisioned");
			snprintf(e->detail, sizeof(e->detail), "%.*s",
				 STR_FMT(spec->impus[i].uri));
			return 0;
		}
	}
	return -ENOENT;
}
