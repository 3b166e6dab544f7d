/*
 * lib/diameter/wire.c against freeDiameter as the independent oracle, in
 * process:
 *
 *   dw_* writer --> bytes --> fd_msg_parse_buffer/_dict/_rules --> values
 *   dmsg_add_* --> fd_msg_bufferize --> bytes --> dw_* reader --> values
 *
 * plus the reader on malformed input (RFC 6733 3 and 4.1 lengths) and the
 * writer's limits. The Cx requests are built exactly as the S-CSCF's loop
 * client builds them (src/scscf/cx_loop.c: request_begin(), cx_mar(),
 * cx_sar()), with the flags of every Cx AVP from the CX_AVPS table.
 *
 * With SIMREG_WIRE_DUMP=<dir> in the environment, every message the test
 * feeds to a reader is also written to <dir>/<name>.dat: that is how the
 * seeds of tests/diameter/corpus/fuzz_dw were made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "core/buf.h"
#include "core/str.h"
#include "diameter/cx.h"
#include "diameter/dmsg.h"
#include "diameter/wire.h"

static struct cx_dict d;

/* The M flag and code of each Cx AVP, from the dictionary's table (as cx_loop.c). */
#define cx_code(a) (cx_avp_info[a].code)
#define cx_flag(a) ((uint8_t)(cx_avp_info[a].mandatory ? DW_AVP_MANDATORY : 0))

/* --- helpers ---------------------------------------------------------------------- */

