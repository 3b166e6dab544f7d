#define SLOG_COMPONENT "lab"
#include "lab/evidence.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aka/digest.h"
#include "aka/milenage.h"
#include "core/hex.h"
#include "core/log.h"
#include "lab/command.h"
#include "lab/frames.h"
#include "lab/lab.h"

/* Diameter Cx command codes (TS 29.229 6.1). */
#define CX_SAR 301
#define CX_MAR 303

/* ---- keys --------------------------------------------------------------------- */

struct vector {
	uint8_t rand[AKA_RAND_LEN], ck[AKA_CK_LEN], ik[AKA_IK_LEN];
};

bool lab_keys_ok(const struct lab_key_evidence *k)
{
	return k->measured && k->vectors > 0 && k->verified == k->vectors && k->challenges > 0 &&
	       k->from_hss == k->challenges && k->distinct_keys == k->challenges &&
	       k->impis_of_subscription && k->hss_sqn == k->sqn_max;
}

static const struct lab_member *capture_on(const struct lab *lab, const char *role,
					   const char *ifname)
{
	for (size_t i = 0; i < lab->n_members; i++) {
		const struct lab_member *m = &lab->members[i];

		if (m->kind == LAB_MEMBER_CAPTURE && m->role && m->ifname &&
		    !strcmp(m->role, role) && !strcmp(m->ifname, ifname))
			return m;
	}
	return NULL;
}

/* Split a ','-joined tshark list in place. */
static size_t split_list(char *s, char **out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		char *c = strchr(s, ',');

		out[n++] = s;
		if (!c)
			break;
		*c = 0;
		s = c + 1;
	}
	return n;
}

static bool hex16(const char *s, uint8_t out[16])
{
	return strlen(s) == 32 && hex_decode(str_make(s, 32), out, 16) == 0;
}

/* A vector verifies when its AUTN carries the MAC-A of the subscription's
 * K over the SQN it hides (TS 33.102 6.3.3) and its CK, IK are f3, f4 of
 * its RAND. */
static bool verify_vector(struct milenage *m, const uint8_t rav[32], const uint8_t ck[16],
			  const uint8_t ik[16], uint64_t *sqn_out)
{
	const uint8_t *rand = rav, *autn = rav + AKA_RAND_LEN;
	uint8_t xck[16], xik[16], ak[AKA_AK_LEN], sqn[AKA_SQN_LEN], mac[AKA_MAC_LEN];
	bool ok;

	if (milenage_f2_f5star(m, rand, NULL, xck, xik, ak, NULL))
		return false;
	for (int i = 0; i < AKA_SQN_LEN; i++)
		sqn[i] = autn[i] ^ ak[i];
	if (milenage_f1_f1star(m, rand, sqn, autn + AKA_SQN_LEN, mac, NULL))
		return false;
	ok = !memcmp(mac, autn + AKA_SQN_LEN + AKA_AMF_LEN, AKA_MAC_LEN) && !memcmp(xck, ck, 16) &&
	     !memcmp(xik, ik, 16);
	*sqn_out = aka_sqn_from_bytes(sqn);
	return ok;
}

static void add_impi(struct lab_key_evidence *k, const char *impi)
{
	for (unsigned i = 0; i < k->n_impis; i++)
		if (!strcmp(k->impis[i], impi))
			return;
	if (k->n_impis < LAB_EV_MAX_IMPIS)
		snprintf(k->impis[k->n_impis++], sizeof(k->impis[0]), "%s", impi);
}

/* The Cx link: MARs, and the vectors of the MAAs. */
static int read_cx(const struct lab *lab, struct milenage *m, struct lab_key_evidence *k,
		   struct vector *vec, size_t *n_vec)
{
	static const char *const fields[] = {
		"diameter.cmd.code",
		"diameter.flags.request",
		"diameter.User-Name",
		"diameter.3GPP-SIP-Authenticate",
		"diameter.Confidentiality-Key",
		"diameter.Integrity-Key",
		NULL,
	};
	const struct lab_member *hss = lab_function_of_kind(lab, "hss");
	const struct lab_member *cap = hss ? capture_on(lab, hss->role, "lo") : NULL;
	struct arena a;
	char *out, *line, *next;
	int rc;

