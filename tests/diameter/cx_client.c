/*
 * cx_client - a Diameter Cx client for tests, built on freeDiameter.
 *
 * It connects to the HSS as an S-CSCF/I-CSCF would, reads one request per
 * line from stdin and prints each answer as text, so a test is a script
 * and a transcript. Authentication vectors are checked by a USIM
 * (lib/aka) holding the subscriber's K and OPc: the transcript shows the
 * SQN and whether the card accepts AUTN and agrees on XRES, CK and IK,
 * which stays the same from run to run although RAND does not.
 *
 *     keys impi=alice@ims.test[,alice+2@ims.test] k=HEX (opc=HEX|op=HEX)
 *     uar  impi=I impu=U [vnet=V] [type=0|1|2] [flags=N] [omit=AVP]
 *     mar  impi=I impu=U [n=N] [scheme=S] [server=S] [auts=SQN_MS] [authorization=HEX] [omit=AVP]
 *     sar  [impi=I] [impu=U] type=NAME [server=S] [data=0|1] [contact=C] [mri=1] [omit=AVP]
 *     lir  impu=U [orig=1]
 *     (any request) burst=N: N copies at once, answers counted by result
 *     echo TEXT
 *
 * auts=SQN_MS answers the last challenge the card saw with a sync failure
 * claiming SQN_MS (an AUTS the HSS can verify); authorization= sends raw
 * octets instead. Lines starting with '#' are skipped. With --stop-on-error
 * the script ends at the first request without an answer or with a
 * protocol error, 3000-3999 (the crash test kills the HSS under it).
 * --slow-watchdog MS holds every DWR the client receives for MS before
 * freeDiameter answers it, which keeps a reconnecting HSS peer in REOPEN
 * that long (tests/hss/reconnect.sh).
 * --show-rand adds each vector's RAND to its item line (tests/hss/test_rands.sh).
 */
#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aka/milenage.h"
#include "aka/usim.h"
#include "core/hex.h"
#include "diameter/cx.h"
#include "diameter/dmsg.h"
#include "diameter/engine.h"

#define MAX_ARGS 16
#define MAX_CARDS 8

struct args {
	int n;
	char *key[MAX_ARGS];
	char *val[MAX_ARGS];
};

/* A USIM and the IMPIs that authenticate with it. */
struct card {
	char impis[512];
	struct usim usim;
	uint8_t last_rand[AKA_RAND_LEN];
	bool have_rand;
};

static struct {
	struct cx_dict d;
	const char *hss;
	const char *hss_realm;
	unsigned timeout_ms;
	bool stop_on_error;     /* --stop-on-error: no answer or a 3000-3999 ends the script */
	const char *dump_dir;   /* --dump-dir: also write each request's bytes there */
	unsigned dumped;
	bool stopped;
	unsigned slow_watchdog_ms; /* --slow-watchdog: delay before each DWA */
	bool show_rand;         /* --show-rand: print each vector's RAND */
	struct card cards[MAX_CARDS];
	int n_cards;
} c;

static const char *arg(const struct args *a, const char *key, const char *def)
{
	for (int i = 0; i < a->n; i++) {
		if (strcmp(a->key[i], key) == 0)
			return a->val[i];
	}
	return def;
}

static struct card *card_for(struct str impi)
{
	for (int i = 0; i < c.n_cards; i++) {
		const char *p = c.cards[i].impis;

		while (*p) {
			size_t l = strcspn(p, ",");

			if (l == impi.len && memcmp(p, impi.s, l) == 0)
				return &c.cards[i];
			p += l + (p[l] == ',');
		}
	}
	return NULL;
}

/* --- sending -------------------------------------------------------- */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *ans;
	bool done;
};