static void dump(const char *name, const void *p, size_t len)
{
	const char *dir = getenv("SIMREG_WIRE_DUMP");
	char path[512];
	FILE *fp;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void quiet(int level, const char *format, va_list args)
{
}

static int setup(void **state)
{
	fd_log_handler_register(quiet);
	if (fd_core_initialize() || cx_dict_init(&d))
		return -1;
	return 0;
}

/*
 * Parse bytes the way a freeDiameter peer does on reception: the buffer,
 * then the dictionary, then the command's ABNF rules; each must accept.
 */
static struct msg *fd_parse(const struct buf *b)
{
	uint8_t *copy = malloc(b->len);
	struct msg *m = NULL;
	struct fd_pei pei;

	assert_non_null(copy);
	memcpy(copy, b->p, b->len);
	assert_int_equal(fd_msg_parse_buffer(&copy, b->len, &m), 0);
	memset(&pei, 0, sizeof(pei));
	assert_int_equal(fd_msg_parse_dict(m, fd_g_config->cnf_dict, &pei), 0);
	memset(&pei, 0, sizeof(pei));
	if (fd_msg_parse_rules(m, fd_g_config->cnf_dict, &pei))
		fail_msg("freeDiameter's rules refuse the message: %s",
			 pei.pei_errcode ? pei.pei_errcode : "?");
	return m;
}

static struct avp_hdr *fd_hdr(struct avp *a)
{
	struct avp_hdr *h = NULL;

	assert_int_equal(fd_msg_avp_hdr(a, &h), 0);
	return h;
}

static enum dict_avp_basetype fd_type(struct avp *a)
{
	struct dict_object *model = NULL;
	struct dict_avp_data data;

	assert_int_equal(fd_msg_model(a, &model), 0);
	assert_non_null(model);
	assert_int_equal(fd_dict_getval(model, &data), 0);
	return data.avp_basetype;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Walk the dw reader and freeDiameter's parse of the same message side by
 * side: the same AVPs in the same order, each with the same code, flags,
 * vendor, length and value octets, groups recursively. Returns the number
 * of AVPs compared.
 */
static int compare_trees(struct dw_iter *it, void *fd_parent)
{
	struct avp *fa = NULL;
	struct dw_avp a;
	int n = 0, rc;

	assert_int_equal(fd_msg_browse(fd_parent, MSG_BRW_FIRST_CHILD, &fa, NULL), 0);
	while ((rc = dw_next(it, &a)) > 0) {
		struct avp_hdr *h;
		uint8_t v[4];

		assert_non_null(fa);
		h = fd_hdr(fa);
		assert_int_equal(a.code, h->avp_code);
		assert_int_equal(a.flags, h->avp_flags);
		assert_int_equal(a.vendor, h->avp_flags & AVP_FLAG_VENDOR ? h->avp_vendor : 0);
		assert_int_equal(a.len + (a.vendor ? 12 : 8), h->avp_len);
		switch (fd_type(fa)) {
		case AVP_TYPE_GROUPED: {
			struct dw_iter inner;

			dw_iter_group(&inner, &a);
			n += compare_trees(&inner, fa);
			break;
		}
		case AVP_TYPE_OCTETSTRING:
			assert_non_null(h->avp_value);
			assert_int_equal(a.len, h->avp_value->os.len);
			assert_memory_equal(a.data, h->avp_value->os.data, a.len);
			break;
		case AVP_TYPE_UNSIGNED32:
		case AVP_TYPE_INTEGER32:
			/* i32 and u32 share the union's storage. */
			put_be32(v, h->avp_value->u32);
			assert_int_equal(a.len, 4);
			assert_memory_equal(a.data, v, 4);
			break;
		default:
			fail_msg("AVP %u: a type this test does not compare", a.code);
		}
		n++;
		assert_int_equal(fd_msg_browse(fa, MSG_BRW_NEXT, &fa, NULL), 0);
	}
	assert_int_equal(rc, 0);
	assert_null(fa);
	return n;
}

/* The whole message: header fields, then the AVP trees. */
static int compare_message(const struct buf *b, struct msg *m)
{
	struct msg_hdr *mh = NULL;
	struct dw_header h;
	struct dw_iter it;

	assert_int_equal(dw_header_read(b->p, b->len, &h), 0);
	assert_int_equal(fd_msg_hdr(m, &mh), 0);
	assert_int_equal(h.version, mh->msg_version);
	assert_int_equal(h.len, mh->msg_length);
	assert_int_equal(h.len, b->len);
	assert_int_equal(h.flags, mh->msg_flags);
	assert_int_equal(h.code, mh->msg_code);
	assert_int_equal(h.app, mh->msg_appl);
	assert_int_equal(h.hbh, mh->msg_hbhid);
	assert_int_equal(h.e2e, mh->msg_eteid);
	dw_iter_msg(&it, b->p, h.len);
	return compare_trees(&it, m);
}

/*
 * freeDiameter's own encoding of what it parsed must be the writer's
 * bytes: same lengths, same padding (zeros), same order.
 */
static void assert_reencodes_same(const struct buf *b, struct msg *m)
{
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(fd_msg_bufferize(m, &out, &len), 0);
	assert_int_equal(len, b->len);
	assert_memory_equal(out, b->p, len);
	free(out);
}

/* The flags on the wire of every Cx AVP under parent are the table's, V set. */
static void assert_cx_flags(void *parent)
{
	struct avp *fa = NULL;

	assert_int_equal(fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &fa, NULL), 0);
	while (fa) {
		struct avp_hdr *h = fd_hdr(fa);

		if (h->avp_code >= 600 && h->avp_code < 700) {
			bool found = false;

			for (int i = 0; i < CX_AVP__COUNT; i++) {
				if (cx_avp_info[i].code != h->avp_code)
					continue;
				found = true;
				assert_int_equal(h->avp_flags,
						 AVP_FLAG_VENDOR |
							 (cx_avp_info[i].mandatory ?
								  AVP_FLAG_MANDATORY : 0));
				assert_int_equal(h->avp_vendor, CX_VENDOR_3GPP);
			}
			assert_true(found);
		} else {
			/* The base AVPs the requests carry are all M, none V. */
			assert_int_equal(h->avp_flags, AVP_FLAG_MANDATORY);
		}
		if (fd_type(fa) == AVP_TYPE_GROUPED)
			assert_cx_flags(fa);
		assert_int_equal(fd_msg_browse(fa, MSG_BRW_NEXT, &fa, NULL), 0);
	}
}

static void assert_str(void *parent, struct dict_object *model, struct str want)
{
	struct str got;

	assert_int_equal(dmsg_get_str(parent, model, &got), 0);
	assert_int_equal(got.len, want.len);
	if (want.len)
		assert_memory_equal(got.s, want.s, want.len);
}

static struct avp *fd_child(void *parent, struct dict_object *model)
{
	struct avp *a = NULL;

	assert_int_equal(dmsg_find(parent, model, NULL, &a), 0);
	return a;
}

/* --- the S-CSCF's requests, built as cx_loop.c builds them ------------------------- */

/* A struct str in a static initialiser (STR_LIT is a compound literal). */
#define S(lit) { (lit), sizeof(lit) - 1 }

struct head {
	struct str sid, origin_host, origin_realm, dest_realm, dest_host;
	uint32_t hbh, e2e;
};

/*
 * Lengths that need padding, on purpose: Session-Id (45), Origin-Realm
 * (9), User-Name (15), Server-Name (26).
 */
static const struct head head = {
	.sid = S("scscf.ims.example;1732900000;1;wire-test-0042"),
	.origin_host = S("scscf.ims.example"),
	.origin_realm = S("ims.examp"),
	.dest_realm = S("ims.example"),
	.dest_host = S("hss.ims.example"),
	.hbh = 0x8a0b0c0du,
	.e2e = 0x01f2e3d4u,
};

static void put_cx(struct buf *b, enum cx_avp a, struct str v)
{
	dw_put_str(b, cx_code(a), cx_flag(a), CX_VENDOR_3GPP, v);
}

static void put_cx_u32(struct buf *b, enum cx_avp a, uint32_t v)
{
	dw_put_u32(b, cx_code(a), cx_flag(a), CX_VENDOR_3GPP, v);
}

static size_t group_cx(struct buf *b, enum cx_avp a)
{
	return dw_group_begin(b, cx_code(a), cx_flag(a), CX_VENDOR_3GPP);
}

static size_t request_begin(struct buf *b, uint32_t code)
{
	size_t m, g;

	m = dw_msg_begin(b, DW_REQUEST | DW_PROXIABLE, code, CX_APPLICATION_ID, head.hbh,
			 head.e2e);
	dw_put_str(b, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, head.sid);
	dw_put_str(b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, head.origin_host);
	dw_put_str(b, DW_AVP_ORIGIN_REALM, DW_AVP_MANDATORY, 0, head.origin_realm);
	g = dw_group_begin(b, DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID, DW_AVP_MANDATORY, 0);
	dw_put_u32(b, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, CX_VENDOR_3GPP);
	dw_put_u32(b, DW_AVP_AUTH_APPLICATION_ID, DW_AVP_MANDATORY, 0, CX_APPLICATION_ID);
	dw_group_end(b, g);
	dw_put_u32(b, DW_AVP_AUTH_SESSION_STATE, DW_AVP_MANDATORY, 0, CX_NO_STATE_MAINTAINED);
	dw_put_str(b, DW_AVP_DESTINATION_REALM, DW_AVP_MANDATORY, 0, head.dest_realm);
	dw_put_str(b, DW_AVP_DESTINATION_HOST, DW_AVP_MANDATORY, 0, head.dest_host);
	return m;
}

static const struct str impi = S("alice@ims.examp");
static const struct str impu = S("sip:alice@ims.example");
static const struct str server_name = S("sip:scscf.ims.example:5060");

/* RAND (16) || AUTS (14): a resynchronisation's SIP-Authorization. */
static const uint8_t rand_auts[30] = {
	0x23, 0x55, 0x3c, 0xbe, 0x96, 0x37, 0xa8, 0x9d, 0x21, 0x8a, 0xe6, 0x4d, 0xae, 0x47, 0xbf,
	0x35, 0x9d, 0x1c, 0x07, 0xc9, 0xd2, 0x6f, 0x88, 0x01, 0x00, 0x7f, 0x40, 0xa2, 0x5e, 0x11,
};

static void build_mar(struct buf *b, bool resync)
{
	size_t m, g;

	m = request_begin(b, CX_CMD_CODE_MA);
	dw_put_str(b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, impi);
	put_cx(b, CX_AVP_PUBLIC_IDENTITY, impu);
	put_cx_u32(b, CX_AVP_SIP_NUMBER_AUTH_ITEMS, 1);
	g = group_cx(b, CX_AVP_SIP_AUTH_DATA_ITEM);
	put_cx(b, CX_AVP_SIP_AUTHENTICATION_SCHEME, STR_LIT("Digest-AKAv1-MD5"));
	if (resync)
		put_cx(b, CX_AVP_SIP_AUTHORIZATION,
		       str_make((const char *)rand_auts, sizeof(rand_auts)));
	dw_group_end(b, g);
	put_cx(b, CX_AVP_SERVER_NAME, server_name);
	dw_msg_end(b, m);
}

/* The header and the head AVPs of a request freeDiameter parsed. */
static void check_head(struct msg *m, uint32_t code, size_t len)
{
	struct msg_hdr *mh = NULL;
	struct avp *vsai;
	uint32_t u;
	int32_t i;

	assert_int_equal(fd_msg_hdr(m, &mh), 0);
	assert_int_equal(mh->msg_version, 1);
	assert_int_equal(mh->msg_flags, CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE);
	assert_int_equal(mh->msg_code, code);
	assert_int_equal(mh->msg_appl, 16777216);
	assert_int_equal(mh->msg_hbhid, head.hbh);
	assert_int_equal(mh->msg_eteid, head.e2e);
	assert_int_equal(mh->msg_length, len);
	assert_str(m, d.base[CX_BASE_SESSION_ID], head.sid);
	assert_str(m, d.base[CX_BASE_ORIGIN_HOST], head.origin_host);
	assert_str(m, d.base[CX_BASE_ORIGIN_REALM], head.origin_realm);
	assert_str(m, d.base[CX_BASE_DESTINATION_REALM], head.dest_realm);
	assert_str(m, d.base[CX_BASE_DESTINATION_HOST], head.dest_host);
	vsai = fd_child(m, d.base[CX_BASE_VENDOR_SPECIFIC_APPLICATION_ID]);
	assert_int_equal(dmsg_get_u32(vsai, d.base[CX_BASE_VENDOR_ID], &u), 0);
	assert_int_equal(u, CX_VENDOR_3GPP);
	assert_int_equal(dmsg_get_u32(vsai, d.base[CX_BASE_AUTH_APPLICATION_ID], &u), 0);
	assert_int_equal(u, CX_APPLICATION_ID);
	assert_int_equal(dmsg_get_i32(m, d.base[CX_BASE_AUTH_SESSION_STATE], &i), 0);
	assert_int_equal(i, CX_NO_STATE_MAINTAINED);
}

static void check_mar(bool resync)
{
	struct buf b;
	struct msg *m;
	struct avp *item;
	struct str s;
	uint32_t u;

	buf_init(&b);
	build_mar(&b, resync);
	assert_int_equal(buf_error(&b), 0);
	dump(resync ? "mar-resync" : "mar", b.p, b.len);
	m = fd_parse(&b);

	check_head(m, 303, b.len);
	assert_str(m, d.base[CX_BASE_USER_NAME], impi);
	assert_str(m, d.avp[CX_AVP_PUBLIC_IDENTITY], impu);
	assert_str(m, d.avp[CX_AVP_SERVER_NAME], server_name);
	assert_int_equal(dmsg_get_u32(m, d.avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], &u), 0);
	assert_int_equal(u, 1);
	item = fd_child(m, d.avp[CX_AVP_SIP_AUTH_DATA_ITEM]);
	assert_str(item, d.avp[CX_AVP_SIP_AUTHENTICATION_SCHEME], STR_LIT("Digest-AKAv1-MD5"));
	if (resync)
		assert_str(item, d.avp[CX_AVP_SIP_AUTHORIZATION],
			   str_make((const char *)rand_auts, sizeof(rand_auts)));
	else
		assert_int_equal(dmsg_get_str(item, d.avp[CX_AVP_SIP_AUTHORIZATION], &s), -ENOENT);

	assert_cx_flags(m);
	/* 12 AVPs at the top, 2 in Vendor-Specific-Application-Id, 1 or 2 in the item. */
	assert_int_equal(compare_message(&b, m), resync ? 16 : 15);
	assert_reencodes_same(&b, m);
	fd_msg_free(m);
	buf_free(&b);
}