	if (!cap)
		return -ENOENT;
	arena_init(&a, 0, 0);
	rc = lab_tshark(cap->pcap, "diameter", NULL, fields, &a, &out);
	for (line = rc ? NULL : out; line && *line; line = next) {
		char *f[6], *codes[4], *reqs[4], *ra[8], *cks[8], *iks[8];
		size_t nc, nr, nv;
		bool mar_req = false, maa = false;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (lab_split_tabs(line, f, 6) < 6)
			continue;
		nc = split_list(f[0], codes, 4);
		nr = split_list(f[1], reqs, 4);
		for (size_t i = 0; i < nc && i < nr; i++) {
			bool req = reqs[i][0] == '1' || reqs[i][0] == 'T';

			if (atoi(codes[i]) != CX_MAR)
				continue;
			if (req) {
				k->mar++;
				mar_req = true;
			} else {
				maa = true;
			}
		}
		if (mar_req && !maa) {
			char *names[4];
			size_t nn = split_list(f[2], names, 4);

			for (size_t i = 0; i < nn; i++)
				add_impi(k, names[i]);
		}
		if (!maa)
			continue;
		nv = split_list(f[3], ra, 8);
		split_list(f[4], cks, 8);
		split_list(f[5], iks, 8);
		for (size_t i = 0; i < nv && *n_vec < LAB_EV_MAX_KEYS; i++) {
			uint8_t rav[32];
			struct vector *v = &vec[*n_vec];
			uint64_t sqn = 0;

			k->vectors++;
			if (strlen(ra[i]) != 64 || hex_decode(str_make(ra[i], 64), rav, 32) ||
			    !hex16(cks[i], v->ck) || !hex16(iks[i], v->ik))
				continue;
			memcpy(v->rand, rav, AKA_RAND_LEN);
			(*n_vec)++;
			if (!verify_vector(m, rav, v->ck, v->ik, &sqn))
				continue;
			k->verified++;
			if (!k->sqn_min || sqn < k->sqn_min)
				k->sqn_min = sqn;
			if (sqn > k->sqn_max)
				k->sqn_max = sqn;
		}
	}
	arena_destroy(&a);
	return rc;
}

static void fingerprint(const uint8_t ck[16], const uint8_t ik[16], char out[17])
{
	uint8_t in[32], md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	memcpy(in, ck, 16);
	memcpy(in + 16, ik, 16);
	if (EVP_Digest(in, sizeof(in), md, &len, EVP_sha256(), NULL) != 1 || len < 8)
		memset(md, 0, 8);
	hex_encode(md, 8, out);
	out[16] = 0;
}

static char *unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = 0;
		return s + 1;
	}
	return s;
}

/* The 401s towards the P-CSCFs, each once (a retransmission has the same
 * Call-ID and CSeq). */
