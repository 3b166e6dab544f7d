/*
 * xfrm.c - the kernel does ESP; simreg installs SAs and policies through
 * XFRM netlink (libmnl).
 *
 * Every request is one plain struct (what to install), turned into one
 * netlink message by one builder, sent with NLM_F_ACK; the kernel's answer
 * is read back before the next request, and an error is logged with the
 * SA's SPI and addresses and the kernel's extended-ACK text. With
 * NETLINK_CAP_ACK the kernel does not echo requests (and so keys) back.
 *
 * Per SA of a set: the SA (transport mode, selectors = both addresses and
 * both ports, any protocol so UDP and TCP share it) and one policy in its
 * direction with a template naming the SA's reqid. The policy makes the
 * kernel protect outbound traffic of those selectors and refuse inbound
 * traffic of those selectors that did not arrive through the SA. reqids
 * carry simreg's tag, the set id, the side and the SA number (backend.h),
 * so nobody else's SAs are ever mistaken for ours.
 */
#define SLOG_COMPONENT "ipsec"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ipsec/backend_impl.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* 33.203 §7.1: IPsec lifetimes are infinite; the SIP layer ends the SAs. */
#define XFRM_LIFETIME_INF (~(uint64_t)0)
/* The same anti-replay window as the userspace backend (esp.h). */
#define REPLAY_WINDOW 64

struct xfrm_backend {
	struct ipsec_backend base;
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char err[160]; /* extended ACK text of the last error */
	uint8_t buf[1 << 16];
};

struct xfrm_ep {
	struct ipsec_endpoint base;
};

static struct xfrm_backend *xb(struct ipsec_backend *b)
{
	return (struct xfrm_backend *)b;
}

/* ---- requests: one struct each, one builder each ------------------------ */

/* XFRM_MSG_NEWSA */
struct newsa_req {
	const struct ipsec_sa *sa;
	const struct esp_keys *keys;
	uint32_t reqid;
	uint32_t oseq; /* outbound: the last sequence number already sent */
};

/* XFRM_MSG_NEWPOLICY / XFRM_MSG_DELPOLICY */
struct policy_req {
	const struct ipsec_sa *sa;
	uint32_t reqid;
};

static void put_addr(xfrm_address_t *x, const struct ipsec_addr *a)
{
	memset(x, 0, sizeof(*x));
	memcpy(x, a->b, ipsec_addr_len(a));
}

/* The SA's traffic: both addresses as hosts, both ports exact, any protocol. */
static void fill_selector(struct xfrm_selector *sel, const struct ipsec_sa *sa)
{
	uint8_t plen = sa->src.family == AF_INET ? 32 : 128;

	memset(sel, 0, sizeof(*sel));
	put_addr(&sel->saddr, &sa->src);
	put_addr(&sel->daddr, &sa->dst);
	sel->sport = htons(sa->sport);
	sel->sport_mask = 0xffff;
	sel->dport = htons(sa->dport);
	sel->dport_mask = 0xffff;
	sel->family = sa->src.family;
	sel->prefixlen_s = plen;
	sel->prefixlen_d = plen;
}

static void fill_lifetime(struct xfrm_lifetime_cfg *lft)
{
	lft->soft_byte_limit = lft->hard_byte_limit = XFRM_LIFETIME_INF;
	lft->soft_packet_limit = lft->hard_packet_limit = XFRM_LIFETIME_INF;
}

