/*
 * mech.c - mechanisms, the modified-IMPI rule, and the UE's timing rules.
 */
#include "ue/mech.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const ue_mech_names[] = {
#define X(id, name, flags) name,
	UE_MECHS(X)
#undef X
	NULL,
};

static const unsigned mech_flags[] = {
#define X(id, name, flags) flags,
	UE_MECHS(X)
#undef X
};

const char *ue_mech_name(enum ue_mech m)
{
	return (unsigned)m < UE_MECH__COUNT ? ue_mech_names[m] : "?";
}

unsigned ue_mech_flags(enum ue_mech m)
{
	return (unsigned)m < UE_MECH__COUNT ? mech_flags[m] : 0;
}

/* ---- modified IMPI --------------------------------------------------- */

static int put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		return -ENOSPC;
	memcpy(out + *len, s, n);
	*len += n;
	return 0;
}

int ue_impi_derive(const char *tmpl, struct str impi, unsigned n, char *out, size_t cap)
{
	const char *at = NULL;
	struct str user, realm;
	size_t len = 0;
	char num[16];
	int rc = -EINVAL;

	if (n == 0 || cap == 0)
		goto out;
	for (size_t i = 0; i < impi.len; i++)
		if (impi.s[i] == '@')
			at = impi.s + i;
	if (!at)
		goto out;
	user = str_make(impi.s, (size_t)(at - impi.s));
	realm = str_make(at + 1, impi.len - user.len - 1);
	if (!user.len || !realm.len)
		goto out;
	if (n == 1) {
		rc = put(out, cap, &len, impi.s, impi.len);
		goto done;
	}
	snprintf(num, sizeof(num), "%u", n);
	for (const char *p = tmpl; *p; p++) {
		const char *close;
		struct str name, val;

		if (*p != '{') {
			rc = put(out, cap, &len, p, 1);
			if (rc)
				goto out;
			continue;
		}
		close = strchr(p, '}');
		if (!close) {
			rc = -EINVAL;
			goto out;
		}
		name = str_make(p + 1, (size_t)(close - p - 1));
		if (str_eq_cstr(name, "user"))
			val = user;
		else if (str_eq_cstr(name, "realm"))
			val = realm;
		else if (str_eq_cstr(name, "impi"))
			val = impi;
		else if (str_eq_cstr(name, "n"))
			val = str_from_cstr(num);
		else {
			rc = -EINVAL;
			goto out;
		}
		rc = put(out, cap, &len, val.s, val.len);
		if (rc)
			goto out;
		p = close;
	}
	rc = 0;
done:
	if (rc == 0) {
		out[len] = '\0';
		rc = (int)len;
	}
out:
	return rc;
}

/* One '@' with something on both sides. */
static bool impi_shape_ok(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && at[1] && !strchr(at + 1, '@');
}

int ue_impi_template_check(const char *tmpl, char *why, size_t whylen)
{
	static const char sample[] = "user@realm.example";
	char a[UE_IMPI_MAX], b[UE_IMPI_MAX];

	if (ue_impi_derive(tmpl, STR_LIT(sample), 2, a, sizeof(a)) < 0 ||
	    ue_impi_derive(tmpl, STR_LIT(sample), 3, b, sizeof(b)) < 0) {
		snprintf(why, whylen,
			 "template '%s' does not expand: placeholders are {user}, {realm}, "
			 "{impi} and {n}",
			 tmpl);
		return -EINVAL;
	}
	if (!impi_shape_ok(a)) {
		snprintf(why, whylen, "template '%s' gives '%s', not USER@REALM", tmpl, a);
		return -EINVAL;
	}
	if (strcmp(a, b) == 0) {
		snprintf(why, whylen,
			 "template '%s' gives the same IMPI for every access (use {n})", tmpl);
		return -EINVAL;
	}
	return 0;
}

/* ---- timing ------------------------------------------------------------ */

uint32_t ue_refresh_delay_s(uint32_t expires)
{
	return expires > 1200 ? expires - 600 : expires / 2;
}

/* lo + (hi - lo) * rand32 / 2^32, without overflow for the ranges used here. */
static uint64_t spread(uint64_t lo, uint64_t hi, uint32_t rand32)
{
	return lo + (((hi - lo) * (uint64_t)rand32) >> 32);
}

uint64_t ue_backoff_ms(const struct ue_backoff *b, unsigned failures, bool some_flow_ok,
		       uint32_t rand32)
{
	uint64_t base = some_flow_ok ? b->base_some_ok_ms : b->base_all_failed_ms;
	uint64_t w = b->max_ms;

	/* base * 2^failures, saturating at max_time before it can overflow. */
	if (failures < 32 && base <= (b->max_ms >> failures))
		w = base << failures;
	return spread(w / 2, w, rand32);
}

uint64_t ue_keepalive_ms(uint32_t flow_timer_s, bool stream, uint32_t rand32)
{
	if (flow_timer_s)
		return spread((uint64_t)flow_timer_s * 800, (uint64_t)flow_timer_s * 1000, rand32);
	if (stream)
		return spread(95000, 120000, rand32);
	return spread(24000, 29000, rand32);
}
