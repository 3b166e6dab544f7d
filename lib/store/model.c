#include "store/model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

static const char *const auth_scheme_names[STORE_AUTH__COUNT] = {
#define X(id, name) [STORE_AUTH_##id] = name,
	STORE_AUTH_SCHEMES(X)
#undef X
};

static const char *const reg_state_names[STORE_REG__COUNT] = {
#define X(id, name) [STORE_##id] = name,
	STORE_REG_STATES(X)
#undef X
};

const char *store_auth_scheme_name(enum store_auth_scheme s)
{
	return s < STORE_AUTH__COUNT ? auth_scheme_names[s] : "?";
}

int store_auth_scheme_parse(struct str name, enum store_auth_scheme *out)
{
	for (int i = 0; i < STORE_AUTH__COUNT; i++) {
		if (str_eq_cstr(name, auth_scheme_names[i])) {
			*out = (enum store_auth_scheme)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *store_reg_state_name(enum store_reg_state s)
{
	return s < STORE_REG__COUNT ? reg_state_names[s] : "?";
}

/* Characters an identity may hold: visible ASCII minus the awkward ones. */
static bool identity_char(char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return !strchr("\"<>\\,|{}", c);
}

static int check_chars(struct str id, const char **why)
{
	if (id.len == 0) {
		*why = "is empty";
		return -EINVAL;
	}
	if (id.len > STORE_IDENTITY_MAX) {
		*why = "is longer than 255 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < id.len; i++) {
		if (!identity_char(id.s[i])) {
			*why = "holds a space, a control character or one of \" < > \\ , | { }";
			return -EINVAL;
		}
	}
	return 0;
}

static ptrdiff_t last_at(struct str s)
{
	for (size_t i = s.len; i > 0; i--) {
		if (s.s[i - 1] == '@')
			return (ptrdiff_t)(i - 1);
	}
	return -1;
}

int model_check_impi(struct str impi, const char **why)
{
	ptrdiff_t at;
	int err = check_chars(impi, why);

	if (err)
		return err;
	at = last_at(impi);
	if (at < 0) {
		*why = "is not user@realm (no '@')";
		return -EINVAL;
	}
	if (at == 0 || (size_t)at + 1 == impi.len) {
		*why = "is not user@realm (empty user or realm)";
		return -EINVAL;
	}
	return 0;
}

int model_check_impu(struct str impu, const char **why)
{
	static const char *const schemes[] = { "sip:", "sips:", "tel:" };
	int err = check_chars(impu, why);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t l = strlen(schemes[i]);

		if (impu.len > l && str_caseeq_cstr(str_sub(impu, 0, l), schemes[i]))
			return 0;
	}
	*why = "is not a sip:, sips: or tel: URI";
	return -EINVAL;
}

bool model_rule_is_none(struct str rule)
{
	rule = str_trim(rule);
	return rule.len == 0 || str_eq_cstr(rule, "none");
}

/* A parsed rule: up to one range, literal text and placeholders around it. */
struct rule_range {
	bool present;
	uint32_t from, to;
};

/* Parse "{A..B}" contents (without braces). */
static int parse_range(struct str body, struct rule_range *r, const char **why)
{
	ptrdiff_t dots = -1;
	uint64_t a, b;

	for (size_t i = 0; i + 1 < body.len; i++) {
		if (body.s[i] == '.' && body.s[i + 1] == '.') {
			dots = (ptrdiff_t)i;
			break;
		}
	}
	if (dots < 0) {
		*why = "has an unknown placeholder (use {user}, {realm} or {A..B})";
		return -EINVAL;
	}
	if (str_to_u64(str_sub(body, 0, (size_t)dots), 9999, &a) ||
	    str_to_u64(str_sub(body, (size_t)dots + 2, body.len), 9999, &b)) {
		*why = "has a range whose bounds are not numbers from 0 to 9999";
		return -EINVAL;
	}
	if (a > b) {
		*why = "has a range whose start is above its end";
		return -EINVAL;
	}
	if (b - a + 1 > STORE_DERIVED_MAX) {
		*why = "gives more than 32 derived IMPIs";
		return -EINVAL;
	}
	r->present = true;
	r->from = (uint32_t)a;
	r->to = (uint32_t)b;
	return 0;
}

/*
 * Render the rule for one value of the range into buf. The rule was
 * checked by a first pass (render with check = true).
 */
static int render(struct str rule, struct str user, struct str realm, uint32_t n, char *buf,
		  size_t cap, size_t *len, struct rule_range *range, const char **why)
{
	size_t o = 0;

	for (size_t i = 0; i < rule.len;) {
		struct str piece;

		if (rule.s[i] == '}') {
			*why = "has a '}' without '{'";
			return -EINVAL;
		}
		if (rule.s[i] != '{') {
			piece = str_make(rule.s + i, 1);
			i++;
		} else {
			ptrdiff_t close = str_chr(str_sub(rule, i, rule.len - i), '}');
			struct str body;
			char num[12];

			if (close < 0) {
				*why = "has a '{' without '}'";
				return -EINVAL;
			}
			body = str_sub(rule, i + 1, (size_t)close - 1);
			i += (size_t)close + 1;
			if (str_eq_cstr(body, "user")) {
				piece = user;
			} else if (str_eq_cstr(body, "realm")) {
				piece = realm;
			} else {
				if (range) {
					if (range->present) {
						*why = "has more than one {A..B} range";
						return -EINVAL;
					}
					if (parse_range(body, range, why))
						return -EINVAL;
				}
				snprintf(num, sizeof(num), "%u", n);
				piece = str_from_cstr(num);
				if (o + piece.len > cap)
					goto too_long;
				memcpy(buf + o, piece.s, piece.len);
				o += piece.len;
				continue;
			}
		}
		if (o + piece.len > cap)
			goto too_long;
		memcpy(buf + o, piece.s, piece.len);
		o += piece.len;
	}
	*len = o;
	return 0;
too_long:
	*why = "gives an IMPI longer than 255 bytes";
	return -EINVAL;
}

int model_derived_expand(struct str rule, struct str impi, struct arena *a, struct str **out,
			 size_t *n, const char **why)
{
	char buf[STORE_IDENTITY_MAX];
	struct rule_range range = { 0 };
	struct str user, realm, *v;
	size_t count, len;
	ptrdiff_t at;
	int err;

	*out = NULL;
	*n = 0;
	rule = str_trim(rule);
	if (model_rule_is_none(rule))
		return 0;
	if (rule.len > MODEL_RULE_MAX) {
		*why = "is longer than 128 bytes";
		return -EINVAL;
	}
	err = model_check_impi(impi, why);
	if (err)
		return err;
	at = last_at(impi);
	user = str_sub(impi, 0, (size_t)at);
	realm = str_sub(impi, (size_t)at + 1, impi.len);

	/* First pass: syntax, and find the range. */
	err = render(rule, user, realm, 0, buf, sizeof(buf), &len, &range, why);
	if (err)
		return err;
	if (!range.present)
		range.from = range.to = 0;
	count = range.to - range.from + 1;
	v = arena_alloc(a, count * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		err = render(rule, user, realm, range.from + (uint32_t)i, buf, sizeof(buf), &len,
			     NULL, why);
		if (err)
			return err;
		v[i] = arena_str(a, str_make(buf, len));
		if (!v[i].s)
			return -ENOMEM;
		if (model_check_impi(v[i], why)) {
			*why = "gives something that is not an IMPI (user@realm, no spaces)";
			return -EINVAL;
		}
		if (str_eq(v[i], impi)) {
			*why = "gives the subscription's own IMPI";
			return -EINVAL;
		}
	}
	*out = v;
	*n = count;
	return 0;
}

/* Next element of a list split at any of `seps`; false at the end. */
static bool next_item(struct str *rest, const char *seps, struct str *item, char *sep)
{
	size_t i = 0;

	if (!rest->s)
		return false;
	while (i < rest->len && !strchr(seps, rest->s[i]))
		i++;
	*item = str_trim(str_sub(*rest, 0, i));
	*sep = i < rest->len ? rest->s[i] : '\0';
	if (i < rest->len)
		*rest = str_sub(*rest, i + 1, rest->len - i - 1);
	else
		*rest = STR_NULL;
	return true;
}

int model_impu_list_parse(struct str text, uint32_t first_irs, struct arena *a,
			  struct store_impu_spec **out, size_t *n, uint32_t *next_irs,
			  const char **why)
{
	struct store_impu_spec *v = *out;
	uint32_t irs = first_irs;
	struct str rest = text, item;
	size_t count = *n;
	char sep;

	if (str_trim(text).len == 0) {
		*why = "is empty";
		return -EINVAL;
	}
	/* The array is small (STORE_IMPU_MAX); allocate its final size once. */
	if (!v) {
		v = arena_alloc(a, STORE_IMPU_MAX * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	while (next_item(&rest, ",|", &item, &sep)) {
		if (model_check_impu(item, why))
			return -EINVAL;
		for (size_t j = 0; j < count; j++) {
			if (str_eq(v[j].uri, item)) {
				*why = "names the same IMPU twice";
				return -EINVAL;
			}
		}
		if (count == STORE_IMPU_MAX) {
			*why = "has more than 64 IMPUs";
			return -EINVAL;
		}
		v[count] = (struct store_impu_spec){ .uri = item, .irs = irs };
		count++;
		if (sep == '|')
			irs++;
	}
	*out = v;
	*n = count;
	*next_irs = irs + 1;
	return 0;
}

int model_impu_flag(struct str list, enum model_impu_flag which, struct store_impu_spec *impus,
		    size_t n, const char **why)
{
	struct str rest = list, item;
	char sep;

	if (str_trim(list).len == 0) {
		*why = "is empty";
		return -EINVAL;
	}
	while (next_item(&rest, ",|", &item, &sep)) {
		size_t j;

		for (j = 0; j < n; j++) {
			if (str_eq(impus[j].uri, item))
				break;
		}
		if (j == n) {
			*why = "names an IMPU the subscription does not have";
			return -EINVAL;
		}
		if (which == MODEL_IMPU_BARRED)
			impus[j].barred = true;
		else
			impus[j].unreg_services = true;
	}
	return 0;
}