static struct nlmsghdr *msg_start(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

static struct nlmsghdr *build_newsa(void *buf, uint32_t seq, const struct newsa_req *r)
{
	struct nlmsghdr *nlh = msg_start(buf, XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL, seq);
	struct xfrm_usersa_info *info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));
	const struct esp_keys *k = r->keys;
	struct xfrm_algo_auth *auth;
	struct xfrm_algo *enc;
	struct xfrm_replay_state_esn *rs;
	size_t rs_len = sizeof(*rs) + 2 * sizeof(uint32_t);
	uint8_t abuf[sizeof(*auth) + ESP_AUTH_KEY_MAX], ebuf[sizeof(*enc) + ESP_ENC_KEY_MAX];
	uint8_t rbuf[sizeof(*rs) + 2 * sizeof(uint32_t)];

	fill_selector(&info->sel, r->sa);
	put_addr(&info->id.daddr, &r->sa->dst);
	info->id.spi = htonl(r->sa->spi);
	info->id.proto = IPPROTO_ESP;
	put_addr(&info->saddr, &r->sa->src);
	fill_lifetime(&info->lft);
	info->reqid = r->reqid;
	info->family = r->sa->src.family;
	info->mode = XFRM_MODE_TRANSPORT;
	info->replay_window = 0; /* the window comes in XFRMA_REPLAY_ESN_VAL */

	memset(abuf, 0, sizeof(abuf));
	auth = (struct xfrm_algo_auth *)abuf;
	snprintf(auth->alg_name, sizeof(auth->alg_name), "%s", esp_auth_alg_xfrm(k->auth));
	auth->alg_key_len = (unsigned)k->ik_len * 8;
	auth->alg_trunc_len = esp_auth_icv_bits(k->auth);
	memcpy(auth->alg_key, k->ik_esp, k->ik_len);
	mnl_attr_put(nlh, XFRMA_ALG_AUTH_TRUNC, sizeof(*auth) + k->ik_len, auth);

	/* ESP always has a cipher; "null" is ecb(cipher_null) with no key. */
	memset(ebuf, 0, sizeof(ebuf));
	enc = (struct xfrm_algo *)ebuf;
	snprintf(enc->alg_name, sizeof(enc->alg_name), "%s", esp_enc_alg_xfrm(k->enc));
	enc->alg_key_len = (unsigned)k->ck_len * 8;
	memcpy(enc->alg_key, k->ck_esp, k->ck_len);
	mnl_attr_put(nlh, XFRMA_ALG_CRYPT, sizeof(*enc) + k->ck_len, enc);

	/*
	 * The legacy replay_window field caps at 32 packets; a bitmap state
	 * without the ESN flag gives the 64 of RFC 4303 §3.4.3's default.
	 */
	memset(rbuf, 0, sizeof(rbuf));
	rs = (struct xfrm_replay_state_esn *)rbuf;
	rs->bmp_len = 2;
	rs->replay_window = REPLAY_WINDOW;
	/* A set re-installed after a restart numbers on from where it was. */
	rs->oseq = r->oseq;
	mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, rs_len, rs);

	OPENSSL_cleanse(abuf, sizeof(abuf));
	OPENSSL_cleanse(ebuf, sizeof(ebuf));
	return nlh;
}

static struct nlmsghdr *build_sa_id(void *buf, uint16_t type, uint32_t seq,
				    const struct ipsec_sa *sa)
{
	struct nlmsghdr *nlh = msg_start(buf, type, 0, seq);
	struct xfrm_usersa_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));

	put_addr(&id->daddr, &sa->dst);
	id->spi = htonl(sa->spi);
	id->family = sa->dst.family;
	id->proto = IPPROTO_ESP;
	return nlh;
}

static uint8_t policy_dir(const struct ipsec_sa *sa)
{
	return sa->dir == IPSEC_DIR_OUT ? XFRM_POLICY_OUT : XFRM_POLICY_IN;
}

static struct nlmsghdr *build_newpolicy(void *buf, uint32_t seq, const struct policy_req *r)
{
	struct nlmsghdr *nlh = msg_start(buf, XFRM_MSG_NEWPOLICY, NLM_F_CREATE | NLM_F_EXCL, seq);
	struct xfrm_userpolicy_info *pol = mnl_nlmsg_put_extra_header(nlh, sizeof(*pol));
	struct xfrm_user_tmpl tmpl;

	fill_selector(&pol->sel, r->sa);
	fill_lifetime(&pol->lft);
	pol->dir = policy_dir(r->sa);
	pol->action = XFRM_POLICY_ALLOW;
	pol->share = XFRM_SHARE_ANY;

	/* Transport mode: addresses come from the packet, the reqid picks our SA. */
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.id.proto = IPPROTO_ESP;
	tmpl.family = r->sa->src.family;
	tmpl.reqid = r->reqid;
	tmpl.mode = XFRM_MODE_TRANSPORT;
	tmpl.aalgos = tmpl.ealgos = tmpl.calgos = ~0u;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(tmpl), &tmpl);
	return nlh;
}

static struct nlmsghdr *build_delpolicy(void *buf, uint32_t seq, const struct policy_req *r)
{
	struct nlmsghdr *nlh = msg_start(buf, XFRM_MSG_DELPOLICY, 0, seq);
	struct xfrm_userpolicy_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));

	fill_selector(&id->sel, r->sa);
	id->dir = policy_dir(r->sa);
	return nlh;
}