static void test_mar_to_freediameter(void **state)
{
	check_mar(false);
}

static void test_mar_resync_to_freediameter(void **state)
{
	check_mar(true);
}

/* An SAR with SCSCF-Restoration-Info (29.228 6.1.2), as cx_sar() builds it. */
static const struct str path = S("<sip:term@pcscf.ims.example;lr>");
static const struct str contact = S("<sip:alice@198.18.0.2:5060>;expires=600");

static void build_sar(struct buf *b, struct str path_v)
{
	size_t m, sri, ri;

	m = request_begin(b, CX_CMD_CODE_SA);
	dw_put_str(b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, impi);
	put_cx(b, CX_AVP_PUBLIC_IDENTITY, impu);
	put_cx(b, CX_AVP_SERVER_NAME, server_name);
	put_cx_u32(b, CX_AVP_SERVER_ASSIGNMENT_TYPE, CX_SAT_REGISTRATION);
	put_cx_u32(b, CX_AVP_USER_DATA_ALREADY_AVAILABLE, CX_USER_DATA_NOT_AVAILABLE);
	sri = group_cx(b, CX_AVP_SCSCF_RESTORATION_INFO);
	dw_put_str(b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, impi);
	ri = group_cx(b, CX_AVP_RESTORATION_INFO);
	put_cx(b, CX_AVP_PATH, path_v);
	put_cx(b, CX_AVP_CONTACT, contact);
	dw_group_end(b, ri);
	dw_group_end(b, sri);
	put_cx_u32(b, CX_AVP_MULTIPLE_REGISTRATION_INDICATION, CX_MULTIPLE_REGISTRATION);
	dw_msg_end(b, m);
}

static void check_sar(struct str path_v, const char *name)
{
	struct buf b;
	struct msg *m;
	struct avp *sri, *ri;
	int32_t i;

	buf_init(&b);
	build_sar(&b, path_v);
	assert_int_equal(buf_error(&b), 0);
	dump(name, b.p, b.len);
	m = fd_parse(&b);

	check_head(m, 301, b.len);
	assert_str(m, d.base[CX_BASE_USER_NAME], impi);
	assert_str(m, d.avp[CX_AVP_PUBLIC_IDENTITY], impu);
	assert_str(m, d.avp[CX_AVP_SERVER_NAME], server_name);
	assert_int_equal(dmsg_get_i32(m, d.avp[CX_AVP_SERVER_ASSIGNMENT_TYPE], &i), 0);
	assert_int_equal(i, CX_SAT_REGISTRATION);
	assert_int_equal(dmsg_get_i32(m, d.avp[CX_AVP_USER_DATA_ALREADY_AVAILABLE], &i), 0);
	assert_int_equal(i, CX_USER_DATA_NOT_AVAILABLE);
	assert_int_equal(dmsg_get_i32(m, d.avp[CX_AVP_MULTIPLE_REGISTRATION_INDICATION], &i), 0);
	assert_int_equal(i, CX_MULTIPLE_REGISTRATION);
	sri = fd_child(m, d.avp[CX_AVP_SCSCF_RESTORATION_INFO]);
	assert_str(sri, d.base[CX_BASE_USER_NAME], impi);
	ri = fd_child(sri, d.avp[CX_AVP_RESTORATION_INFO]);
	assert_str(ri, d.avp[CX_AVP_PATH], path_v);
	assert_str(ri, d.avp[CX_AVP_CONTACT], contact);

	assert_cx_flags(m);
	/* 14 at the top, 2 in VSAI, 2 in SCSCF-Restoration-Info, 2 in Restoration-Info. */
	assert_int_equal(compare_message(&b, m), 20);
	assert_reencodes_same(&b, m);
	fd_msg_free(m);
	buf_free(&b);
}

