/*
 * simreg aka - Milenage, AUTS and Digest AKAv1-MD5 from the command line,
 * for engineers checking a trace or provisioning a card (in the spirit of
 * osmo-auc-gen).
 *
 *   simreg aka vector --k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX --amf HEX
 *   simreg aka auts   --k HEX (--op HEX | --opc HEX) --rand HEX --sqn-ms HEX
 *   simreg aka resync --k HEX (--op HEX | --opc HEX) --rand HEX --auts HEX
 *   simreg aka digest --nonce B64 --res HEX --username S --realm S [...]
 *
 * Options are one X-macro list; each subcommand says which it requires and
 * which it allows, so a misplaced option is an error that names it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aka/digest.h"
#include "aka/milenage.h"
#include "aka/sqn.h"
#include "aka/usim.h"
#include "aka/vector.h"
#include "cli.h"
#include "core/hex.h"
#include "core/str.h"

/* X(enum suffix, long name, argument, octets for hex options or 0) */
#define AKA_OPTIONS(X)                         \
	X(K, "k", "HEX", AKA_K_LEN)            \
	X(OP, "op", "HEX", AKA_OP_LEN)         \
	X(OPC, "opc", "HEX", AKA_OP_LEN)       \
	X(RAND, "rand", "HEX", AKA_RAND_LEN)   \
	X(SQN, "sqn", "HEX", AKA_SQN_LEN)      \
	X(AMF, "amf", "HEX", AKA_AMF_LEN)      \
	X(SQN_MS, "sqn-ms", "HEX", AKA_SQN_LEN) \
	X(AUTS, "auts", "HEX", AKA_AUTS_LEN)   \
	X(IND_BITS, "ind-bits", "N", 0)        \
	X(NONCE, "nonce", "B64", 0)            \
	X(RES, "res", "HEX", 0)                \
	X(USERNAME, "username", "S", 0)        \
	X(REALM, "realm", "S", 0)              \
	X(URI, "uri", "S", 0)                  \
	X(METHOD, "method", "S", 0)            \
	X(QOP, "qop", "Q", 0)                  \
	X(NC, "nc", "HEX", 0)                  \
	X(CNONCE, "cnonce", "S", 0)            \
	X(BODY, "body", "S", 0)

enum aka_opt {
#define X(e, name, arg, len) OPT_##e,
	AKA_OPTIONS(X)
#undef X
	OPT__COUNT
};

struct opt_info {
	const char *name;
	size_t hex_len;
};

static const struct opt_info opt_info[OPT__COUNT] = {
#define X(e, name, arg, len) [OPT_##e] = { name, len },
	AKA_OPTIONS(X)
#undef X
};

#define BIT(o) (1u << (o))
#define KEYS (BIT(OPT_K) | BIT(OPT_OP) | BIT(OPT_OPC))

struct aka_args {
	const char *val[OPT__COUNT];
	uint8_t k[AKA_K_LEN], op[AKA_OP_LEN], rand[AKA_RAND_LEN], sqn[AKA_SQN_LEN];
	uint8_t amf[AKA_AMF_LEN], sqn_ms[AKA_SQN_LEN], auts[AKA_AUTS_LEN];
	enum milenage_opkind opkind;
};

struct subcommand {
	const char *name;
	unsigned required; /* besides K and OP/OPc for those that use them */
	unsigned allowed;
	int (*run)(struct aka_args *a);
};

static void print_hex_line(const char *name, const uint8_t *b, size_t len)
{
	char hex[2 * 64 + 1];

	hex_encode(b, len, hex);
	printf("%s: %s\n", name, hex);
	OPENSSL_cleanse(hex, sizeof(hex));
}

static void print_sqn_line(const char *name, uint64_t sqn)
{
	uint8_t b[AKA_SQN_LEN];

	aka_sqn_to_bytes(sqn, b);
	print_hex_line(name, b, sizeof(b));
}

static int init_milenage(struct aka_args *a, struct milenage *m)
{
	int rc = milenage_init(m, a->k, a->op, a->opkind);

	if (rc)
		fprintf(stderr, "simreg aka: cannot set up AES-128: %s\n", strerror(-rc));
	return rc;
}