static void on_answer(void *data, struct msg **msg)
{
	struct waiter *w = data;

	pthread_mutex_lock(&w->mu);
	w->ans = *msg;
	*msg = NULL;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void on_expire(void *data, DiamId_t to, size_t tolen, struct msg **req)
{
	struct waiter *w = data;

	fd_msg_free(*req);
	*req = NULL;
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* The deadline of a request sent now: --timeout from now. */
static void deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += c.timeout_ms / 1000;
	ts->tv_nsec += (long)(c.timeout_ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Send with its waiter; false (and the request freed) if it could not leave. */
static bool send_request(struct msg *req, struct waiter *w, const struct timespec *ts)
{
	if (fd_msg_send_timeout(&req, on_answer, w, on_expire, ts) == 0)
		return true;
	fd_msg_free(req);
	return false;
}

/* The answer, once its callback ran; NULL on timeout. */
static struct msg *wait_answer(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return w->ans;
}

/* Send and wait for the answer; NULL on timeout. */
static struct msg *transact(struct msg *req)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false };
	struct timespec ts;

	deadline(&ts);
	if (!send_request(req, &w, &ts))
		return NULL;
	return wait_answer(&w);
}

/* --- printing -------------------------------------------------------- */

static const char *avp_name(struct avp *a)
{
	struct dict_object *model = NULL;
	struct dict_avp_data data;

	if (fd_msg_model(a, &model) || !model || fd_dict_getval(model, &data))
		return "(unknown AVP)";
	return data.avp_name;
}

static bool printable(struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		if ((unsigned char)s.s[i] < 0x20 && s.s[i] != '\n')
			return false;
	}
	return true;
}

/* One AVP as "Name: value", grouped ones with their children inline. */
static void print_value(struct avp *a)
{
	struct dict_object *model = NULL;
	struct dict_avp_data data;
	struct avp_hdr *h = NULL;

	fd_msg_avp_hdr(a, &h);
	if (fd_msg_model(a, &model) || !model || fd_dict_getval(model, &data) || !h) {
		printf("?");
		return;
	}
	if (data.avp_basetype == AVP_TYPE_GROUPED) {
		struct avp *child = NULL;
		bool first = true;

		printf("{");
		fd_msg_browse(a, MSG_BRW_FIRST_CHILD, &child, NULL);
		while (child) {
			printf("%s%s=", first ? "" : " ", avp_name(child));
			print_value(child);
			first = false;
			fd_msg_browse(child, MSG_BRW_NEXT, &child, NULL);
		}
		printf("}");
		return;
	}
	if (!h->avp_value) {
		printf("(no value)");
		return;
	}
	switch (data.avp_basetype) {
	case AVP_TYPE_OCTETSTRING: {
		struct str s = str_make((const char *)h->avp_value->os.data, h->avp_value->os.len);

		if (printable(s)) {
			printf("%.*s", STR_FMT(s));
		} else {
			char hex[2 * 64 + 1];

			hex_encode(h->avp_value->os.data, s.len > 64 ? 64 : s.len, hex);
			printf("0x%s", hex);
		}
		break;
	}
	case AVP_TYPE_INTEGER32:
		printf("%" PRId32, h->avp_value->i32);
		break;
	case AVP_TYPE_UNSIGNED32:
		printf("%" PRIu32, h->avp_value->u32);
		break;
	default:
		printf("(value)");
	}
}

/* A SIP-Auth-Data-Item, checked by the card when we have it. */
static void print_item(struct avp *item, struct card *card)
{
	const struct cx_dict *d = &c.d;
	struct str scheme = STR_NULL, auth = STR_NULL, xres = STR_NULL, ck = STR_NULL,
		   ik = STR_NULL;
	uint32_t number = 0;
	struct usim_result res;

	dmsg_get_u32(item, d->avp[CX_AVP_SIP_ITEM_NUMBER], &number);
	dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHENTICATION_SCHEME], &scheme);
	dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHENTICATE], &auth);
	dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHORIZATION], &xres);
	dmsg_get_str(item, d->avp[CX_AVP_CONFIDENTIALITY_KEY], &ck);
	dmsg_get_str(item, d->avp[CX_AVP_INTEGRITY_KEY], &ik);
	printf("  item %u: %.*s sip-authenticate=%zu xres=%zu ck=%zu ik=%zu", number,
	       STR_FMT(scheme), auth.len, xres.len, ck.len, ik.len);
	if (c.show_rand && auth.len >= AKA_RAND_LEN) {
		char hex[2 * AKA_RAND_LEN + 1];

		hex_encode((const uint8_t *)auth.s, AKA_RAND_LEN, hex);
		printf(" rand=%s", hex);
	}
	if (card && auth.len == AKA_RAND_LEN + AKA_AUTN_LEN) {
		const uint8_t *rand = (const uint8_t *)auth.s;

		memcpy(card->last_rand, rand, AKA_RAND_LEN);
		card->have_rand = true;
		if (usim_authenticate(&card->usim, rand, rand + AKA_RAND_LEN, &res) == 0) {
			printf(" | sqn=%012" PRIx64 " usim=%s", res.sqn, usim_status_name(res.status));
			if (res.status == USIM_OK)
				printf(" res=%s ck=%s ik=%s",
				       xres.len == AKA_RES_LEN && !memcmp(xres.s, res.res, AKA_RES_LEN) ?
					       "match" : "DIFFER",
				       ck.len == AKA_CK_LEN && !memcmp(ck.s, res.ck, AKA_CK_LEN) ?
					       "match" : "DIFFER",
				       ik.len == AKA_IK_LEN && !memcmp(ik.s, res.ik, AKA_IK_LEN) ?
					       "match" : "DIFFER");
			else if (res.status == USIM_SYNC_FAILURE)
				printf(" (%s)", sqn_verdict_name(res.sqn_verdict));
			usim_result_wipe(&res);
		}
	}
	printf("\n");
}