static void test_sar_to_freediameter(void **state)
{
	check_sar(path, "sar");
}

/* An empty OctetString: an AVP of its header alone, no padding. */
static void test_sar_empty_path_to_freediameter(void **state)
{
	check_sar(STR_NULL, "sar-empty-path");
}

/* The padding the writer adds is zeros and is not counted in the AVP length. */
static void test_writer_padding(void **state)
{
	static const uint8_t want[] = {
		/* User-Name "abc": length 11, one octet of padding */
		0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x0b, 'a', 'b', 'c', 0x00,
		/* Public-Identity, empty: V M, length 12, no padding */
		0x00, 0x00, 0x02, 0x59, 0xc0, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x28, 0xaf,
		/* V asked for without a vendor: dropped; 5 octets, 3 of padding */
		0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x0d, 'w', 'x', 'y', 'z',
		'q', 0x00, 0x00, 0x00,
		/* a vendor without V asked for: V set; 2 octets, 2 of padding */
		0x00, 0x00, 0x02, 0x59, 0x80, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x28, 0xaf,
		'a', 'b', 0x00, 0x00,
	};
	struct buf b;

	buf_init(&b);
	dw_put(&b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, "abc", 3);
	dw_put(&b, 601, DW_AVP_MANDATORY, CX_VENDOR_3GPP, NULL, 0);
	dw_put(&b, DW_AVP_USER_NAME, DW_AVP_VENDOR | DW_AVP_MANDATORY, 0, "wxyzq", 5);
	dw_put(&b, 601, 0, CX_VENDOR_3GPP, "ab", 2);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.p, want, sizeof(want));
	buf_free(&b);
}

/* --- freeDiameter's answers through the reader -------------------------------------- */

static const uint8_t authenticate[32] = {
	0x81, 0xe9, 0x2b, 0x6c, 0x0e, 0xe0, 0xe1, 0x2e, 0xbc, 0xeb, 0xa8, 0xd9, 0x2a, 0x99, 0xdf,
	0xa5, 0xbb, 0x8b, 0x6a, 0x2f, 0x8c, 0x7e, 0x80, 0x00, 0x1d, 0x6e, 0x3c, 0x3e, 0x53, 0x74,
	0x81, 0x26,
};
static const uint8_t xres[8] = { 0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf };
static const uint8_t ck[16] = {
	0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
	0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb,
};
static const uint8_t ik[16] = {
	0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
	0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41,
};

#define ANS_HBH 0x11223344u
#define ANS_E2E 0x55667788u

/*
 * An answer of command cmd built by freeDiameter, without a configured
 * core (no fd_msg_add_origin()): the head an HSS puts on every Cx answer.
 */
static struct msg *fd_answer(enum cx_command cmd)
{
	struct msg *m = NULL;
	struct msg_hdr *mh = NULL;
	struct avp *vsai;

	assert_int_equal(fd_msg_new(d.answer[cmd], 0, &m), 0);
	assert_int_equal(fd_msg_hdr(m, &mh), 0);
	mh->msg_hbhid = ANS_HBH;
	mh->msg_eteid = ANS_E2E;
	assert_int_equal(dmsg_add_str(m, d.base[CX_BASE_SESSION_ID], head.sid), 0);
	assert_int_equal(
		dmsg_add_group(m, d.base[CX_BASE_VENDOR_SPECIFIC_APPLICATION_ID], &vsai), 0);
	assert_int_equal(dmsg_add_u32(vsai, d.base[CX_BASE_VENDOR_ID], CX_VENDOR_3GPP), 0);
	assert_int_equal(dmsg_add_u32(vsai, d.base[CX_BASE_AUTH_APPLICATION_ID],
				      CX_APPLICATION_ID),
			 0);
	assert_int_equal(dmsg_add_i32(m, d.base[CX_BASE_AUTH_SESSION_STATE],
				      CX_NO_STATE_MAINTAINED),
			 0);
	assert_int_equal(dmsg_add_str(m, d.base[CX_BASE_ORIGIN_HOST], head.dest_host), 0);
	assert_int_equal(dmsg_add_str(m, d.base[CX_BASE_ORIGIN_REALM], head.dest_realm), 0);
	return m;
}

/* freeDiameter's bytes in a buf, and its header for comparison. */
static void fd_bytes(struct msg *m, struct buf *b, const char *name)
{
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(fd_msg_bufferize(m, &out, &len), 0);
	buf_init(b);
	buf_put(b, out, len);
	assert_int_equal(buf_error(b), 0);
	free(out);
	dump(name, b->p, b->len);
}

static void assert_avp_bytes(const struct dw_iter *it, enum cx_avp id, const void *want,
			     size_t len)
{
	struct dw_avp a;

	assert_int_equal(dw_find(it, cx_code(id), CX_VENDOR_3GPP, &a), 0);
	assert_int_equal(a.flags, DW_AVP_VENDOR | cx_flag(id));
	assert_int_equal(a.len, len);
	assert_memory_equal(a.data, want, len);
}

static void assert_header(const struct buf *b, uint32_t code, struct dw_header *h)
{
	assert_int_equal(dw_header_read(b->p, b->len, h), 0);
	assert_int_equal(h->version, 1);
	assert_int_equal(h->len, b->len);
	/* An answer: R clear; Cx commands are proxiable (29.229 6.1). */
	assert_int_equal(h->flags, DW_PROXIABLE);
	assert_int_equal(h->code, code);
	assert_int_equal(h->app, CX_APPLICATION_ID);
	assert_int_equal(h->hbh, ANS_HBH);
	assert_int_equal(h->e2e, ANS_E2E);
}