/* ---- one round trip ----------------------------------------------------- */

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	char *err = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(err, 160, "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* The errno of an NLMSG_ERROR (0 for an ACK) and its extended-ACK text. */
static int parse_error(const struct nlmsghdr *nlh, char *err)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return -EBADMSG;
	if (e->error && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
		off = mnl_nlmsg_size(sizeof(*e));
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (off < nlh->nlmsg_len)
			mnl_attr_parse_payload((const char *)nlh + off, nlh->nlmsg_len - off,
					       ext_ack_attr, err);
	}
	return e->error;
}

/*
 * Send nlh and read until its ACK/error (or NLMSG_DONE of a dump); every
 * other message of ours goes to cb. Returns 0 or the negative errno the
 * kernel answered (its text in x->err).
 */
static int talk(struct xfrm_backend *x, struct nlmsghdr *nlh,
		int (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg)
{
	uint32_t seq = nlh->nlmsg_seq;
	int cb_err = 0, ret;
	ssize_t n;

	x->err[0] = '\0';
	n = mnl_socket_sendto(x->nl, nlh, nlh->nlmsg_len);
	OPENSSL_cleanse(nlh, nlh->nlmsg_len);
	if (n < 0)
		return -errno;
	for (;;) {
		int left;

		n = mnl_socket_recvfrom(x->nl, x->buf, sizeof(x->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (int)n;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)x->buf;
		     mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != x->portid)
				continue; /* a late answer to an earlier request */
			if (m->nlmsg_type == NLMSG_ERROR) {
				ret = parse_error(m, x->err);
				return ret ? ret : cb_err;
			}
			if (m->nlmsg_type == NLMSG_DONE)
				return cb_err;
			if (cb && cb(m, arg) < 0)
				cb_err = -EBADMSG;
		}
	}
}

static void report(struct xfrm_backend *x, const char *op, uint32_t set_id,
		   const struct ipsec_sa *sa, int err)
{
	char src[IPSEC_ADDR_STRLEN], dst[IPSEC_ADDR_STRLEN];

	log_error("xfrm %s for SA%u of set %u (spi 0x%08x %s port %u -> %s port %u): %s%s%s%s",
		  op, sa->index, set_id, sa->spi, ipsec_addr_str(&sa->src, src), sa->sport,
		  ipsec_addr_str(&sa->dst, dst), sa->dport, strerror(-err),
		  x->err[0] ? " (kernel: " : "", x->err, x->err[0] ? ")" : "");
}

static int sa_add(struct xfrm_backend *x, const struct ipsec_sa_set *set, unsigned i)
{
	struct newsa_req r = { &set->sa[i], &set->p.keys, set->reqid + i,
			       set->sa[i].dir == IPSEC_DIR_OUT ? set->p.seq_start[i] : 0 };

	return talk(x, build_newsa(x->buf, ++x->seq, &r), NULL, NULL);
}

static int sa_del(struct xfrm_backend *x, const struct ipsec_sa *sa)
{
	return talk(x, build_sa_id(x->buf, XFRM_MSG_DELSA, ++x->seq, sa), NULL, NULL);
}

static int policy_add(struct xfrm_backend *x, const struct ipsec_sa_set *set, unsigned i)
{
	struct policy_req r = { &set->sa[i], set->reqid + i };

	return talk(x, build_newpolicy(x->buf, ++x->seq, &r), NULL, NULL);
}

static int policy_del(struct xfrm_backend *x, const struct ipsec_sa *sa)
{
	struct policy_req r = { sa, 0 };

	return talk(x, build_delpolicy(x->buf, ++x->seq, &r), NULL, NULL);
}

/* ---- sets ---------------------------------------------------------------- */