static int run_vector(struct aka_args *a)
{
	struct milenage m;
	struct milenage_out o;
	uint8_t autn[AKA_AUTN_LEN];
	char nonce[BASE64_ENCODED_LEN(AKA_RAND_LEN + AKA_AUTN_LEN) + 1];
	int rc = CLI_FAIL;

	if (init_milenage(a, &m))
		goto out;
	if (milenage_compute(&m, a->rand, a->sqn, a->amf, &o))
		goto free_m;
	for (int i = 0; i < AKA_SQN_LEN; i++)
		autn[i] = a->sqn[i] ^ o.ak[i];
	memcpy(autn + AKA_SQN_LEN, a->amf, AKA_AMF_LEN);
	memcpy(autn + AKA_SQN_LEN + AKA_AMF_LEN, o.mac_a, AKA_MAC_LEN);
	if (akav1_nonce_encode(a->rand, autn, NULL, 0, nonce, sizeof(nonce)) < 0)
		goto free_m;

	print_hex_line("opc", m.opc, AKA_OP_LEN);
	print_hex_line("mac_a", o.mac_a, AKA_MAC_LEN);
	print_hex_line("mac_s", o.mac_s, AKA_MAC_LEN);
	print_hex_line("res", o.res, AKA_RES_LEN);
	print_hex_line("ck", o.ck, AKA_CK_LEN);
	print_hex_line("ik", o.ik, AKA_IK_LEN);
	print_hex_line("ak", o.ak, AKA_AK_LEN);
	print_hex_line("ak_star", o.ak_star, AKA_AK_LEN);
	print_hex_line("autn", autn, AKA_AUTN_LEN);
	printf("nonce: %s\n", nonce);
	rc = CLI_OK;
free_m:
	OPENSSL_cleanse(&o, sizeof(o));
	milenage_free(&m);
out:
	return rc;
}

static int run_auts(struct aka_args *a)
{
	struct milenage m;
	uint8_t auts[AKA_AUTS_LEN];
	char b64[BASE64_ENCODED_LEN(AKA_AUTS_LEN) + 1];
	int rc = CLI_FAIL;

	if (init_milenage(a, &m))
		goto out;
	if (usim_auts(&m, a->rand, aka_sqn_from_bytes(a->sqn_ms), auts))
		goto free_m;
	print_hex_line("auts", auts, sizeof(auts));
	base64_encode(auts, sizeof(auts), b64);
	printf("auts_b64: %s\n", b64);
	rc = CLI_OK;
free_m:
	milenage_free(&m);
out:
	return rc;
}

static int run_resync(struct aka_args *a)
{
	struct milenage m;
	uint64_t sqn_ms, last, next;
	uint64_t ind_bits = SQN_IND_BITS_DEFAULT;
	int rc = CLI_FAIL, err;

	if (a->val[OPT_IND_BITS] &&
	    str_to_u64(str_from_cstr(a->val[OPT_IND_BITS]), SQN_IND_BITS_MAX, &ind_bits)) {
		cli_usage_error("aka", "--ind-bits: expected a number from 0 to %d, got '%s'",
				SQN_IND_BITS_MAX, a->val[OPT_IND_BITS]);
		return CLI_USAGE;
	}
	if (init_milenage(a, &m))
		goto out;
	err = aka_resync(&m, a->rand, a->auts, &sqn_ms);
	if (err == -EBADMSG) {
		fprintf(stderr, "simreg aka resync: MAC-S check failed: this AUTS was not made "
				"with this K/OP and RAND (SQN_HE must stay unchanged)\n");
		goto free_m;
	}
	if (err)
		goto free_m;
	print_sqn_line("sqn_ms", sqn_ms);
	/* What the HSS does next (33.102 §6.3.5): SQN_HE = SQN_MS, and the
	 * next vector carries the SQN after it. */
	if (sqn_he_resync(sqn_ms, &last) == 0 && sqn_he_next(last, (unsigned)ind_bits, &next) == 0)
		print_sqn_line("sqn_next", next);
	rc = CLI_OK;
free_m:
	milenage_free(&m);
out:
	return rc;
}