static void test_maa_from_freediameter(void **state)
{
	struct msg *m = fd_answer(CX_CMD_MA);
	struct avp *item;
	struct dw_header h;
	struct dw_iter it, in;
	struct dw_avp a;
	struct buf b;
	uint32_t code, u;
	bool exp = true;

	assert_int_equal(cx_set_result(&d, m, DIA_SUCCESS), 0);
	assert_int_equal(dmsg_add_str(m, d.base[CX_BASE_USER_NAME], impi), 0);
	assert_int_equal(dmsg_add_str(m, d.avp[CX_AVP_PUBLIC_IDENTITY], impu), 0);
	assert_int_equal(dmsg_add_u32(m, d.avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], 1), 0);
	assert_int_equal(dmsg_add_group(m, d.avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item), 0);
	assert_int_equal(dmsg_add_str(item, d.avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
				      STR_LIT("Digest-AKAv1-MD5")),
			 0);
	assert_int_equal(dmsg_add_octets(item, d.avp[CX_AVP_SIP_AUTHENTICATE], authenticate,
					 sizeof(authenticate)),
			 0);
	assert_int_equal(dmsg_add_octets(item, d.avp[CX_AVP_SIP_AUTHORIZATION], xres,
					 sizeof(xres)),
			 0);
	assert_int_equal(dmsg_add_octets(item, d.avp[CX_AVP_CONFIDENTIALITY_KEY], ck, sizeof(ck)),
			 0);
	assert_int_equal(dmsg_add_octets(item, d.avp[CX_AVP_INTEGRITY_KEY], ik, sizeof(ik)), 0);
	fd_bytes(m, &b, "maa");

	assert_header(&b, 303, &h);
	dw_iter_msg(&it, b.p, h.len);
	assert_int_equal(dw_result(&it, &code, &exp), 0);
	assert_int_equal(code, 2001);
	assert_false(exp);
	assert_int_equal(dw_find(&it, DW_AVP_SESSION_ID, 0, &a), 0);
	assert_int_equal(a.flags, DW_AVP_MANDATORY);
	assert_int_equal(a.len, head.sid.len);
	assert_memory_equal(a.data, head.sid.s, head.sid.len);
	assert_int_equal(dw_find(&it, DW_AVP_USER_NAME, 0, &a), 0);
	assert_true(str_eq(dw_str(&a), impi));
	assert_avp_bytes(&it, CX_AVP_PUBLIC_IDENTITY, impu.s, impu.len);
	assert_int_equal(dw_find(&it, cx_code(CX_AVP_SIP_NUMBER_AUTH_ITEMS), CX_VENDOR_3GPP, &a),
			 0);
	assert_int_equal(dw_u32(&a, &u), 0);
	assert_int_equal(u, 1);
	/* A Cx AVP is not found under the base protocol's vendor 0. */
	assert_int_equal(dw_find(&it, cx_code(CX_AVP_SIP_AUTH_DATA_ITEM), 0, &a), -ENOENT);

	assert_int_equal(dw_find(&it, cx_code(CX_AVP_SIP_AUTH_DATA_ITEM), CX_VENDOR_3GPP, &a), 0);
	assert_int_equal(a.flags, DW_AVP_VENDOR | DW_AVP_MANDATORY);
	dw_iter_group(&in, &a);
	assert_avp_bytes(&in, CX_AVP_SIP_AUTHENTICATION_SCHEME, "Digest-AKAv1-MD5", 16);
	assert_avp_bytes(&in, CX_AVP_SIP_AUTHENTICATE, authenticate, sizeof(authenticate));
	assert_avp_bytes(&in, CX_AVP_SIP_AUTHORIZATION, xres, sizeof(xres));
	assert_avp_bytes(&in, CX_AVP_CONFIDENTIALITY_KEY, ck, sizeof(ck));
	assert_avp_bytes(&in, CX_AVP_INTEGRITY_KEY, ik, sizeof(ik));
	/* The group's members stay inside it. */
	assert_int_equal(dw_find(&in, DW_AVP_RESULT_CODE, 0, &a), -ENOENT);

	/* And the whole tree against freeDiameter's own view of it. */
	assert_int_equal(compare_message(&b, m), 17);
	fd_msg_free(m);
	buf_free(&b);
}

static void test_experimental_from_freediameter(void **state)
{
	struct msg *m = fd_answer(CX_CMD_MA);
	struct dw_header h;
	struct dw_iter it, in;
	struct dw_avp a;
	struct buf b;
	uint32_t code = 0, u;
	bool exp = false;

	assert_int_equal(cx_set_experimental(&d, m, CX_EXP_ERROR_USER_UNKNOWN), 0);
	fd_bytes(m, &b, "maa-user-unknown");

	assert_header(&b, 303, &h);
	dw_iter_msg(&it, b.p, h.len);
	assert_int_equal(dw_result(&it, &code, &exp), 0);
	assert_int_equal(code, 5001);
	assert_true(exp);
	assert_int_equal(dw_find(&it, DW_AVP_RESULT_CODE, 0, &a), -ENOENT);
	assert_int_equal(dw_find(&it, DW_AVP_EXPERIMENTAL_RESULT, 0, &a), 0);
	dw_iter_group(&in, &a);
	assert_int_equal(dw_find(&in, DW_AVP_VENDOR_ID, 0, &a), 0);
	assert_int_equal(dw_u32(&a, &u), 0);
	assert_int_equal(u, CX_VENDOR_3GPP);
	/* 6 at the top, 2 in each group. */
	assert_int_equal(compare_message(&b, m), 10);
	fd_msg_free(m);
	buf_free(&b);
}