static void print_answer(struct msg *ans, const char *name)
{
	const struct cx_dict *d = &c.d;
	struct dict_object *skip[] = {
		d->base[CX_BASE_SESSION_ID], d->base[CX_BASE_ORIGIN_HOST],
		d->base[CX_BASE_ORIGIN_REALM], d->base[CX_BASE_VENDOR_SPECIFIC_APPLICATION_ID],
		d->base[CX_BASE_AUTH_SESSION_STATE], d->base[CX_BASE_RESULT_CODE],
		d->base[CX_BASE_EXPERIMENTAL_RESULT], d->base[CX_BASE_ROUTE_RECORD],
	};
	struct str user_name = STR_NULL;
	struct msg_hdr *hdr = NULL;
	struct avp *a = NULL;
	uint32_t code = 0;
	bool exp = false;
	const char *what;

	if (!ans) {
		printf("< no answer (timeout)\n");
		return;
	}
	fd_msg_hdr(ans, &hdr);
	if (cx_get_result(d, ans, &code, &exp)) {
		printf("< %s without a result\n", name);
	} else {
		what = exp ? cx_experimental_name(code) : dia_result_name(code);
		printf("< %s %u %s%s%s\n", name, code, what ? what : "?",
		       exp ? " (experimental)" : "",
		       hdr && (hdr->msg_flags & CMD_FLAG_ERROR) ? " [E]" : "");
	}
	dmsg_get_str(ans, d->base[CX_BASE_USER_NAME], &user_name);
	fd_msg_browse(ans, MSG_BRW_FIRST_CHILD, &a, NULL);
	while (a) {
		struct dict_object *model = NULL;
		bool skipped = false;

		fd_msg_model(a, &model);
		for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			skipped |= model == skip[i];
		if (skipped) {
			/* nothing */
		} else if (model == d->avp[CX_AVP_SIP_AUTH_DATA_ITEM]) {
			print_item(a, card_for(user_name));
		} else if (model == d->avp[CX_AVP_USER_DATA]) {
			struct str xml;

			dmsg_avp_octets(a, &xml);
			printf("  User-Data:\n");
			while (xml.len) {
				ptrdiff_t nl = str_chr(xml, '\n');
				size_t l = nl < 0 ? xml.len : (size_t)nl;

				printf("    | %.*s\n", (int)l, xml.s);
				xml = str_sub(xml, l + (nl >= 0), xml.len - l - (nl >= 0));
			}
		} else {
			printf("  %s: ", avp_name(a));
			print_value(a);
			printf("\n");
		}
		fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL);
	}
}

/* --- requests --------------------------------------------------------- */

static int add_str(struct msg *m, struct dict_object *o, const char *v)
{
	return v && strcmp(v, "-") != 0 ? dmsg_add_str(m, o, str_from_cstr(v)) : 0;
}

static void omit(struct msg *m, const char *name)
{
	struct dict_object *o = NULL;
	struct avp *a = NULL;

	if (!name)
		return;
	if (fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME_ALL_VENDORS, name, &o,
			   ENOENT) == 0 &&
	    fd_msg_search_avp(m, o, &a) == 0 && a)
		fd_msg_free(a);
}