static int run_digest(struct aka_args *a)
{
	struct akav1_nonce n;
	struct digest_request r = { 0 };
	uint8_t res[64], nc[4];
	size_t res_len = 0;
	char ha1[DIGEST_HEX_LEN + 1], ha2[DIGEST_HEX_LEN + 1], resp[DIGEST_HEX_LEN + 1];
	char uri_buf[512];
	int err, rc = CLI_USAGE;

	r.nonce = str_from_cstr(a->val[OPT_NONCE]);
	err = akav1_nonce_decode(r.nonce, &n);
	if (err) {
		cli_usage_error("aka", "--nonce: %s",
				err == -EBADMSG ? "decodes to fewer than 32 octets (RAND || AUTN)" :
				err == -EMSGSIZE ? "longer than 256 characters" :
						   "not base64");
		goto out;
	}
	err = hex_decode_var(str_from_cstr(a->val[OPT_RES]), res, sizeof(res), &res_len);
	if (err) {
		cli_usage_error("aka", "--res: %s", err == -EINVAL ? "not hexadecimal" :
				"expected an even number of hex digits, at most 128 "
				"(empty for the sync-failure response)");
		goto out;
	}
	r.username = str_from_cstr(a->val[OPT_USERNAME]);
	r.realm = str_from_cstr(a->val[OPT_REALM]);
	r.method = str_from_cstr(a->val[OPT_METHOD] ? a->val[OPT_METHOD] : "REGISTER");
	if (a->val[OPT_URI]) {
		r.uri = str_from_cstr(a->val[OPT_URI]);
	} else {
		/* 24.229 §5.1.1.2: the REGISTER's Request-URI, sip:<home domain>. */
		snprintf(uri_buf, sizeof(uri_buf), "sip:%s", a->val[OPT_REALM]);
		r.uri = str_from_cstr(uri_buf);
	}
	r.qop = DIGEST_QOP_NONE;
	if (a->val[OPT_QOP] && digest_qop_parse(str_from_cstr(a->val[OPT_QOP]), &r.qop)) {
		cli_usage_error("aka", "--qop: expected 'auth' or 'auth-int', got '%s'",
				a->val[OPT_QOP]);
		goto out;
	}
	if (r.qop != DIGEST_QOP_NONE) {
		r.nc = str_from_cstr(a->val[OPT_NC] ? a->val[OPT_NC] : "00000001");
		if (r.nc.len != 8 || hex_decode(r.nc, nc, sizeof(nc))) {
			cli_usage_error("aka", "--nc: expected 8 hex digits, got '%.*s'",
					STR_FMT(r.nc));
			goto out;
		}
		if (!a->val[OPT_CNONCE] || !a->val[OPT_CNONCE][0]) {
			cli_usage_error("aka", "--cnonce is required with --qop");
			goto out;
		}
		r.cnonce = str_from_cstr(a->val[OPT_CNONCE]);
	} else if (a->val[OPT_NC] || a->val[OPT_CNONCE]) {
		cli_usage_error("aka", "--%s applies only with --qop",
				a->val[OPT_NC] ? "nc" : "cnonce");
		goto out;
	}
	if (a->val[OPT_BODY] && r.qop != DIGEST_QOP_AUTH_INT) {
		cli_usage_error("aka", "--body applies only with --qop auth-int");
		goto out;
	}
	r.body = str_from_cstr(a->val[OPT_BODY] ? a->val[OPT_BODY] : "");

	rc = CLI_FAIL;
	if (digest_ha1(r.username, r.realm, res, res_len, ha1) || digest_ha2(&r, ha2) ||
	    digest_response(&r, res, res_len, resp))
		goto out;
	print_hex_line("rand", n.rand, AKA_RAND_LEN);
	print_hex_line("autn", n.autn, AKA_AUTN_LEN);
	printf("ha1: %s\nha2: %s\nresponse: %s\n", ha1, ha2, resp);
	rc = CLI_OK;
out:
	OPENSSL_cleanse(res, sizeof(res));
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return rc;
}

#define MILENAGE_IN (KEYS | BIT(OPT_RAND))
#define DIGEST_IN                                                                       \
	(BIT(OPT_NONCE) | BIT(OPT_RES) | BIT(OPT_USERNAME) | BIT(OPT_REALM))

static const struct subcommand subcommands[] = {
	{ "vector", MILENAGE_IN | BIT(OPT_SQN) | BIT(OPT_AMF), 0, run_vector },
	{ "auts", MILENAGE_IN | BIT(OPT_SQN_MS), 0, run_auts },
	{ "resync", MILENAGE_IN | BIT(OPT_AUTS), BIT(OPT_IND_BITS), run_resync },
	{ "digest", DIGEST_IN,
	  BIT(OPT_URI) | BIT(OPT_METHOD) | BIT(OPT_QOP) | BIT(OPT_NC) | BIT(OPT_CNONCE) |
		  BIT(OPT_BODY),
	  run_digest },
};