static void test_saa_from_freediameter(void **state)
{
	static const char user_data[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription>"
		"<PrivateID>alice@ims.examp</PrivateID><ServiceProfile><PublicIdentity>"
		"<Identity>sip:alice@ims.example</Identity></PublicIdentity></ServiceProfile>"
		"</IMSSubscription>";
	struct msg *m = fd_answer(CX_CMD_SA);
	struct dw_header h;
	struct dw_iter it;
	struct buf b;
	uint32_t code = 0;
	bool exp = true;

	/* Not a multiple of 4: the reader must skip freeDiameter's padding. */
	assert_int_not_equal(strlen(user_data) % 4, 0);
	assert_int_equal(cx_set_result(&d, m, DIA_SUCCESS), 0);
	assert_int_equal(dmsg_add_octets(m, d.avp[CX_AVP_USER_DATA], user_data,
					 strlen(user_data)),
			 0);
	fd_bytes(m, &b, "saa");

	assert_header(&b, 301, &h);
	dw_iter_msg(&it, b.p, h.len);
	assert_int_equal(dw_result(&it, &code, &exp), 0);
	assert_int_equal(code, 2001);
	assert_false(exp);
	assert_avp_bytes(&it, CX_AVP_USER_DATA, user_data, strlen(user_data));
	assert_int_equal(compare_message(&b, m), 9);
	fd_msg_free(m);
	buf_free(&b);
}

/* An answer with neither Result-Code nor Experimental-Result. */
static void test_result_absent(void **state)
{
	struct msg *m = fd_answer(CX_CMD_MA);
	struct dw_header h;
	struct dw_iter it;
	struct buf b;
	uint32_t code = 77;
	bool exp = true;

	fd_bytes(m, &b, "maa-no-result");
	assert_header(&b, 303, &h);
	dw_iter_msg(&it, b.p, h.len);
	assert_int_equal(dw_result(&it, &code, &exp), -ENOENT);
	fd_msg_free(m);
	buf_free(&b);
}

/* --- malformed input ---------------------------------------------------------------- */

/*
 * A message to break: header, Session-Id "abc" (padded to 12), then
 * Result-Code 2001 (12), then Origin-Host "hss" (12). Offsets: 20, 32, 44.
 */
static void build_small(struct buf *b)
{
	size_t m;

	buf_init(b);
	m = dw_msg_begin(b, 0, 303, CX_APPLICATION_ID, 1, 2);
	dw_put(b, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, "abc", 3);
	dw_put_u32(b, DW_AVP_RESULT_CODE, DW_AVP_MANDATORY, 0, 2001);
	dw_put(b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, "hss", 3);
	dw_msg_end(b, m);
	assert_int_equal(buf_error(b), 0);
	assert_int_equal(b->len, 56);
}

static void set24(void *p, uint32_t v)
{
	uint8_t *q = p;

	q[0] = (uint8_t)(v >> 16);
	q[1] = (uint8_t)(v >> 8);
	q[2] = (uint8_t)v;
}

static void test_header_malformed(void **state)
{
	struct dw_header h;
	struct buf b;

	build_small(&b);
	assert_int_equal(dw_header_read(b.p, b.len, &h), 0);
	assert_int_equal(h.len, 56);
	/* Fewer than 20 octets: wait for more, whatever they say. */
	assert_int_equal(dw_header_read(b.p, 19, &h), -EAGAIN);
	assert_int_equal(dw_header_read(b.p, 0, &h), -EAGAIN);
	/* Exactly the header is enough; the length may point further. */
	assert_int_equal(dw_header_read(b.p, 20, &h), 0);
	assert_int_equal(h.len, 56);

	b.p[0] = 2;
	dump("bad-version", b.p, b.len);
	assert_int_equal(dw_header_read(b.p, b.len, &h), -EBADMSG);
	b.p[0] = 0;
	assert_int_equal(dw_header_read(b.p, b.len, &h), -EBADMSG);
	b.p[0] = 1;
	set24(b.p + 1, 19);
	dump("bad-length-19", b.p, b.len);
	assert_int_equal(dw_header_read(b.p, b.len, &h), -EBADMSG);
	set24(b.p + 1, 0);
	assert_int_equal(dw_header_read(b.p, b.len, &h), -EBADMSG);
	set24(b.p + 1, 54);
	assert_int_equal(dw_header_read(b.p, b.len, &h), -EBADMSG);
	set24(b.p + 1, 57);
	assert_int_equal(dw_header_read(b.p, b.len, &h), -EBADMSG);
	/* A header of its own, no AVPs: valid. */
	set24(b.p + 1, 20);
	assert_int_equal(dw_header_read(b.p, b.len, &h), 0);
	assert_int_equal(h.len, 20);
	buf_free(&b);
}

/*
 * Walk the message: the number of good AVPs before the walk ends, the
 * final return, and the iterator left at its end after an error.
 */
static int walk(const struct buf *b, int *good)
{
	struct dw_iter it;
	struct dw_avp a;
	int rc;

	*good = 0;
	dw_iter_msg(&it, b->p, b->len);
	while ((rc = dw_next(&it, &a)) > 0)
		(*good)++;
	if (rc < 0) {
		assert_ptr_equal(it.p, it.end);
		/* It stays there: the next call is the end, not the bad AVP again. */
		assert_int_equal(dw_next(&it, &a), 0);
	}
	return rc;
}

/* What dw_find makes of the broken third AVP: the first two found, then the error. */
static void assert_find_around_bad_third(const struct buf *b)
{
	struct dw_iter it;
	struct dw_avp a;
	uint32_t code = 0;
	bool exp = true;

	dw_iter_msg(&it, b->p, b->len);
	assert_int_equal(dw_find(&it, DW_AVP_SESSION_ID, 0, &a), 0);
	assert_int_equal(a.len, 3);
	assert_int_equal(dw_result(&it, &code, &exp), 0);
	assert_int_equal(code, 2001);
	assert_int_equal(dw_find(&it, DW_AVP_ORIGIN_REALM, 0, &a), -EBADMSG);
}

static void test_avp_past_message(void **state)
{
	struct buf b;
	int good;

	build_small(&b);
	assert_int_equal(walk(&b, &good), 0);
	assert_int_equal(good, 3);
	/* Origin-Host claims 13 octets where 12 are left. */
	set24(b.p + 44 + 5, 13);
	dump("avp-past-message", b.p, b.len);
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 2);
	assert_find_around_bad_third(&b);
	/* A length of 12 with 12 left is the boundary: good. */
	set24(b.p + 44 + 5, 12);
	assert_int_equal(walk(&b, &good), 0);
	assert_int_equal(good, 3);
	buf_free(&b);
}

static void test_avp_under_header(void **state)
{
	struct buf b;
	int good;

	build_small(&b);
	set24(b.p + 44 + 5, 7);
	dump("avp-under-header", b.p, b.len);
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 2);
	assert_find_around_bad_third(&b);
	/*
	 * 8 without V is an empty AVP, fine; the walk then meets "hss\0",
	 * 4 octets where an AVP header needs 8.
	 */
	set24(b.p + 44 + 5, 8);
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 3);
	buf_free(&b);

	/* With V the header is 12: Origin-Host's 11 is now under it, so is 8. */
	build_small(&b);
	b.p[44 + 4] |= DW_AVP_VENDOR;
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 2);
	/* 12: vendor "hss\0", no data; the boundary, good. */
	set24(b.p + 44 + 5, 12);
	assert_int_equal(walk(&b, &good), 0);
	assert_int_equal(good, 3);
	set24(b.p + 44 + 5, 8);
	dump("avp-v-under-header", b.p, b.len);
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 2);
	assert_find_around_bad_third(&b);
	buf_free(&b);
}

static void test_truncated_vendor(void **state)
{
	struct buf b;
	struct dw_iter it;
	struct dw_avp a;
	int good;

	build_small(&b);
	/*
	 * Cut the message 8 octets into Origin-Host, an AVP that says it has
	 * a vendor id (V, length 12): the vendor id would start where the
	 * message ends.
	 */
	b.len = 52;
	set24(b.p + 1, 52);
	b.p[44 + 4] |= DW_AVP_VENDOR;
	set24(b.p + 44 + 5, 12);
	dump("truncated-vendor", b.p, b.len);
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 2);
	assert_find_around_bad_third(&b);
	/* And with fewer than 8 octets of AVP header left. */
	b.len = 48;
	assert_int_equal(walk(&b, &good), -EBADMSG);
	assert_int_equal(good, 2);
	/* An iterator over an empty message is at its end at once. */
	dw_iter_msg(&it, b.p, 20);
	assert_int_equal(dw_next(&it, &a), 0);
	assert_int_equal(dw_find(&it, DW_AVP_SESSION_ID, 0, &a), -ENOENT);
	buf_free(&b);
}