static int parse_sat(const char *s, int32_t *out)
{
	static const struct {
		const char *name;
		int32_t v;
	} sats[] = {
#define X(id, v) { #id, v },
		CX_SERVER_ASSIGNMENT_TYPES(X)
#undef X
	};
	char *end;

	for (size_t i = 0; i < sizeof(sats) / sizeof(sats[0]); i++) {
		if (strcmp(s, sats[i].name) == 0) {
			*out = sats[i].v;
			return 0;
		}
	}
	*out = (int32_t)strtol(s, &end, 10);
	return *end ? -EINVAL : 0;
}

static struct msg *new_request(enum cx_command cmd)
{
	struct msg *m = NULL;

	if (cx_request_new(&c.d, cmd, str_from_cstr(c.hss_realm), STR_NULL, &m))
		return NULL;
	return m;
}

static int do_keys(const struct args *a)
{
	const char *impi = arg(a, "impi", NULL), *k = arg(a, "k", NULL);
	const char *opc = arg(a, "opc", NULL), *op = arg(a, "op", NULL);
	uint8_t kb[AKA_K_LEN], ob[AKA_OP_LEN];
	struct card *card;

	if (!impi || !k || (!opc && !op) || c.n_cards == MAX_CARDS ||
	    hex_decode(str_from_cstr(k), kb, sizeof(kb)) ||
	    hex_decode(str_from_cstr(opc ? opc : op), ob, sizeof(ob)))
		return -EINVAL;
	card = &c.cards[c.n_cards];
	snprintf(card->impis, sizeof(card->impis), "%s", impi);
	if (usim_init(&card->usim, kb, ob, opc ? MILENAGE_OPC : MILENAGE_OP, NULL))
		return -EINVAL;
	c.n_cards++;
	printf("card for %s\n", impi);
	return 0;
}