static int read_challenges(const struct lab *lab, struct lab_key_evidence *k,
			   const struct vector *vec, size_t n_vec)
{
	static const char *const fields[] = { "sip.Call-ID", "sip.CSeq",    "sip.auth.nonce",
					      "sip.auth.ck", "sip.auth.ik", NULL };
	const struct lab_topology *t = lab_topology_find(lab->topology ? lab->topology : "");
	char seen[LAB_EV_MAX_KEYS][160];
	uint8_t keys[LAB_EV_MAX_KEYS][32];
	unsigned n_seen = 0;
	struct arena a;
	int rc = 0;

	arena_init(&a, 0, 0);
	for (size_t i = 0; !rc && t && i < lab->n_members; i++) {
		const struct lab_member *m = &lab->members[i];
		char *out, *line, *next;
		bool core = false;

		if (m->kind != LAB_MEMBER_CAPTURE)
			continue;
		/* Links between a P-CSCF and the core: where ck and ik travel. */
		for (size_t j = 0; j < t->n_links; j++)
			core |= !strcmp(t->links[j].name, m->name) &&
				t->links[j].plane == LAB_PLANE_CORE;
		if (!core)
			continue;
		arena_reset(&a);
		rc = lab_tshark(m->pcap, "sip.Status-Code == 401", NULL, fields, &a, &out);
		for (line = rc ? NULL : out; line && *line; line = next) {
			char *f[5], key[160];
			struct akav1_nonce nonce;
			uint8_t ck[16], ik[16];
			bool dup = false;

			next = strchr(line, '\n');
			if (next)
				*next++ = 0;
			if (lab_split_tabs(line, f, 5) < 5)
				continue;
			snprintf(key, sizeof(key), "%s|%s", f[0], f[1]);
			for (unsigned s = 0; s < n_seen && !dup; s++)
				dup = !strcmp(seen[s], key);
			if (dup || n_seen == LAB_EV_MAX_KEYS)
				continue;
			snprintf(seen[n_seen], sizeof(seen[0]), "%s", key);
			k->challenges++;
			if (akav1_nonce_decode(str_from_cstr(unquote(f[2])), &nonce) ||
			    !hex16(unquote(f[3]), ck) || !hex16(unquote(f[4]), ik)) {
				n_seen++;
				continue;
			}
			for (size_t v = 0; v < n_vec; v++)
				if (!memcmp(vec[v].rand, nonce.rand, AKA_RAND_LEN) &&
				    !memcmp(vec[v].ck, ck, 16) && !memcmp(vec[v].ik, ik, 16)) {
					k->from_hss++;
					break;
				}
			memcpy(keys[n_seen], ck, 16);
			memcpy(keys[n_seen] + 16, ik, 16);
			fingerprint(ck, ik, k->hashes[k->n_hashes++]);
			n_seen++;
		}
	}
	arena_destroy(&a);
	for (unsigned i = 0; i < n_seen; i++) {
		bool first = true;

		for (unsigned j = 0; j < i && first; j++)
			first = memcmp(keys[i], keys[j], 32) != 0;
		k->distinct_keys += first;
	}
	return rc;
}

/* `simreg ctl subscriber show IMPI`: the subscription's own IMPI and SQN. */
static int hss_show(const char *simreg, const char *data, const char *impi, char *own,
		    size_t own_size, uint64_t *sqn)
{
	const char *argv[] = { simreg, "ctl", "--data", data, "subscriber", "show", impi, NULL };
	char out[8192];
	int rc = lab_cmd_run(argv, 0, out, sizeof(out));

	own[0] = 0;
	if (rc)
		return rc;
	for (char *l = out; l && *l;) {
		char *nl = strchr(l, '\n');

		if (nl)
			*nl = 0;
		if (!strncmp(l, "impi: ", 6))
			snprintf(own, own_size, "%s", l + 6);
		else if (!strncmp(l, "sqn: ", 5))
			*sqn = strtoull(l + 5, NULL, 16);
		l = nl ? nl + 1 : NULL;
	}
	return own[0] ? 0 : -EPROTO;
}

int lab_evidence_keys(const struct lab *lab, const char *simreg, struct lab_key_evidence *k)
{
	const struct lab_member *hss = lab_function_of_kind(lab, "hss");
	struct vector vec[LAB_EV_MAX_KEYS];
	uint8_t key[16], opc[16];
	struct milenage m;
	size_t n_vec = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	if (!hss || !lab->deploy.k || !lab->deploy.opc || !hex16(lab->deploy.k, key) ||
	    !hex16(lab->deploy.opc, opc))
		return -EINVAL;
	rc = milenage_init(&m, key, opc, MILENAGE_OPC);
	if (rc)
		return rc;
	rc = read_cx(lab, &m, k, vec, &n_vec);
	milenage_free(&m);
	if (!rc)
		rc = read_challenges(lab, k, vec, n_vec);
	/* The HSS's records: whose subscription each challenged IMPI is, and
	 * the SQN it last issued. */
	k->impis_of_subscription = k->n_impis > 0;
	for (unsigned i = 0; !rc && i < k->n_impis; i++) {
		char own[96];
		uint64_t sqn = 0;

		rc = hss_show(simreg, hss->data, k->impis[i], own, sizeof(own), &sqn);
		if (!rc && strcmp(own, lab->deploy.impi) != 0)
			k->impis_of_subscription = false;
		if (!rc && !strcmp(k->impis[i], lab->deploy.impi))
			k->hss_sqn = sqn;
	}
	if (!rc && !k->hss_sqn) {
		char own[96];

		rc = hss_show(simreg, hss->data, lab->deploy.impi, own, sizeof(own), &k->hss_sqn);
	}
	k->measured = rc == 0;
	return rc;
}