static void test_group_overrun(void **state)
{
	struct buf b;
	struct dw_iter it, in;
	struct dw_avp a, g;
	size_t m, grp;
	uint32_t code, u;
	bool exp;
	int good;

	buf_init(&b);
	m = dw_msg_begin(&b, 0, 303, CX_APPLICATION_ID, 1, 2);
	/* Offsets: Session-Id 20, the group 32, its Vendor-Id 40 and
	 * Experimental-Result-Code 52, Origin-Host 64. */
	dw_put(&b, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, "abc", 3);
	grp = dw_group_begin(&b, DW_AVP_EXPERIMENTAL_RESULT, DW_AVP_MANDATORY, 0);
	dw_put_u32(&b, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, CX_VENDOR_3GPP);
	dw_put_u32(&b, DW_AVP_EXPERIMENTAL_RESULT_CODE, DW_AVP_MANDATORY, 0, 5001);
	dw_group_end(&b, grp);
	dw_put(&b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, "hss", 3);
	dw_msg_end(&b, m);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(b.len, 76);
	dw_iter_msg(&it, b.p, b.len);
	assert_int_equal(dw_result(&it, &code, &exp), 0);
	assert_int_equal(code, 5001);
	assert_true(exp);

	/* Experimental-Result-Code claims 16 octets; the group has 12 left. */
	set24(b.p + 52 + 5, 16);
	dump("group-overrun", b.p, b.len);
	/* The message itself is still well formed around the group. */
	assert_int_equal(walk(&b, &good), 0);
	assert_int_equal(good, 3);
	assert_int_equal(dw_find(&it, DW_AVP_EXPERIMENTAL_RESULT, 0, &g), 0);
	assert_int_equal(g.len, 24);
	dw_iter_group(&in, &g);
	assert_int_equal(dw_next(&in, &a), 1);
	assert_int_equal(a.code, DW_AVP_VENDOR_ID);
	assert_int_equal(dw_next(&in, &a), -EBADMSG);
	assert_ptr_equal(in.p, in.end);
	assert_int_equal(dw_next(&in, &a), 0);
	dw_iter_group(&in, &g);
	assert_int_equal(dw_find(&in, DW_AVP_VENDOR_ID, 0, &a), 0);
	assert_int_equal(dw_u32(&a, &u), 0);
	assert_int_equal(u, CX_VENDOR_3GPP);
	assert_int_equal(dw_find(&in, DW_AVP_EXPERIMENTAL_RESULT_CODE, 0, &a), -EBADMSG);
	assert_int_equal(dw_result(&it, &code, &exp), -EBADMSG);
	buf_free(&b);
}

static void test_u32_size(void **state)
{
	static const uint8_t five[5] = { 0, 0, 7, 0xd1, 0 };
	struct dw_avp a = { .code = DW_AVP_RESULT_CODE, .data = five, .len = 4 };
	struct dw_iter it;
	struct buf b;
	uint32_t v = 0, code = 0;
	bool exp;
	size_t m;

	assert_int_equal(dw_u32(&a, &v), 0);
	assert_int_equal(v, 2001);
	v = 99;
	a.len = 3;
	assert_int_equal(dw_u32(&a, &v), -EBADMSG);
	a.len = 5;
	assert_int_equal(dw_u32(&a, &v), -EBADMSG);
	a.len = 0;
	assert_int_equal(dw_u32(&a, &v), -EBADMSG);
	assert_int_equal(v, 99);

	/* A 3-octet Result-Code on the wire: dw_result says so, not "absent". */
	buf_init(&b);
	m = dw_msg_begin(&b, 0, 303, CX_APPLICATION_ID, 1, 2);
	dw_put(&b, DW_AVP_RESULT_CODE, DW_AVP_MANDATORY, 0, five, 3);
	dw_msg_end(&b, m);
	dump("result-code-3", b.p, b.len);
	dw_iter_msg(&it, b.p, b.len);
	assert_int_equal(dw_result(&it, &code, &exp), -EBADMSG);
	buf_reset(&b);
	m = dw_msg_begin(&b, 0, 303, CX_APPLICATION_ID, 1, 2);
	dw_put(&b, DW_AVP_RESULT_CODE, DW_AVP_MANDATORY, 0, five, 5);
	dw_msg_end(&b, m);
	dw_iter_msg(&it, b.p, b.len);
	assert_int_equal(dw_result(&it, &code, &exp), -EBADMSG);
	buf_free(&b);
}

/* The last AVP of a group without its padding (wire.c tolerates it). */
static void test_unpadded_last(void **state)
{
	static const uint8_t msg[] = {
		0x01, 0x00, 0x00, 0x20, 0x00, 0x00, 0x01, 0x2f, 0x01, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
		0x00, 0x00, 0x01, 0x07, 0x40, 0x00, 0x00, 0x0b, 'a', 'b', 'c', 0x00,
	};
	struct dw_header h;
	struct dw_iter it;
	struct dw_avp a, g;
	uint8_t grp[8 + 9];
	int good = 0;

	assert_int_equal(dw_header_read(msg, sizeof(msg), &h), 0);
	dw_iter_msg(&it, msg, h.len);
	assert_int_equal(dw_next(&it, &a), 1);
	assert_int_equal(a.len, 3);
	assert_int_equal(dw_next(&it, &a), 0);

	/* A group of 17 octets whose single member is 9, not padded to 12. */
	memcpy(grp, "\x00\x00\x01\x29\x40\x00\x00\x11\x00\x00\x00\x01\x40\x00\x00\x09z", 17);
	g = (struct dw_avp){ .code = 297, .data = grp + 8, .len = 9 };
	dw_iter_group(&it, &g);
	while (dw_next(&it, &a) > 0) {
		assert_int_equal(a.code, 1);
		assert_int_equal(a.len, 1);
		assert_int_equal(a.data[0], 'z');
		good++;
	}
	assert_int_equal(good, 1);
	assert_ptr_equal(it.p, it.end);
}

/* --- writer limits ------------------------------------------------------------------ */