/* The request a script line asks for, in *out; its answer's name in *answer_name. */
static int build_request(const char *cmdname, const struct args *a, struct msg **out,
			 const char **answer_name)
{
	const struct cx_dict *d = &c.d;
	struct msg *m = NULL;
	int err = 0;

	if (strcmp(cmdname, "uar") == 0) {
		m = new_request(CX_CMD_UA);
		*answer_name = "UAA";
		if (!m)
			return -ENOMEM;
		err = add_str(m, d->base[CX_BASE_USER_NAME], arg(a, "impi", NULL));
		err = err ?: add_str(m, d->avp[CX_AVP_PUBLIC_IDENTITY], arg(a, "impu", NULL));
		err = err ?: add_str(m, d->avp[CX_AVP_VISITED_NETWORK_IDENTIFIER],
				     arg(a, "vnet", "ims.test"));
		if (!err && arg(a, "type", NULL))
			err = dmsg_add_i32(m, d->avp[CX_AVP_USER_AUTHORIZATION_TYPE],
					   atoi(arg(a, "type", "0")));
		if (!err && arg(a, "flags", NULL))
			err = dmsg_add_u32(m, d->avp[CX_AVP_UAR_FLAGS],
					   (uint32_t)atoi(arg(a, "flags", "0")));
	} else if (strcmp(cmdname, "mar") == 0) {
		const char *auts = arg(a, "auts", NULL), *raw = arg(a, "authorization", NULL);
		struct avp *item;

		m = new_request(CX_CMD_MA);
		*answer_name = "MAA";
		if (!m)
			return -ENOMEM;
		err = add_str(m, d->base[CX_BASE_USER_NAME], arg(a, "impi", NULL));
		err = err ?: add_str(m, d->avp[CX_AVP_PUBLIC_IDENTITY], arg(a, "impu", NULL));
		err = err ?: dmsg_add_group(m, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item);
		err = err ?: add_str((struct msg *)item, d->avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
				     arg(a, "scheme", "Digest-AKAv1-MD5"));
		if (!err && auts) {
			struct card *card = card_for(str_from_cstr(arg(a, "impi", "")));
			uint8_t buf[AKA_RAND_LEN + AKA_AUTS_LEN];

			if (!card || !card->have_rand)
				err = -EINVAL;
			else {
				memcpy(buf, card->last_rand, AKA_RAND_LEN);
				err = usim_auts(&card->usim.mil, card->last_rand,
						strtoull(auts, NULL, 16), buf + AKA_RAND_LEN);
			}
			err = err ?: dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHORIZATION], buf,
						     sizeof(buf));
		} else if (!err && raw) {
			uint8_t buf[64];
			size_t len;

			err = hex_decode_var(str_from_cstr(raw), buf, sizeof(buf), &len);
			err = err ?: dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHORIZATION], buf, len);
		}
		err = err ?: dmsg_add_u32(m, d->avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS],
					  (uint32_t)atoi(arg(a, "n", "1")));
		err = err ?: add_str(m, d->avp[CX_AVP_SERVER_NAME],
				     arg(a, "server", "sip:scscf.ims.test:6060"));
	} else if (strcmp(cmdname, "sar") == 0) {
		int32_t sat;

		m = new_request(CX_CMD_SA);
		*answer_name = "SAA";
		if (!m)
			return -ENOMEM;
		err = parse_sat(arg(a, "type", "REGISTRATION"), &sat);
		err = err ?: add_str(m, d->base[CX_BASE_USER_NAME], arg(a, "impi", NULL));
		err = err ?: add_str(m, d->avp[CX_AVP_PUBLIC_IDENTITY], arg(a, "impu", NULL));
		err = err ?: add_str(m, d->avp[CX_AVP_SERVER_NAME],
				     arg(a, "server", "sip:scscf.ims.test:6060"));
		err = err ?: dmsg_add_i32(m, d->avp[CX_AVP_SERVER_ASSIGNMENT_TYPE], sat);
		err = err ?: dmsg_add_i32(m, d->avp[CX_AVP_USER_DATA_ALREADY_AVAILABLE],
					  atoi(arg(a, "data", "0")));
		if (!err && arg(a, "contact", NULL)) {
			struct avp *sri, *ri;

			err = dmsg_add_group(m, d->avp[CX_AVP_SCSCF_RESTORATION_INFO], &sri);
			err = err ?: add_str((struct msg *)sri, d->base[CX_BASE_USER_NAME],
					     arg(a, "impi", "-"));
			err = err ?: dmsg_add_group(sri, d->avp[CX_AVP_RESTORATION_INFO], &ri);
			err = err ?: add_str((struct msg *)ri, d->avp[CX_AVP_PATH],
					     "<sip:pcscf.ims.test;lr>");
			err = err ?: add_str((struct msg *)ri, d->avp[CX_AVP_CONTACT],
					     arg(a, "contact", NULL));
		}
		if (!err && arg(a, "mri", NULL))
			err = dmsg_add_i32(m, d->avp[CX_AVP_MULTIPLE_REGISTRATION_INDICATION],
					   atoi(arg(a, "mri", "0")));
	} else if (strcmp(cmdname, "lir") == 0) {
		m = new_request(CX_CMD_LI);
		*answer_name = "LIA";
		if (!m)
			return -ENOMEM;
		if (arg(a, "orig", NULL))
			err = dmsg_add_i32(m, d->avp[CX_AVP_ORIGINATING_REQUEST], 0);
		err = err ?: add_str(m, d->avp[CX_AVP_PUBLIC_IDENTITY], arg(a, "impu", NULL));
	} else {
		return -ENOENT;
	}
	if (err) {
		fd_msg_free(m);
		return err;
	}
	omit(m, arg(a, "omit", NULL));
	*out = m;
	return 0;
}

/*
 * burst=N: N copies of the request leave at once, and one line counts
 * their answers by result, in the order the results first came:
 *     < MAA x40: 40 answers: 2001 x40
 */