static int xfrm_install(struct ipsec_backend *b, const struct ipsec_sa_set *set)
{
	struct xfrm_backend *x = xb(b);
	unsigned sas = 0, pols = 0;
	int ret = 0;

	for (; sas < IPSEC_SET_SAS; sas++) {
		ret = sa_add(x, set, sas);
		if (ret) {
			report(x, "NEWSA", set->id, &set->sa[sas], ret);
			goto undo;
		}
	}
	for (; pols < IPSEC_SET_SAS; pols++) {
		ret = policy_add(x, set, pols);
		if (ret) {
			report(x, "NEWPOLICY", set->id, &set->sa[pols], ret);
			goto undo;
		}
	}
	return 0;
undo:
	/* All or nothing: take back what this call installed. */
	while (pols--)
		if (policy_del(x, &set->sa[pols]))
			report(x, "DELPOLICY (undo)", set->id, &set->sa[pols], -EIO);
	while (sas--)
		if (sa_del(x, &set->sa[sas]))
			report(x, "DELSA (undo)", set->id, &set->sa[sas], -EIO);
	return ret;
}

static int xfrm_remove(struct ipsec_backend *b, const struct ipsec_sa_set *set)
{
	struct xfrm_backend *x = xb(b);
	int first = 0, ret;

	/* Policies first: no window in which traffic would leave unprotected. */
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		ret = policy_del(x, &set->sa[i]);
		if (ret) {
			report(x, "DELPOLICY", set->id, &set->sa[i], ret);
			first = first ? first : ret;
		}
	}
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		ret = sa_del(x, &set->sa[i]);
		if (ret) {
			report(x, "DELSA", set->id, &set->sa[i], ret);
			first = first ? first : ret;
		}
	}
	return first;
}

/* ---- counters ------------------------------------------------------------ */

static int counters_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ipsec_sa_counters *c = arg;
	const struct xfrm_usersa_info *info;
	const struct nlattr *a;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*info)))
		return -1;
	info = mnl_nlmsg_get_payload(nlh);
	c->packets = info->curlft.packets;
	c->bytes = info->curlft.bytes;
	c->replay = info->stats.replay_window + info->stats.replay;
	c->auth = info->stats.integrity_failed;
	c->seq = 0;
	/* The outbound counter lives in the replay state we installed. */
	mnl_attr_for_each(a, nlh, sizeof(*info)) {
		if (mnl_attr_get_type(a) == XFRMA_REPLAY_ESN_VAL &&
		    mnl_attr_get_payload_len(a) >= sizeof(struct xfrm_replay_state_esn)) {
			const struct xfrm_replay_state_esn *rs = mnl_attr_get_payload(a);

			c->seq = rs->oseq;
		}
	}
	return 0;
}

static int xfrm_counters(struct ipsec_backend *b, const struct ipsec_sa_set *set,
			 struct ipsec_sa_counters out[IPSEC_SET_SAS])
{
	struct xfrm_backend *x = xb(b);

	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		int ret = talk(x, build_sa_id(x->buf, XFRM_MSG_GETSA, ++x->seq, &set->sa[i]),
			       counters_cb, &out[i]);

		if (ret) {
			report(x, "GETSA", set->id, &set->sa[i], ret);
			return ret;
		}
	}
	return 0;
}

static int xfrm_spi_in_use(struct ipsec_backend *b, const struct ipsec_addr *dst, uint32_t spi)
{
	struct xfrm_backend *x = xb(b);
	struct ipsec_sa probe = { .dst = *dst, .spi = spi };
	struct ipsec_sa_counters ignored;
	int ret = talk(x, build_sa_id(x->buf, XFRM_MSG_GETSA, ++x->seq, &probe), counters_cb,
		       &ignored);

	if (ret == -ESRCH || ret == -ENOENT)
		return 0;
	return ret ? ret : 1;
}

/* ---- listing and adoption ------------------------------------------------ */

/* A set seen in the dump, SA by SA. */
struct partial {
	uint32_t id;
	enum ipsec_side side;
	uint8_t have;        /* bit n-1: SA n seen */
	bool keys_mismatch;
	struct ipsec_sa sa[IPSEC_SET_SAS];
	struct esp_keys keys;
};

struct scan_ctx {
	struct xfrm_backend *x;
	struct ipsec_table found; /* u32 id -> struct partial * */
	int err;
};

static void get_addr(struct ipsec_addr *a, const xfrm_address_t *x, uint16_t family)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->b, x, family == AF_INET ? 4 : 16);
}

struct alg_attrs {
	const struct xfrm_algo_auth *auth;
	const struct xfrm_algo *enc;
};