void lab_keys_write_json(const struct lab_key_evidence *k, struct json_writer *w)
{
	json_begin_object(w);
	json_kv_bool(w, "measured", k->measured);
	json_kv_int(w, "mar", k->mar);
	json_kv_int(w, "vectors", k->vectors);
	json_kv_int(w, "verified", k->verified);
	json_kv_int(w, "challenges", k->challenges);
	json_kv_int(w, "from_hss", k->from_hss);
	json_kv_int(w, "distinct_keys", k->distinct_keys);
	json_kv_int(w, "sqn_min", (int64_t)k->sqn_min);
	json_kv_int(w, "sqn_max", (int64_t)k->sqn_max);
	json_kv_int(w, "hss_sqn", (int64_t)k->hss_sqn);
	json_kv_bool(w, "impis_of_subscription", k->impis_of_subscription);
	json_key(w, "impis");
	json_begin_array(w);
	for (unsigned i = 0; i < k->n_impis; i++)
		json_cstring(w, k->impis[i]);
	json_end_array(w);
	json_key(w, "key_fingerprints");
	json_begin_array(w);
	for (unsigned i = 0; i < k->n_hashes; i++)
		json_cstring(w, k->hashes[i]);
	json_end_array(w);
	json_kv_bool(w, "ok", lab_keys_ok(k));
	json_end_object(w);
}

static unsigned uget(const struct json_value *v, const char *key)
{
	int64_t x;

	return json_get_int(v, key, &x) == 0 && x > 0 ? (unsigned)x : 0;
}

void lab_keys_read_json(const struct json_value *v, struct lab_key_evidence *k)
{
	const struct json_value *arr;
	int64_t x;

	memset(k, 0, sizeof(*k));
	if (!v || v->type != JSON_OBJECT)
		return;
	json_get_bool(v, "measured", &k->measured);
	k->mar = uget(v, "mar");
	k->vectors = uget(v, "vectors");
	k->verified = uget(v, "verified");
	k->challenges = uget(v, "challenges");
	k->from_hss = uget(v, "from_hss");
	k->distinct_keys = uget(v, "distinct_keys");
	if (!json_get_int(v, "sqn_min", &x))
		k->sqn_min = (uint64_t)x;
	if (!json_get_int(v, "sqn_max", &x))
		k->sqn_max = (uint64_t)x;
	if (!json_get_int(v, "hss_sqn", &x))
		k->hss_sqn = (uint64_t)x;
	json_get_bool(v, "impis_of_subscription", &k->impis_of_subscription);
	arr = json_get(v, "impis");
	if (arr && arr->type == JSON_ARRAY)
		json_for_each (i, arr)
			if (i->type == JSON_STRING && k->n_impis < LAB_EV_MAX_IMPIS)
				str_copy(k->impis[k->n_impis++], sizeof(k->impis[0]), i->u.string);
	arr = json_get(v, "key_fingerprints");
	if (arr && arr->type == JSON_ARRAY)
		json_for_each (i, arr)
			if (i->type == JSON_STRING && k->n_hashes < LAB_EV_MAX_KEYS)
				str_copy(k->hashes[k->n_hashes++], sizeof(k->hashes[0]),
					 i->u.string);
}

/* ---- captures ------------------------------------------------------------------- */

/* A message counted once however many times it crossed a link of the kind. */
struct seen {
	char (*keys)[200];
	size_t n, cap;
};