static void test_writer_avp_limit(void **state)
{
	const size_t max = DW_MAX_LEN;
	uint8_t *big = calloc(1, max);
	struct buf b;
	struct dw_iter it;
	struct dw_avp a;
	size_t m, g;

	assert_non_null(big);
	/* The largest AVP there can be: 8 + (2^24 - 9) octets. */
	buf_init(&b);
	dw_put(&b, DW_AVP_USER_NAME, 0, 0, big, max - 8);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal((uint8_t)b.p[5], 0xff);
	assert_int_equal((uint8_t)b.p[6], 0xff);
	assert_int_equal((uint8_t)b.p[7], 0xff);
	dw_iter_group(&it, &(struct dw_avp){ .data = (const uint8_t *)b.p, .len = b.len });
	assert_int_equal(dw_next(&it, &a), 1);
	assert_int_equal(a.len, max - 8);
	buf_free(&b);

	/* One more octet does not fit in 24 bits. */
	buf_init(&b);
	dw_put(&b, DW_AVP_USER_NAME, 0, 0, big, max - 7);
	assert_int_equal(buf_error(&b), -EMSGSIZE);
	buf_free(&b);
	/* With V, the header is 12. */
	buf_init(&b);
	dw_put(&b, 606, DW_AVP_MANDATORY, CX_VENDOR_3GPP, big, max - 11);
	assert_int_equal(buf_error(&b), -EMSGSIZE);
	buf_free(&b);

	/* A group whose members add up to more than 24 bits. */
	buf_init(&b);
	g = dw_group_begin(&b, 612, DW_AVP_MANDATORY, CX_VENDOR_3GPP);
	dw_put(&b, 609, DW_AVP_MANDATORY, CX_VENDOR_3GPP, big, max / 2);
	dw_put(&b, 609, DW_AVP_MANDATORY, CX_VENDOR_3GPP, big, max / 2);
	assert_int_equal(buf_error(&b), 0);
	dw_group_end(&b, g);
	assert_int_equal(buf_error(&b), -EMSGSIZE);
	buf_free(&b);

	/* A message whose AVPs fit one by one but not together. */
	buf_init(&b);
	m = dw_msg_begin(&b, DW_REQUEST, 303, CX_APPLICATION_ID, 1, 2);
	dw_put(&b, 609, DW_AVP_MANDATORY, CX_VENDOR_3GPP, big, max / 2);
	dw_put(&b, 609, DW_AVP_MANDATORY, CX_VENDOR_3GPP, big, max / 2);
	assert_int_equal(buf_error(&b), 0);
	dw_msg_end(&b, m);
	assert_int_equal(buf_error(&b), -EMSGSIZE);
	buf_free(&b);
	free(big);
}

/* A CER with Host-IP-Address for IPv4 and IPv6, read by freeDiameter's base dictionary. */
static void test_address_to_freediameter(void **state)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct dict_object *hip = NULL;
	struct sockaddr_storage got;
	struct avp *a;
	struct msg *msg;
	struct buf b;
	size_t m;

	assert_int_equal(inet_pton(AF_INET, "198.18.0.1", &v4.sin_addr), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7:1", &v6.sin6_addr), 1);
	buf_init(&b);
	m = dw_msg_begin(&b, DW_REQUEST, DW_CMD_CAPABILITIES_EXCHANGE, 0, 3, 4);
	dw_put_str(&b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, head.origin_host);
	dw_put_str(&b, DW_AVP_ORIGIN_REALM, DW_AVP_MANDATORY, 0, head.origin_realm);
	dw_put_address(&b, DW_AVP_HOST_IP_ADDRESS, DW_AVP_MANDATORY, (struct sockaddr *)&v4);
	dw_put_address(&b, DW_AVP_HOST_IP_ADDRESS, DW_AVP_MANDATORY, (struct sockaddr *)&v6);
	dw_put_u32(&b, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, 0);
	dw_put_str(&b, DW_AVP_PRODUCT_NAME, 0, 0, STR_LIT("simreg"));
	dw_msg_end(&b, m);
	assert_int_equal(buf_error(&b), 0);
	dump("cer", b.p, b.len);
	msg = fd_parse(&b);
	assert_int_equal(compare_message(&b, msg), 6);
	assert_reencodes_same(&b, msg);

	assert_int_equal(fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME,
					"Host-IP-Address", &hip, ENOENT),
			 0);
	a = fd_child(msg, hip);
	/* AddressType 1 (IPv4), then the 4 octets. */
	assert_int_equal(fd_hdr(a)->avp_value->os.len, 6);
	assert_int_equal(fd_hdr(a)->avp_value->os.data[1], 1);
	memset(&got, 0, sizeof(got));
	assert_int_equal(fd_dictfct_Address_interpret(fd_hdr(a)->avp_value, &got), 0);
	assert_int_equal(got.ss_family, AF_INET);
	assert_memory_equal(&((struct sockaddr_in *)&got)->sin_addr, &v4.sin_addr, 4);
	assert_int_equal(dmsg_find(msg, hip, a, &a), 0);
	/* AddressType 2 (IPv6), then the 16 octets. */
	assert_int_equal(fd_hdr(a)->avp_value->os.len, 18);
	assert_int_equal(fd_hdr(a)->avp_value->os.data[1], 2);
	memset(&got, 0, sizeof(got));
	assert_int_equal(fd_dictfct_Address_interpret(fd_hdr(a)->avp_value, &got), 0);
	assert_int_equal(got.ss_family, AF_INET6);
	assert_memory_equal(&((struct sockaddr_in6 *)&got)->sin6_addr, &v6.sin6_addr, 16);
	fd_msg_free(msg);

	/* Neither IPv4 nor IPv6: nothing written, the buffer says why. */
	buf_reset(&b);
	dw_put_address(&b, DW_AVP_HOST_IP_ADDRESS, DW_AVP_MANDATORY, (struct sockaddr *)&un);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_error(&b), -EAFNOSUPPORT);
	buf_free(&b);
}

/* dw_set_ids patches a built message in place. */
static void test_set_ids(void **state)
{
	struct dw_header h;
	struct buf b;

	build_small(&b);
	dw_set_ids(b.p, 0xdeadbeefu, 0x0badf00du);
	assert_int_equal(dw_header_read(b.p, b.len, &h), 0);
	assert_int_equal(h.hbh, 0xdeadbeefu);
	assert_int_equal(h.e2e, 0x0badf00du);
	assert_int_equal(h.code, 303);
	assert_int_equal(h.len, 56);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mar_to_freediameter),
		cmocka_unit_test(test_mar_resync_to_freediameter),
		cmocka_unit_test(test_sar_to_freediameter),
		cmocka_unit_test(test_sar_empty_path_to_freediameter),
		cmocka_unit_test(test_writer_padding),
		cmocka_unit_test(test_maa_from_freediameter),
		cmocka_unit_test(test_experimental_from_freediameter),
		cmocka_unit_test(test_saa_from_freediameter),
		cmocka_unit_test(test_result_absent),
		cmocka_unit_test(test_header_malformed),
		cmocka_unit_test(test_avp_past_message),
		cmocka_unit_test(test_avp_under_header),
		cmocka_unit_test(test_truncated_vendor),
		cmocka_unit_test(test_group_overrun),
		cmocka_unit_test(test_u32_size),
		cmocka_unit_test(test_unpadded_last),
		cmocka_unit_test(test_writer_avp_limit),
		cmocka_unit_test(test_address_to_freediameter),
		cmocka_unit_test(test_set_ids),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