static int do_burst(const char *cmdname, const struct args *a, unsigned n)
{
	struct waiter *w = calloc(n, sizeof(*w));
	uint32_t codes[8];
	unsigned counts[8], n_codes = 0, answered = 0, other = 0, sent = 0;
	const char *answer_name = "";
	struct timespec ts;
	int err = 0;

	if (!w)
		return -ENOMEM;
	deadline(&ts);
	for (unsigned i = 0; i < n; i++) {
		struct msg *m = NULL;

		pthread_mutex_init(&w[i].mu, NULL);
		pthread_cond_init(&w[i].cv, NULL);
		err = build_request(cmdname, a, &m, &answer_name);
		if (err)
			break;
		if (!send_request(m, &w[i], &ts))
			w[i].done = true;
		sent++;
	}
	/* Every callback has run before w goes. */
	for (unsigned i = 0; i < sent; i++) {
		struct msg *ans = wait_answer(&w[i]);
		uint32_t code = 0;
		bool exp;
		unsigned k;

		if (!ans)
			continue;
		answered++;
		if (cx_get_result(&c.d, ans, &code, &exp))
			code = 0;
		fd_msg_free(ans);
		for (k = 0; k < n_codes && codes[k] != code; k++)
			;
		if (k == n_codes && n_codes < sizeof(codes) / sizeof(codes[0])) {
			codes[n_codes] = code;
			counts[n_codes++] = 0;
		}
		if (k < n_codes)
			counts[k]++;
		else
			other++;
	}
	free(w);
	if (err)
		return err;
	printf("< %s x%u: %u answers:", answer_name, n, answered);
	for (unsigned k = 0; k < n_codes; k++)
		printf(" %" PRIu32 " x%u", codes[k], counts[k]);
	if (other)
		printf(" other x%u", other);
	printf("\n");
	if (c.stop_on_error && answered < n)
		c.stopped = true;
	return 0;
}

static int do_request(const char *cmdname, const struct args *a)
{
	const char *answer_name = "";
	struct msg *m = NULL;
	unsigned burst = (unsigned)atoi(arg(a, "burst", "0"));
	int err;

	if (burst > 100000)
		return -EINVAL;
	if (burst)
		return do_burst(cmdname, a, burst);
	err = build_request(cmdname, a, &m, &answer_name);
	if (err)
		return err;
	if (c.dump_dir) {
		/* The bytes on the wire, e.g. as fuzzing seeds. */
		uint8_t *buf = NULL;
		size_t len = 0;
		char path[512];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s-%03u.dat", c.dump_dir, cmdname, ++c.dumped);
		if (fd_msg_bufferize(m, &buf, &len) == 0 && (fp = fopen(path, "wb"))) {
			fwrite(buf, 1, len, fp);
			fclose(fp);
		}
		free(buf);
	}
	m = transact(m);
	print_answer(m, answer_name);
	if (c.stop_on_error) {
		uint32_t code = 0;
		bool exp;

		if (!m || cx_get_result(&c.d, m, &code, &exp) || (code >= 3000 && code < 4000))
			c.stopped = true;
	}
	if (m)
		fd_msg_free(m);
	fflush(stdout);
	return 0;
}

/* CX_CLIENT_DEBUG=1: every freeDiameter line on stderr, for debugging. */
static void debug_log(void *ctx, int level, const char *line)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%ld.%03ld freeDiameter[%d]: %s\n", (long)ts.tv_sec % 100,
		ts.tv_nsec / 1000000, level, line);
}