static int alg_attr(const struct nlattr *attr, void *data)
{
	struct alg_attrs *a = data;
	uint16_t len = mnl_attr_get_payload_len(attr);

	if (mnl_attr_get_type(attr) == XFRMA_ALG_AUTH_TRUNC && len >= sizeof(*a->auth))
		a->auth = mnl_attr_get_payload(attr);
	else if (mnl_attr_get_type(attr) == XFRMA_ALG_CRYPT && len >= sizeof(*a->enc))
		a->enc = mnl_attr_get_payload(attr);
	return MNL_CB_OK;
}

/* Map the kernel's algorithm names back through lib/aka's list. */
static int keys_from_kernel(const struct alg_attrs *a, struct esp_keys *k)
{
	bool auth_ok = false, enc_ok = false;

	memset(k, 0, sizeof(*k));
	if (!a->auth || !a->enc)
		return -EINVAL;
	for (unsigned i = 0; i < ESP_AUTH__COUNT; i++) {
		if (strncmp(a->auth->alg_name, esp_auth_alg_xfrm(i), sizeof(a->auth->alg_name)) == 0 &&
		    a->auth->alg_key_len == esp_auth_key_len(i) * 8) {
			k->auth = (enum esp_auth_alg)i;
			k->ik_len = esp_auth_key_len(i);
			memcpy(k->ik_esp, a->auth->alg_key, k->ik_len);
			auth_ok = true;
		}
	}
	for (unsigned i = 0; i < ESP_ENC__COUNT; i++) {
		if (strncmp(a->enc->alg_name, esp_enc_alg_xfrm(i), sizeof(a->enc->alg_name)) == 0 &&
		    a->enc->alg_key_len == esp_enc_key_len(i) * 8) {
			k->enc = (enum esp_enc_alg)i;
			k->ck_len = esp_enc_key_len(i);
			memcpy(k->ck_esp, a->enc->alg_key, k->ck_len);
			enc_ok = true;
		}
	}
	return auth_ok && enc_ok ? 0 : -EINVAL;
}

static int scan_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct scan_ctx *c = arg;
	const struct xfrm_usersa_info *info;
	struct alg_attrs algs = { NULL, NULL };
	struct esp_keys keys;
	struct partial *p;
	enum ipsec_side side;
	uint32_t id;
	unsigned n;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*info)))
		return 0;
	info = mnl_nlmsg_get_payload(nlh);
	/* Anything without our tag is somebody else's: not looked at further. */
	if (info->id.proto != IPPROTO_ESP ||
	    !ipsec_reqid_owned(&c->x->base, info->reqid, &id, &side, &n))
		return 0;
	mnl_attr_parse(nlh, sizeof(*info), alg_attr, &algs);
	p = ipsec_table_get(&c->found, &id);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || ipsec_table_add(&c->found, &id, p)) {
			free(p);
			c->err = -ENOMEM;
			return 0;
		}
		p->id = id;
		p->side = side;
	}
	struct ipsec_sa *sa = &p->sa[n - 1];
	sa->index = (uint8_t)n;
	get_addr(&sa->src, &info->saddr, info->family);
	get_addr(&sa->dst, &info->id.daddr, info->family);
	sa->sport = ntohs(info->sel.sport);
	sa->dport = ntohs(info->sel.dport);
	sa->spi = ntohl(info->id.spi);
	if (keys_from_kernel(&algs, &keys) ||
	    (p->have && memcmp(&keys, &p->keys, sizeof(keys)) != 0))
		p->keys_mismatch = true;
	p->keys = keys;
	OPENSSL_cleanse(&keys, sizeof(keys));
	p->have |= (uint8_t)(1u << (n - 1));
	return 0;
}

/* Rebuild the set from its four SAs: the inverse of ipsec_sa_set_build(). */
static int rebuild(const struct partial *p, struct ipsec_sa_set *set)
{
	struct ipsec_set_params prm;
	const struct ipsec_sa *s = p->sa;
	int ret;

	if (p->have != 0x0f || p->keys_mismatch)
		return -EINVAL;
	memset(&prm, 0, sizeof(prm));
	prm.ue = s[0].src;
	prm.pcscf = s[0].dst;
	prm.client = (struct ipsec_sec_params){ s[2].spi, s[1].spi, s[0].sport, s[1].dport };
	prm.server = (struct ipsec_sec_params){ s[3].spi, s[0].spi, s[1].sport, s[0].dport };
	prm.keys = p->keys;
	ret = ipsec_sa_set_build(set, p->side, &prm);
	OPENSSL_cleanse(&prm, sizeof(prm));
	if (ret)
		return ret;
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		const struct ipsec_sa *a = &set->sa[i], *b = &s[i];

		if (!ipsec_addr_eq(&a->src, &b->src) || !ipsec_addr_eq(&a->dst, &b->dst) ||
		    a->sport != b->sport || a->dport != b->dport || a->spi != b->spi)
			return -EINVAL;
	}
	return 0;
}