static bool seen_has(const struct seen *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i], key))
			return true;
	return false;
}

static bool first_time(struct seen *s, const char *key)
{
	if (seen_has(s, key))
		return false;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char(*k)[200] = realloc(s->keys, cap * sizeof(*k));

		if (!k)
			return true;
		s->keys = k;
		s->cap = cap;
	}
	snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
	return true;
}

/* What the UE's event log says it sent (REGISTERs) and was challenged (the
 * USIM's runs, one per 401). */
static void ue_log_counts(const struct lab *lab, long *registers, long *challenges)
{
	const struct lab_member *ue = lab_function_of_kind(lab, "ue");
	char *path = NULL, *line = NULL;
	size_t cap = 0;
	FILE *f;

	*registers = *challenges = -1;
	if (!ue || !ue->data || asprintf(&path, "%s/ue-events.jsonl", ue->data) < 0)
		return;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return;
	*registers = *challenges = 0;
	while (getline(&line, &cap, f) > 0) {
		struct arena a;
		struct json_value *v;
		struct str ev, dir, method;

		arena_init(&a, 0, 0);
		if (json_parse(&a, str_from_cstr(line), &v, NULL) == 0 &&
		    json_get_str(v, "event", &ev) == 0) {
			if (str_eq_cstr(ev, "aka"))
				(*challenges)++;
			else if (str_eq_cstr(ev, "msg") && json_get_str(v, "dir", &dir) == 0 &&
				 str_eq_cstr(dir, "tx") &&
				 json_get_str(v, "method", &method) == 0 &&
				 str_eq_cstr(method, "REGISTER"))
				(*registers)++;
		}
		arena_destroy(&a);
	}
	free(line);
	fclose(f);
}

/*
 * The S-CSCF's own account, from its log: one "challenged IMPI" line per
 * 401 it sent, and the REGISTERs it handled in its "stopping:" line.
 */
static void scscf_log_counts(const struct lab *lab, long *registers, long *challenges)
{
	const struct lab_member *m = lab_function_of_kind(lab, "scscf");
	const char *stopping = " scscf notice: stopping: ";
	char *line = NULL;
	size_t cap = 0;
	FILE *f = m && m->log ? fopen(m->log, "re") : NULL;

	*registers = *challenges = -1;
	if (!f)
		return;
	*challenges = 0;
	while (getline(&line, &cap, f) > 0) {
		const char *p;

		if (strstr(line, " scscf info: challenged "))
			(*challenges)++;
		else if ((p = strstr(line, stopping)))
			*registers = strtol(p + strlen(stopping), NULL, 10);
	}
	free(line);
	fclose(f);
}