static void print_manual(void)
{
	printf(
"NAME\n"
"       simreg aka - Milenage vectors, AUTS and Digest AKAv1-MD5 by hand\n"
"\n"
"SYNOPSIS\n"
"       simreg aka vector --k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX --amf HEX\n"
"       simreg aka auts   --k HEX (--op HEX | --opc HEX) --rand HEX --sqn-ms HEX\n"
"       simreg aka resync --k HEX (--op HEX | --opc HEX) --rand HEX --auts HEX\n"
"                         [--ind-bits N]\n"
"       simreg aka digest --nonce B64 --res HEX --username IMPI --realm REALM\n"
"                         [--uri URI] [--method METHOD]\n"
"                         [--qop auth|auth-int --cnonce S [--nc HEX8] [--body TEXT]]\n"
"\n"
"DESCRIPTION\n"
"       vector  runs Milenage (TS 35.206) and prints one `name: hex` line each for\n"
"               opc, mac_a (f1), mac_s (f1*), res (f2), ck (f3), ik (f4), ak (f5),\n"
"               ak_star (f5*), autn = (SQN xor AK) || AMF || MAC-A, then\n"
"               `nonce:` = base64(RAND || AUTN) as in a SIP 401 (RFC 3310).\n"
"       auts    is what a USIM sends on a synchronisation failure (TS 33.102\n"
"               6.3.3): prints `auts:` = (SQN_MS xor AK*) || MAC-S with\n"
"               AMF* = 0000, and `auts_b64:` as it appears in auts=\"...\".\n"
"       resync  is the HSS side: recovers SQN_MS from RAND and AUTS, checks MAC-S\n"
"               and prints `sqn_ms:`, then `sqn_next:`, the SQN the next vector\n"
"               carries (SEQ_MS + 1, next IND; --ind-bits, default 5). A bad\n"
"               MAC-S is an error and changes nothing.\n"
"       digest  computes an AKAv1-MD5 response: the password is RES as raw\n"
"               octets (empty --res for the response that goes with an auts).\n"
"               Prints the rand and autn inside the nonce, ha1, ha2, response.\n"
"\n"
"OPTIONS\n"
"       --k HEX        subscriber key K, 16 octets (32 hex digits)\n"
"       --op HEX       operator variant OP, 16 octets; OPc is derived from it\n"
"       --opc HEX      OPc, 16 octets; exactly one of --op and --opc is given\n"
"       --rand HEX     RAND, 16 octets\n"
"       --sqn HEX      SQN, 6 octets (12 hex digits)\n"
"       --amf HEX      AMF, 2 octets\n"
"       --sqn-ms HEX   the USIM's SQN_MS, 6 octets\n"
"       --auts HEX     AUTS, 14 octets\n"
"       --ind-bits N   IND length for sqn_next (0..%d, default %d)\n"
"       --nonce B64    the nonce of the challenge, without quotes\n"
"       --res HEX      RES, the password (may be empty)\n"
"       --username S   Digest username (the IMPI)\n"
"       --realm S      Digest realm\n"
"       --uri S        digest-uri (default sip:REALM)\n"
"       --method S     request method (default REGISTER)\n"
"       --qop Q        auth or auth-int; without it the RFC 2069 form is used\n"
"       --nc HEX8      nonce count (default 00000001)\n"
"       --cnonce S     client nonce (required with --qop)\n"
"       --body TEXT    message body for auth-int (default empty)\n"
"       -h, --help     this manual\n"
"\n"
"       Hex may carry a 0x prefix and either case. Keys and results are printed\n"
"       on standard output only; nothing is logged.\n"
"\n"
"EXAMPLE\n"
"       simreg aka vector --k 465b5ce8b199b49faa5f0a2ee238a6bc \\\n"
"           --opc cd63cb71954a9f4e48a5994e37a02baf \\\n"
"           --rand 23553cbe9637a89d218ae64dae47bf35 --sqn ff9bb4d0b607 --amf b9b9\n"
"\n"
"EXIT STATUS\n"
"       0 success; 1 the operation failed (resync: MAC-S did not verify);\n"
"       2 bad usage: a missing, misplaced or malformed argument, named in the\n"
"       message.\n"
"\n"
"SEE ALSO\n"
"       osmo-auc-gen(1), docs/aka.md\n",
	       SQN_IND_BITS_MAX, SQN_IND_BITS_DEFAULT);
}