struct adopt_ctx {
	struct xfrm_backend *x;
	int (*found)(struct ipsec_backend *b, const struct ipsec_sa_set *set);
	int err;
};

static int adopt_one(void *arg, const void *key, void *value)
{
	struct adopt_ctx *a = arg;
	struct partial *p = value;
	struct ipsec_sa_set set;
	int ret;

	if (rebuild(p, &set)) {
		log_warn("set %u in the kernel is incomplete or inconsistent (SAs seen: 0x%x); "
			 "not adopted", p->id, p->have);
		return 0;
	}
	set.id = p->id;
	set.reqid = ipsec_reqid(&a->x->base, p->id, p->side, 1);
	ret = a->found(&a->x->base, &set);
	ipsec_sa_set_wipe(&set);
	if (ret)
		a->err = ret;
	return 0;
}

static int free_partial(void *arg, const void *key, void *value)
{
	OPENSSL_cleanse(value, sizeof(struct partial));
	free(value);
	return 0;
}

static int xfrm_scan(struct ipsec_backend *b,
		     int (*found)(struct ipsec_backend *b, const struct ipsec_sa_set *set))
{
	struct xfrm_backend *x = xb(b);
	struct scan_ctx c = { .x = x };
	struct adopt_ctx a = { x, found, 0 };
	struct nlmsghdr *nlh;
	int ret;

	ipsec_table_init(&c.found, sizeof(uint32_t));
	nlh = msg_start(x->buf, XFRM_MSG_GETSA, NLM_F_DUMP, ++x->seq);
	ret = talk(x, nlh, scan_cb, &c);
	if (ret)
		log_error("xfrm GETSA dump: %s", strerror(-ret));
	else if (c.err)
		ret = c.err;
	else
		ipsec_table_each(&c.found, adopt_one, &a);
	ipsec_table_each(&c.found, free_partial, NULL);
	ipsec_table_free(&c.found);
	return ret ? ret : a.err;
}

/* ---- endpoints: plain UDP sockets, the kernel applies the SAs ------------- */

static void to_sockaddr(const struct ipsec_addr *a, uint16_t port, struct sockaddr_storage *ss,
			socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		s->sin_addr = a->v4;
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		s->sin6_addr = a->v6;
		*len = sizeof(*s);
	}
}