int lab_evidence_captures(const struct lab *lab, long scscf_registers, long scscf_challenges,
			  struct lab_capture_evidence *e)
{
	struct lab_frames fr;
	/* [what][access, core]: 0-3 as the counts, 4 challenges and 5 the
	 * REGISTERs answering them, by Call-ID and CSeq number */
	struct seen seen[6][2] = { { { 0 } } };
	long n[4][3] = { { 0 } }; /* [what][access, core, cx] */
	long ue_reg, ue_401;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = lab_frames_read(lab, &fr);
	if (rc)
		goto out;
	e->esa_lines = fr.esp_sa_lines;
	e->all_decode = true;
	for (size_t i = 0; i < fr.n_links && i < LAB_EV_MAX_LINKS; i++) {
		struct lab_link_evidence *l = &e->links[e->n_links++];

		snprintf(l->link, sizeof(l->link), "%s", fr.links[i].name);
		l->access =
			fr.links[i].kind == LAB_LINK_ACCESS || fr.links[i].kind == LAB_LINK_ROUTER;
		l->frames = fr.links[i].frames;
		l->malformed = fr.links[i].malformed;
		if (l->malformed)
			e->all_decode = false;
		memcpy(l->why, fr.links[i].why, sizeof(l->why));
		memcpy(l->dump, fr.links[i].dump, sizeof(l->dump));
	}
	for (size_t i = 0; i < fr.n; i++) {
		const struct lab_frame *x = &fr.v[i];
		struct lab_link_evidence *l = x->link < e->n_links ? &e->links[x->link] : NULL;
		enum lab_link_kind kind = fr.links[x->link].kind;
		int side = kind == LAB_LINK_ACCESS ? 0 : kind == LAB_LINK_CORE ? 1 : -1;
		unsigned long cseq;
		char key[200];

		if (!l)
			continue;
		l->sip += x->sip;
		l->diameter += x->n_dia > 0;
		if (x->esp) {
			l->esp++;
			/* Inside ESP there is only SIP, and the outbound keep-alives
			 * (STUN, RFC 5626 4.4.1). */
			if (x->icv_good && (x->sip || x->stun))
				l->esp_sip++;
			else
				e->all_decode = false;
		}
		for (unsigned d = 0; d < x->n_dia && kind == LAB_LINK_LOCAL; d++) {
			if (!x->dia_request[d])
				continue;
			n[2][2] += x->dia_code[d] == CX_MAR;
			/* (RE_)REGISTRATION: what follows a successful authentication
			 * (29.228 6.1.2; the deregistrations come apart). */
			n[3][2] += x->dia_code[d] == CX_SAR && (x->sat == 1 || x->sat == 2);
		}
		if (side < 0 || !x->sip || !strstr(x->cseq, "REGISTER"))
			continue;
		snprintf(key, sizeof(key), "%s|%s|%s|%d", x->call_id, x->cseq, x->method,
			 x->status);
		if (!strcmp(x->method, "REGISTER") && first_time(&seen[0][side], key))
			n[0][side]++;
		if (x->status == 401 && first_time(&seen[1][side], key))
			n[1][side]++;
		/* A REGISTER answering a challenge (the next CSeq on the 401's
		 * Call-ID, TS 24.229 5.1.1.5.1), and its 2xx: the S-CSCF owes the
		 * HSS one SAR for it. */
		cseq = strtoul(x->cseq, NULL, 10);
		snprintf(key, sizeof(key), "%s|%lu", x->call_id, cseq);
		if (x->status == 401)
			first_time(&seen[4][side], key);
		if (!strcmp(x->method, "REGISTER") && x->authenticated && cseq > 0) {
			char prev[200];

			snprintf(prev, sizeof(prev), "%s|%lu", x->call_id, cseq - 1);
			if (seen_has(&seen[4][side], prev))
				first_time(&seen[5][side], key);
		}
		if (x->status >= 200 && x->status < 300 && seen_has(&seen[5][side], key) &&
		    first_time(&seen[3][side], key))
			n[3][side]++;
	}
	ue_log_counts(lab, &ue_reg, &ue_401);
	if (scscf_registers < 0 || scscf_challenges < 0) {
		long reg, chal;

		scscf_log_counts(lab, &reg, &chal);
		if (scscf_registers < 0)
			scscf_registers = reg;
		if (scscf_challenges < 0)
			scscf_challenges = chal;
	}
	e->counts[0] =
		(struct lab_count_row){ "REGISTER", ue_reg, n[0][0], n[0][1], scscf_registers, -1 };
	e->counts[1] =
		(struct lab_count_row){ "401", ue_401, n[1][0], n[1][1], scscf_challenges, -1 };
	e->counts[2] = (struct lab_count_row){ "MAR", -1, -1, -1, scscf_challenges, n[2][2] };
	e->counts[3] = (struct lab_count_row){ "SAR", -1, n[3][0], n[3][1], -1, n[3][2] };
	/* What must agree by construction: what the UE logged is what went on
	 * its links; what reached the S-CSCF is what it counted; one MAR per
	 * challenge; one SAR per successful REGISTER. */
	e->counts_agree = (ue_reg < 0 || ue_reg == n[0][0]) && (ue_401 < 0 || ue_401 == n[1][0]) &&
			  (scscf_registers < 0 || scscf_registers == n[0][1]) &&
			  (scscf_challenges < 0 || scscf_challenges == n[1][1]) &&
			  n[2][2] == n[1][1] && n[3][2] == n[3][1] && n[1][0] == n[1][1];
out:
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 2; j++)
			free(seen[i][j].keys);
	lab_frames_free(&fr);
	return rc;
}