static int parse_line(char *line, char **cmd, struct args *a)
{
	char *save = NULL, *tok;

	a->n = 0;
	*cmd = strtok_r(line, " \t\n", &save);
	if (!*cmd || **cmd == '#')
		return 1;
	while ((tok = strtok_r(NULL, " \t\n", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq || a->n == MAX_ARGS)
			return -EINVAL;
		*eq = '\0';
		a->key[a->n] = tok;
		a->val[a->n++] = eq + 1;
	}
	return 0;
}

/*
 * freeDiameter calls this on the peer's state machine thread, which also
 * answers the DWR after it: sleeping here delays the DWA, and the HSS,
 * whose peer waits in REOPEN for DWAs (RFC 3539 section 3.4.1), stays
 * there. Requests go out on another thread meanwhile.
 */
static void slow_watchdog(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer,
			  void *other, struct fd_hook_permsgdata *pmd, void *regdata)
{
	struct msg_hdr *hdr = NULL;
	struct timespec ts = { .tv_sec = c.slow_watchdog_ms / 1000,
			       .tv_nsec = (long)(c.slow_watchdog_ms % 1000) * 1000000L };

	if (!msg || fd_msg_hdr(msg, &hdr) || hdr->msg_code != CC_DEVICE_WATCHDOG ||
	    !(hdr->msg_flags & CMD_FLAG_REQUEST))
		return;
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "realm", required_argument, NULL, 'r' },
		{ "hss", required_argument, NULL, 'H' },
		{ "address", required_argument, NULL, 'a' },
		{ "run-dir", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stop-on-error", no_argument, NULL, 's' },
		{ "dump-dir", required_argument, NULL, 'D' },
		{ "slow-watchdog", required_argument, NULL, 'W' },
		{ "show-rand", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *identity = "scscf.ims.test", *realm = "ims.test", *run_dir = NULL;
	char address[128] = "127.0.0.1:3868", peer_text[300], why[200], line[2048];
	struct dia_peer peer;
	struct dia_config cfg;
	int opt, rc = 0;

	c.hss = "hss.ims.test";
	c.hss_realm = "ims.test";
	c.timeout_ms = 10000;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			identity = optarg;
			break;
		case 'r':
			realm = optarg;
			break;
		case 'H':
			c.hss = optarg;
			break;
		case 'a':
			snprintf(address, sizeof(address), "%s", optarg);
			break;
		case 'd':
			run_dir = optarg;
			break;
		case 't':
			c.timeout_ms = (unsigned)atoi(optarg);
			break;
		case 's':
			c.stop_on_error = true;
			break;
		case 'D':
			c.dump_dir = optarg;
			break;
		case 'W':
			c.slow_watchdog_ms = (unsigned)atoi(optarg);
			break;
		case 'R':
			c.show_rand = true;
			break;
		default:
			fprintf(stderr, "usage: cx_client --run-dir DIR [--identity I] [--realm R]"
					" [--hss ID] [--address IP:PORT] [--timeout MS]"
					" [--stop-on-error] [--dump-dir DIR] [--slow-watchdog MS]"
					" [--show-rand]\n");
			return 2;
		}
	}
	if (!run_dir) {
		fprintf(stderr, "cx_client: --run-dir is required\n");
		return 2;
	}
	snprintf(peer_text, sizeof(peer_text), "%s realm=%s address=%s connect=yes", c.hss,
		 c.hss_realm, address);
	if (dia_peer_parse(peer_text, &peer, why, sizeof(why))) {
		fprintf(stderr, "cx_client: %s\n", why);
		return 2;
	}
	cfg = (struct dia_config){ .identity = identity, .realm = realm, .run_dir = run_dir,
				   .peers = &peer, .n_peers = 1 };
	if (dia_engine_start(&cfg, &c.d, getenv("CX_CLIENT_DEBUG") ? debug_log : NULL, NULL)) {
		fprintf(stderr, "cx_client: freeDiameter did not start\n");
		return 1;
	}
	if (c.slow_watchdog_ms) {
		struct fd_hook_hdl *hdl = NULL;

		rc = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED), slow_watchdog, NULL, NULL,
				      &hdl);
		if (rc) {
			fprintf(stderr, "cx_client: cannot register the hook: %s\n", strerror(rc));
			dia_engine_stop();
			return 1;
		}
	}
	/* freeDiameter makes its first connection attempt after a random 0 to 4
	 * seconds (p_psm.c), so waiting less than that fails at random. */
	if (dia_peer_wait_open(c.hss, 10000)) {
		fprintf(stderr, "cx_client: %s is not reachable at %s\n", c.hss, address);
		dia_engine_stop();
		return 1;
	}
	printf("connected to %s\n", c.hss);
	fflush(stdout);
	while (!c.stopped && fgets(line, sizeof(line), stdin)) {
		char copy[2048], *cmd;
		struct args a;
		int err;

		snprintf(copy, sizeof(copy), "%s", line);
		copy[strcspn(copy, "\n")] = '\0';
		err = parse_line(line, &cmd, &a);
		if (err == 1)
			continue;
		if (strcmp(cmd, "echo") == 0) {
			printf("%s\n", copy);
			continue;
		}
		printf("> %s\n", copy);
		if (!err)
			err = strcmp(cmd, "keys") == 0 ? do_keys(&a) : do_request(cmd, &a);
		if (err) {
			printf("! bad command (%s)\n", strerror(-err));
			rc = 1;
		}
		fflush(stdout);
	}
	for (int i = 0; i < c.n_cards; i++)
		usim_free(&c.cards[i].usim);
	/*
	 * No freeDiameter shutdown: under load, freeDiameter 1.2.1 can abort
	 * in its own shutdown (fd_fifo_del gives waiting threads 20 ms to
	 * leave, then asserts). This is a test tool; the HSS sees the
	 * connection close.
	 */
	fflush(stdout);
	_exit(rc);
}