static int xfrm_ep_open(struct ipsec_backend *b, const struct ipsec_addr *local, uint16_t port,
			struct ipsec_endpoint **out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct xfrm_ep *ep;
	int fd, one = 1, ret;

	fd = socket(local->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (local->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	to_sockaddr(local, port, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		ret = -errno;
		goto close_fd;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		ret = -ENOMEM;
		goto close_fd;
	}
	ep->base.b = b;
	ep->base.local = *local;
	ep->base.port = port;
	ep->base.fd = fd;
	*out = &ep->base;
	return 0;
close_fd:
	close(fd);
	return ret;
}

static void xfrm_ep_close(struct ipsec_endpoint *ep)
{
	close(ep->fd);
	free(ep);
}

static int xfrm_ep_send(struct ipsec_endpoint *ep, const struct ipsec_addr *to, uint16_t port,
			const void *buf, size_t len)
{
	const struct ipsec_sa *sa;
	struct sockaddr_storage ss;
	socklen_t sslen;

	/* Without our SA the kernel would send in the clear: refuse instead. */
	sa = ipsec_backend_match(ep->b, &ep->local, ep->port, to, port, NULL);
	if (!sa || sa->dir != IPSEC_DIR_OUT)
		return -ENOENT;
	to_sockaddr(to, port, &ss, &sslen);
	if (sendto(ep->fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&ss, sslen) < 0)
		return -errno;
	return 0;
}

static ssize_t xfrm_ep_recv(struct ipsec_endpoint *ep, void *buf, size_t cap,
			    struct ipsec_dgram_info *info)
{
	struct sockaddr_storage from;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			      .msg_iovlen = 1 };
	const struct ipsec_sa_set *set;
	const struct ipsec_sa *sa;
	ssize_t n = recvmsg(ep->fd, &msg, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	info->dst = ep->local;
	info->dport = ep->port;
	info->src.family = from.ss_family;
	if (from.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&from;

		info->src.v4 = s->sin_addr;
		info->sport = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&from;

		info->src.v6 = s->sin6_addr;
		info->sport = ntohs(s->sin6_port);
	}
	/*
	 * The inbound policy of our SA let it in only through that SA; name
	 * it. A datagram matching no installed set (set_id 0) came in clear
	 * to the port, for selectors simreg does not protect.
	 */
	sa = ipsec_backend_match(ep->b, &info->src, info->sport, &info->dst, info->dport, &set);
	if (sa && sa->dir == IPSEC_DIR_IN) {
		info->set_id = set->id;
		info->sa_index = sa->index;
	}
	return n;
}

/* ---- life ---------------------------------------------------------------- */

static void xfrm_destroy(struct ipsec_backend *b)
{
	struct xfrm_backend *x = xb(b);

	if (x->nl)
		mnl_socket_close(x->nl);
	free(x);
}

static const struct ipsec_backend_ops xfrm_ops = {
	.kind = IPSEC_BACKEND_XFRM,
	.install = xfrm_install,
	.remove = xfrm_remove,
	.scan = xfrm_scan,
	.counters = xfrm_counters,
	.spi_in_use = xfrm_spi_in_use,
	.fds = NULL,
	.input = NULL,
	.ep_open = xfrm_ep_open,
	.ep_close = xfrm_ep_close,
	.ep_send = xfrm_ep_send,
	.ep_recv = xfrm_ep_recv,
	.destroy = xfrm_destroy,
};

static int open_netlink(struct xfrm_backend *x)
{
	/* The kernel always answers; this only turns a bug into an error. */
	struct timeval limit = { .tv_sec = 5 };
	int one = 1;

	x->nl = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);
	if (!x->nl)
		return -errno;
	if (mnl_socket_bind(x->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	x->portid = mnl_socket_get_portid(x->nl);
	/* Errors with the kernel's reason, without our request (keys) echoed. */
	mnl_socket_setsockopt(x->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(x->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(x->nl), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	return 0;
}

int ipsec_xfrm_create(const struct ipsec_config *cfg, struct ipsec_backend **out)
{
	struct xfrm_backend *x = calloc(1, sizeof(*x));
	int ret;

	if (!x)
		return -ENOMEM;
	x->base.ops = &xfrm_ops;
	x->base.cfg = *cfg;
	ret = open_netlink(x);
	if (ret) {
		log_error("xfrm: netlink socket: %s", strerror(-ret));
		xfrm_destroy(&x->base);
		return ret;
	}
	*out = &x->base;
	return 0;
}

int ipsec_xfrm_probe_here(char *msg, size_t cap)
{
	struct xfrm_backend *x = calloc(1, sizeof(*x));
	struct ipsec_sa sa;
	struct esp_keys keys;
	struct newsa_req r = { &sa, &keys, (uint32_t)IPSEC_REQID_DEFAULT_TAG << 24, 0 };
	int ret;

	msg[0] = '\0';
	if (!x)
		return -ENOMEM;
	ret = open_netlink(x);
	if (ret)
		goto out;
	/* What a registration would install: cbc(aes) + hmac(sha1), transport. */
	memset(&sa, 0, sizeof(sa));
	sa.index = 1;
	ipsec_addr_parse("198.18.0.1", &sa.src);
	ipsec_addr_parse("198.18.0.2", &sa.dst);
	sa.sport = 5060;
	sa.dport = 5062;
	sa.spi = 0x1000;
	memset(&keys, 0x5a, sizeof(keys));
	keys.auth = ESP_AUTH_HMAC_SHA1_96;
	keys.enc = ESP_ENC_AES_CBC;
	keys.ik_len = esp_auth_key_len(keys.auth);
	keys.ck_len = esp_enc_key_len(keys.enc);
	ret = talk(x, build_newsa(x->buf, ++x->seq, &r), NULL, NULL);
	snprintf(msg, cap, "%s", x->err);
out:
	xfrm_destroy(&x->base);
	return ret;
}