static void count_cell(long v, FILE *out)
{
	if (v < 0)
		fprintf(out, " %10s", "-");
	else
		fprintf(out, " %10ld", v);
}

/* What tshark says of a capture's first malformed frames, with their octets. */
static void print_malformed(const struct lab_link_evidence *l, FILE *out)
{
	enum { LINES_MAX = 80 };

	for (unsigned j = 0; j < LAB_MALFORMED_SHOWN && j < l->malformed; j++) {
		char line[256];
		unsigned n = 0;
		FILE *f;

		fprintf(out, "  %s: MALFORMED %s\n", l->link, l->why[j]);
		f = l->dump[j][0] ? fopen(l->dump[j], "re") : NULL;
		if (!f)
			continue;
		fprintf(out, "    (%s)\n", l->dump[j]);
		while (n++ < LINES_MAX && fgets(line, sizeof(line), f))
			fprintf(out, "    %s%s", line, strchr(line, '\n') ? "" : "\n");
		fclose(f);
	}
}

void lab_evidence_print(const struct lab_capture_evidence *e, const struct lab_key_evidence *k,
			FILE *out)
{
	if (e) {
		fprintf(out, "  %-14s %7s %5s %8s %5s %13s %9s\n", "capture", "frames", "SIP",
			"Diameter", "ESP", "ESP decrypted", "malformed");
		for (size_t i = 0; i < e->n_links; i++) {
			const struct lab_link_evidence *l = &e->links[i];

			fprintf(out, "  %-14s %7u %5u %8u %5u %13u %9u\n", l->link, l->frames,
				l->sip, l->diameter, l->esp, l->esp_sip, l->malformed);
		}
		for (size_t i = 0; i < e->n_links; i++)
			print_malformed(&e->links[i], out);
		fprintf(out, "  tshark was given %u SAs from the key logs; %s\n", e->esa_lines,
			e->all_decode
				? "every frame decodes and every ESP packet decrypts (ICV good) "
				  "to SIP or a keep-alive"
				: "SOME FRAMES DO NOT DECODE (see above)");
		fprintf(out, "\n  %-10s %10s %10s %10s %10s %10s\n", "messages", "UE log", "access",
			"core", "S-CSCF", "Cx");
		for (int i = 0; i < 4; i++) {
			const struct lab_count_row *c = &e->counts[i];

			fprintf(out, "  %-10s", c->what);
			count_cell(c->ue_log, out);
			count_cell(c->access, out);
			count_cell(c->core, out);
			count_cell(c->scscf, out);
			count_cell(c->cx, out);
			fputc('\n', out);
		}
		fprintf(out, "  the counts %s\n",
			e->counts_agree ? "agree" : "DO NOT AGREE (see above)");
	}
	if (k && k->measured) {
		fprintf(out,
			"\n  vectors from the HSS: %u, verified with the subscription's K and "
			"OPc: %u (SQN %llu..%llu; the HSS's record says %llu)\n",
			k->vectors, k->verified, (unsigned long long)k->sqn_min,
			(unsigned long long)k->sqn_max, (unsigned long long)k->hss_sqn);
		fprintf(out, "  IMPIs challenged:");
		for (unsigned i = 0; i < k->n_impis; i++)
			fprintf(out, " %s", k->impis[i]);
		fprintf(out, " (%s)\n",
			k->impis_of_subscription ? "the HSS maps each to the same subscription"
						 : "NOT ALL OF THE SAME SUBSCRIPTION");
		fprintf(out, "  401s: %u, carrying a vector of the HSS: %u, distinct CK/IK: %u\n",
			k->challenges, k->from_hss, k->distinct_keys);
		fprintf(out, "  SHA-256(CK||IK) fingerprints:");
		for (unsigned i = 0; i < k->n_hashes; i++)
			fprintf(out, " %s", k->hashes[i]);
		fprintf(out, "\n");
	}
}