/* Decode a fixed-length hex option; a usage error naming it otherwise. */
static int decode_hex_opt(struct aka_args *a, enum aka_opt o, uint8_t *out)
{
	const char *v = a->val[o];
	int err = hex_decode(str_from_cstr(v), out, opt_info[o].hex_len);

	if (err == -EINVAL)
		cli_usage_error("aka", "--%s: not hexadecimal: '%s'", opt_info[o].name, v);
	else if (err)
		cli_usage_error("aka", "--%s: expected %zu hex digits (%zu octets), got %zu",
				opt_info[o].name, 2 * opt_info[o].hex_len, opt_info[o].hex_len,
				strlen(v) - (strncmp(v, "0x", 2) && strncmp(v, "0X", 2) ? 0 : 2));
	return err;
}

static uint8_t *hex_target(struct aka_args *a, enum aka_opt o)
{
	switch (o) {
	case OPT_K:
		return a->k;
	case OPT_OP:
	case OPT_OPC:
		return a->op;
	case OPT_RAND:
		return a->rand;
	case OPT_SQN:
		return a->sqn;
	case OPT_AMF:
		return a->amf;
	case OPT_SQN_MS:
		return a->sqn_ms;
	case OPT_AUTS:
		return a->auts;
	default:
		return NULL;
	}
}

static int check_args(const struct subcommand *sc, struct aka_args *a)
{
	unsigned given = 0;

	for (unsigned o = 0; o < OPT__COUNT; o++)
		if (a->val[o])
			given |= BIT(o);
	for (unsigned o = 0; o < OPT__COUNT; o++) {
		if ((given & BIT(o)) && !((sc->required | sc->allowed) & BIT(o))) {
			cli_usage_error("aka", "--%s does not apply to `aka %s`", opt_info[o].name,
					sc->name);
			return -EINVAL;
		}
	}
	if (sc->required & KEYS) {
		bool op = given & BIT(OPT_OP), opc = given & BIT(OPT_OPC);
		if (op == opc) {
			cli_usage_error("aka", op ? "--op and --opc: give one, not both"
						  : "--op or --opc is required");
			return -EINVAL;
		}
		a->opkind = op ? MILENAGE_OP : MILENAGE_OPC;
	}
	for (unsigned o = 0; o < OPT__COUNT; o++) {
		if ((BIT(o) & (BIT(OPT_OP) | BIT(OPT_OPC))) || !(sc->required & BIT(o)))
			continue;
		if (!(given & BIT(o))) {
			cli_usage_error("aka", "--%s is required for `aka %s`", opt_info[o].name,
					sc->name);
			return -EINVAL;
		}
	}
	for (unsigned o = 0; o < OPT__COUNT; o++) {
		uint8_t *dst = hex_target(a, (enum aka_opt)o);
		if ((given & BIT(o)) && dst && decode_hex_opt(a, (enum aka_opt)o, dst))
			return -EINVAL;
	}
	return 0;
}

int cmd_aka(int argc, char **argv)
{
	static const struct option longopts[] = {
#define X(e, name, arg, len) { name, required_argument, NULL, OPT_##e },
		AKA_OPTIONS(X)
#undef X
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct subcommand *sc = NULL;
	struct aka_args a;
	int c, rc = CLI_USAGE;

	if (cli_wants_help(argc, argv)) {
		print_manual();
		return CLI_OK;
	}
	memset(&a, 0, sizeof(a));
	if (argc < 2) {
		cli_usage_error("aka", "a subcommand is required: vector, auts, resync or digest");
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			sc = &subcommands[i];
	if (!sc) {
		cli_usage_error("aka", "unknown subcommand '%s' (vector, auts, resync, digest)",
				argv[1]);
		return CLI_USAGE;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", longopts, NULL)) != -1) {
		if (c == '?') {
			cli_usage_error("aka", "unknown option '%s'", argv[optind]);
			goto out;
		}
		if (c == ':') {
			cli_usage_error("aka", "%s needs a value", argv[optind]);
			goto out;
		}
		if (c >= 0 && c < OPT__COUNT) {
			if (a.val[c]) {
				cli_usage_error("aka", "--%s given twice", opt_info[c].name);
				goto out;
			}
			a.val[c] = optarg;
		}
	}
	if (optind < argc - 1) {
		cli_usage_error("aka", "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (check_args(sc, &a))
		goto out;
	rc = sc->run(&a);
out:
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}
