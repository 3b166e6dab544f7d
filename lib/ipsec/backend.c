#define SLOG_COMPONENT "ipsec"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipsec/backend_impl.h"
#include "ipsec/keylog.h"

static const char *const kind_names[IPSEC_BACKEND_KIND_COUNT] = {
#define X(id, name) [IPSEC_BACKEND_##id] = name,
	IPSEC_BACKEND_KINDS(X)
#undef X
};

int ipsec_backend_kind_parse(const char *name, enum ipsec_backend_kind *out)
{
	for (int i = 0; i < IPSEC_BACKEND_KIND_COUNT; i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*out = (enum ipsec_backend_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ipsec_backend_kind_name(enum ipsec_backend_kind kind)
{
	return (unsigned)kind < IPSEC_BACKEND_KIND_COUNT ? kind_names[kind] : "?";
}

/* ---- configuration --------------------------------------------------- */

static const char *const kind_list[] = {
#define X(id, name) name,
	IPSEC_BACKEND_KINDS(X)
#undef X
	NULL
};

static const struct config_key ipsec_keys[] = {
	CONFIG_ENUM("ipsec.backend", struct ipsec_config, backend, kind_list, "auto",
		    "who does ESP: xfrm (the kernel), userspace (simreg, raw sockets), or auto "
		    "(probe whether the kernel accepts an ESP SA; `simreg ipsec probe`)"),
	CONFIG_STRING("ipsec.keylog", struct ipsec_config, keylog_path, "\"\"",
		      "file to append Wireshark esp_sa lines (keys!) to for every SA; empty: off; "
		      "lab use only"),
	CONFIG_INT("ipsec.spi_min", struct ipsec_config, alloc.spi_min, 256, 4294967295LL,
		   "65536", "lowest SPI this host hands out (RFC 4303: not below 256)"),
	CONFIG_INT("ipsec.spi_max", struct ipsec_config, alloc.spi_max, 256, 4294967295LL,
		   "4294967295", "highest SPI this host hands out"),
	CONFIG_INT("ipsec.port_min", struct ipsec_config, alloc.port_min, 1, 65535, "10000",
		   "lowest protected port of a UE (port-c, port-s); the P-CSCF has its own "
		   "narrow range, pcscf.port_min..port_max"),
	CONFIG_INT("ipsec.port_max", struct ipsec_config, alloc.port_max, 1, 65535, "32767",
		   "highest protected port of a UE; keep the range clear of the kernel's "
		   "ephemeral ports"),
	CONFIG_INT("ipsec.reqid_tag", struct ipsec_config, reqid_tag, 1, 254, "83",
		   "xfrm: top byte of the reqid of every SA simreg installs, how it recognises its "
		   "own SAs after a restart (83 = 0x53)"),
	CONFIG_INT("ipsec.pad_blocks", struct ipsec_config, pad_blocks_max, 0, 15, "0",
		   "userspace: up to this many extra cipher blocks of random padding per packet"),
	CONFIG_STRING("ipsec.tun", struct ipsec_config, tun, "\"simreg%d\"",
		      "userspace: TUN device that carries TCP over the SAs (%d: a number), made "
		      "when a protected TCP socket is first needed, with CAP_NET_ADMIN; empty: "
		      "no protected TCP"),
	CONFIG_INT("ipsec.tun_table", struct ipsec_config, tun_table, 1, 4294967295LL, "83",
		   "userspace: routing table that sends sockets bound to the TUN into it (a "
		   "rule 'oif TUN lookup TABLE'); not 253..255 (default, main, local)"),
};

static int ipsec_config_check(const void *data, char *why, size_t whylen)
{
	const struct ipsec_config *c = data;

	if (c->alloc.spi_min >= c->alloc.spi_max) {
		snprintf(why, whylen, "ipsec.spi_min must be below ipsec.spi_max");
		return -EINVAL;
	}
	if (c->alloc.port_min >= c->alloc.port_max) {
		snprintf(why, whylen, "ipsec.port_min must be below ipsec.port_max");
		return -EINVAL;
	}
	if (c->tun_table >= 253 && c->tun_table <= 255) {
		snprintf(why, whylen, "ipsec.tun_table must not be %u, the kernel's own table",
			 c->tun_table);
		return -EINVAL;
	}
	if (c->tun && strlen(c->tun) >= IFNAMSIZ) {
		snprintf(why, whylen, "ipsec.tun must be shorter than %d characters", IFNAMSIZ);
		return -EINVAL;
	}
	return 0;
}

const struct config_section ipsec_config_section = {
	.name = "ipsec",
	.doc = "IPsec SAs of the P-CSCF and the UE (docs/ipsec.md).",
	.size = sizeof(struct ipsec_config),
	.keys = ipsec_keys,
	.nkeys = sizeof(ipsec_keys) / sizeof(ipsec_keys[0]),
	.check = ipsec_config_check,
};

/* ---- probe ---------------------------------------------------------- */

struct probe_report {
	int unshare_err;
	int kernel_ret;
	int raw_err;
	char kernel_msg[200];
};

/* In the child, inside its own network namespace. */
static void probe_child(int fd)
{
	struct probe_report r;
	int s;

	memset(&r, 0, sizeof(r));
	if (unshare(CLONE_NEWNET) != 0) {
		r.unshare_err = errno;
	} else {
		r.kernel_ret = ipsec_xfrm_probe_here(r.kernel_msg, sizeof(r.kernel_msg));
		s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
		if (s < 0)
			r.raw_err = errno;
		else
			close(s);
	}
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(0);
}

int ipsec_probe_run(struct ipsec_probe *out)
{
	struct probe_report r;
	int pipefd[2], status, ret = 0;
	ssize_t n;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->choice = IPSEC_BACKEND_AUTO;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		ret = -errno;
		snprintf(out->reason, sizeof(out->reason), "cannot probe: pipe: %s", strerror(-ret));
		return ret;
	}
	/* Nothing buffered may be written twice by the child. */
	slog_drain();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(out->reason, sizeof(out->reason), "cannot probe: fork: %s", strerror(-ret));
		goto close_pipe;
	}
	if (pid == 0) {
		close(pipefd[0]);
		probe_child(pipefd[1]);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	do {
		n = read(pipefd[0], &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r)) {
		ret = -EIO;
		snprintf(out->reason, sizeof(out->reason), "cannot probe: the probe process died");
		goto close_pipe;
	}
	r.kernel_msg[sizeof(r.kernel_msg) - 1] = '\0';

	if (r.unshare_err) {
		snprintf(out->kernel, sizeof(out->kernel),
			 "not probed: no scratch network namespace (unshare: %s)",
			 strerror(r.unshare_err));
		snprintf(out->raw, sizeof(out->raw), "not probed");
		snprintf(out->reason, sizeof(out->reason),
			 "cannot create a scratch network namespace to probe in (%s); "
			 "choose ipsec.backend xfrm or userspace explicitly",
			 strerror(r.unshare_err));
		goto close_pipe;
	}
	out->kernel_esp = r.kernel_ret == 0;
	out->raw_esp = r.raw_err == 0;
	if (out->kernel_esp)
		snprintf(out->kernel, sizeof(out->kernel), "accepted an ESP SA");
	else
		snprintf(out->kernel, sizeof(out->kernel), "refused an ESP SA: %s%s%s%s",
			 strerror(-r.kernel_ret), r.kernel_msg[0] ? " (" : "", r.kernel_msg,
			 r.kernel_msg[0] ? ")" : "");
	if (out->raw_esp)
		snprintf(out->raw, sizeof(out->raw), "raw ESP sockets work");
	else
		snprintf(out->raw, sizeof(out->raw), "no raw ESP socket: %s", strerror(r.raw_err));

	if (out->kernel_esp) {
		out->choice = IPSEC_BACKEND_XFRM;
		snprintf(out->reason, sizeof(out->reason),
			 "xfrm: the kernel accepted an ESP transport SA (cbc(aes), hmac(sha1)) "
			 "in a scratch network namespace, so the kernel does ESP");
	} else if (out->raw_esp) {
		out->choice = IPSEC_BACKEND_USERSPACE;
		snprintf(out->reason, sizeof(out->reason),
			 "userspace: the kernel %s, so simreg does ESP itself over raw "
			 "IP sockets",
			 out->kernel);
	} else {
		snprintf(out->reason, sizeof(out->reason),
			 "neither backend works: the kernel %s, and %s", out->kernel, out->raw);
	}
close_pipe:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return ret;
}

/* ---- open / close ---------------------------------------------------- */

int ipsec_backend_open(const struct ipsec_config *cfg, struct ipsec_backend **out,
		       struct ipsec_probe *probe)
{
	struct ipsec_config c = *cfg;
	struct ipsec_probe p;
	struct ipsec_backend *b = NULL;
	int ret;

	if ((unsigned)c.backend >= IPSEC_BACKEND_KIND_COUNT || c.reqid_tag == 0xff ||
	    (c.tun && strlen(c.tun) >= IFNAMSIZ) || (c.tun_table >= 253 && c.tun_table <= 255))
		return -EINVAL;
	if (!c.reqid_tag)
		c.reqid_tag = IPSEC_REQID_DEFAULT_TAG;
	if (c.keylog_path && !c.keylog_path[0])
		c.keylog_path = NULL;
	if (c.tun && !c.tun[0])
		c.tun = NULL;
	if (!c.tun_table)
		c.tun_table = IPSEC_TUN_TABLE_DEFAULT;
	if (c.backend == IPSEC_BACKEND_AUTO) {
		ipsec_probe_run(&p);
		if (probe)
			*probe = p;
		if (p.choice == IPSEC_BACKEND_AUTO) {
			log_error("ipsec.backend auto: %s", p.reason);
			return -ENOTSUP;
		}
		log_notice("ipsec.backend auto chose %s", p.reason);
		c.backend = p.choice;
	}
	ret = c.backend == IPSEC_BACKEND_XFRM ? ipsec_xfrm_create(&c, &b)
					      : ipsec_userspace_create(&c, &b);
	if (ret)
		return ret;
	b->cfg = c;
	/* The caller's strings may not outlive us (the backend copied ipsec.tun). */
	b->cfg.keylog_path = NULL;
	b->cfg.tun = NULL;
	b->reqid_base = (uint32_t)c.reqid_tag << 24;
	ipsec_table_init(&b->sets, sizeof(uint32_t));
	ipsec_table_init(&b->selectors, sizeof(struct ipsec_sel_key));
	b->next_id = 1;
	if (c.keylog_path) {
		b->keylog = ipsec_keylog_open(c.keylog_path);
		if (!b->keylog) {
			ret = -errno;
			log_error("ipsec.keylog %s: %s", c.keylog_path, strerror(errno));
			b->ops->destroy(b);
			return ret;
		}
		log_warn("ipsec.keylog: writing the ESP keys of every SA to %s (labs only)",
			 c.keylog_path);
	}
	*out = b;
	return 0;
}

static int free_set(void *arg, const void *key, void *value)
{
	struct ipsec_sa_set *set = value;

	ipsec_sa_set_wipe(set);
	free(set);
	return 0;
}

void ipsec_backend_close(struct ipsec_backend *b)
{
	if (!b)
		return;
	ipsec_backend_detach(b);
	ipsec_table_each(&b->sets, free_set, NULL);
	ipsec_table_free(&b->sets);
	ipsec_table_free(&b->selectors);
	if (b->keylog)
		fclose(b->keylog);
	b->ops->destroy(b);
}

enum ipsec_backend_kind ipsec_backend_kind(const struct ipsec_backend *b)
{
	return b->ops->kind;
}

/* ---- bookkeeping ------------------------------------------------------ */

void ipsec_sel_key_make(struct ipsec_sel_key *k, const struct ipsec_addr *src, uint16_t sport,
			const struct ipsec_addr *dst, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, src->b, ipsec_addr_len(src));
	memcpy(k->dst, dst->b, ipsec_addr_len(dst));
	k->sport = sport;
	k->dport = dport;
	k->family = (uint8_t)src->family;
}

const struct ipsec_sa *ipsec_backend_match(const struct ipsec_backend *b,
					   const struct ipsec_addr *src, uint16_t sport,
					   const struct ipsec_addr *dst, uint16_t dport,
					   const struct ipsec_sa_set **setp)
{
	struct ipsec_sel_key k;
	const struct ipsec_sa_set *set;

	ipsec_sel_key_make(&k, src, sport, dst, dport);
	set = ipsec_table_get(&b->selectors, &k);
	if (!set)
		return NULL;
	if (setp)
		*setp = set;
	return ipsec_sa_set_match(set, src, sport, dst, dport);
}

uint32_t ipsec_reqid(const struct ipsec_backend *b, uint32_t set_id, enum ipsec_side side,
		     unsigned n)
{
	return b->reqid_base | set_id << 3 | (side == IPSEC_SIDE_PCSCF ? 4u : 0u) | (n - 1);
}

bool ipsec_reqid_owned(const struct ipsec_backend *b, uint32_t reqid, uint32_t *set_id,
		       enum ipsec_side *side, unsigned *n)
{
	if ((reqid & 0xff000000u) != b->reqid_base || !(reqid >> 3 & IPSEC_SET_ID_MAX))
		return false;
	*set_id = reqid >> 3 & IPSEC_SET_ID_MAX;
	*side = reqid & 4 ? IPSEC_SIDE_PCSCF : IPSEC_SIDE_UE;
	*n = (reqid & 3) + 1;
	return true;
}

static int next_set_id(struct ipsec_backend *b, uint32_t *id)
{
	for (uint32_t tries = 0; tries < IPSEC_SET_ID_MAX; tries++) {
		uint32_t v = b->next_id;

		b->next_id = v == IPSEC_SET_ID_MAX ? 1 : v + 1;
		if (!ipsec_table_get(&b->sets, &v)) {
			*id = v;
			return 0;
		}
	}
	return -ENOSPC;
}

static void unindex(struct ipsec_backend *b, const struct ipsec_sa_set *set, unsigned upto)
{
	for (unsigned i = 0; i < upto; i++) {
		const struct ipsec_sa *sa = &set->sa[i];
		struct ipsec_sel_key k;

		ipsec_sel_key_make(&k, &sa->src, sa->sport, &sa->dst, sa->dport);
		ipsec_table_del(&b->selectors, &k);
	}
}

/* Enter a set into the id table and the selector index, all or nothing. */
static int remember(struct ipsec_backend *b, struct ipsec_sa_set *set)
{
	unsigned i;
	int ret;

	ret = ipsec_table_add(&b->sets, &set->id, set);
	if (ret)
		return ret;
	for (i = 0; i < IPSEC_SET_SAS; i++) {
		const struct ipsec_sa *sa = &set->sa[i];
		struct ipsec_sel_key k;

		ipsec_sel_key_make(&k, &sa->src, sa->sport, &sa->dst, sa->dport);
		ret = ipsec_table_add(&b->selectors, &k, set);
		if (ret)
			break;
	}
	if (ret) {
		unindex(b, set, i);
		ipsec_table_del(&b->sets, &set->id);
	}
	return ret;
}

static bool selectors_taken(const struct ipsec_backend *b, const struct ipsec_sa_set *set)
{
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		const struct ipsec_sa *sa = &set->sa[i];

		if (ipsec_backend_match(b, &sa->src, sa->sport, &sa->dst, sa->dport, NULL))
			return true;
	}
	return false;
}

/* ---- sets ------------------------------------------------------------- */

/* Field by field: padding bytes of two equal sets may differ. */
static bool same_sas(const struct ipsec_sa_set *a, const struct ipsec_sa_set *b)
{
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		const struct ipsec_sa *x = &a->sa[i], *y = &b->sa[i];

		if (x->index != y->index || x->dir != y->dir || x->sport != y->sport ||
		    x->dport != y->dport || x->spi != y->spi || !ipsec_addr_eq(&x->src, &y->src) ||
		    !ipsec_addr_eq(&x->dst, &y->dst))
			return false;
	}
	return true;
}

int ipsec_backend_install(struct ipsec_backend *b, struct ipsec_sa_set *set)
{
	struct ipsec_sa_set check, *copy;
	char ue[IPSEC_ADDR_STRLEN], pc[IPSEC_ADDR_STRLEN];
	int ret;

	/* Only what ipsec_sa_set_build() made, and not installed yet. */
	if (set->id || ipsec_sa_set_build(&check, set->side, &set->p) || !same_sas(&check, set)) {
		ret = -EINVAL;
		goto out;
	}
	if (selectors_taken(b, set)) {
		ret = -EEXIST;
		log_error("set %s ue %s pcscf %s port_uc %u: an SA with the same selectors "
			  "is installed already",
			  ipsec_side_name(set->side), ipsec_addr_str(&set->p.ue, ue),
			  ipsec_addr_str(&set->p.pcscf, pc), set->p.client.port_c);
		goto out;
	}
	copy = malloc(sizeof(*copy));
	if (!copy) {
		ret = -ENOMEM;
		goto out;
	}
	*copy = check;
	ret = next_set_id(b, &copy->id);
	if (ret)
		goto free_copy;
	copy->reqid = ipsec_reqid(b, copy->id, copy->side, 1);
	ret = b->ops->install(b, copy);
	if (ret)
		goto free_copy;
	ret = remember(b, copy);
	if (ret) {
		b->ops->remove(b, copy);
		goto free_copy;
	}
	if (b->keylog && ipsec_keylog_write(b->keylog, copy))
		log_warn("ipsec.keylog: could not write the keys of set %u", copy->id);
	log_info("set %u installed (%s, %s): ue %s ports %u/%u spis 0x%08x/0x%08x, "
		 "pcscf %s ports %u/%u spis 0x%08x/0x%08x, %s + %s",
		 copy->id, ipsec_backend_kind_name(b->ops->kind), ipsec_side_name(copy->side),
		 ipsec_addr_str(&copy->p.ue, ue), copy->p.client.port_c, copy->p.client.port_s,
		 copy->p.client.spi_c, copy->p.client.spi_s, ipsec_addr_str(&copy->p.pcscf, pc),
		 copy->p.server.port_c, copy->p.server.port_s, copy->p.server.spi_c,
		 copy->p.server.spi_s, esp_auth_alg_name(copy->p.keys.auth),
		 esp_enc_alg_name(copy->p.keys.enc));
	set->id = copy->id;
	set->reqid = copy->reqid;
	ret = 0;
	goto out;

free_copy:
	ipsec_sa_set_wipe(copy);
	free(copy);
out:
	ipsec_sa_set_wipe(&check);
	return ret;
}

int ipsec_backend_remove(struct ipsec_backend *b, uint32_t id)
{
	struct ipsec_sa_set *set = ipsec_table_get(&b->sets, &id);
	int ret;

	if (!set)
		return -ENOENT;
	ret = b->ops->remove(b, set);
	unindex(b, set, IPSEC_SET_SAS);
	ipsec_table_del(&b->sets, &id);
	log_info("set %u removed%s", id, ret ? " (with errors, see above)" : "");
	free_set(NULL, NULL, set);
	return ret;
}

const struct ipsec_sa_set *ipsec_backend_set(const struct ipsec_backend *b, uint32_t id)
{
	return ipsec_table_get(&b->sets, &id);
}

static int adopt(struct ipsec_backend *b, const struct ipsec_sa_set *found)
{
	struct ipsec_sa_set *copy;
	int ret;

	if (ipsec_table_get(&b->sets, &found->id))
		return 0; /* known already: installed by this process */
	if (selectors_taken(b, found)) {
		log_warn("set %u found in the kernel clashes with a set of this process; "
			 "left alone", found->id);
		return 0;
	}
	copy = malloc(sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	*copy = *found;
	ret = remember(b, copy);
	if (ret) {
		free_set(NULL, NULL, copy);
		return ret;
	}
	log_notice("set %u adopted from the kernel (installed by an earlier process)", copy->id);
	return 0;
}

struct each_ctx {
	int (*fn)(void *arg, const struct ipsec_sa_set *set);
	void *arg;
};

static int each_set(void *arg, const void *key, void *value)
{
	struct each_ctx *c = arg;

	return c->fn(c->arg, value);
}

int ipsec_backend_list(struct ipsec_backend *b,
		       int (*fn)(void *arg, const struct ipsec_sa_set *set), void *arg)
{
	struct each_ctx c = { fn, arg };
	int ret;

	if (b->ops->scan) {
		ret = b->ops->scan(b, adopt);
		if (ret)
			return ret;
	}
	return ipsec_table_each(&b->sets, each_set, &c);
}

int ipsec_backend_counters(struct ipsec_backend *b, uint32_t id,
			   struct ipsec_sa_counters out[IPSEC_SET_SAS])
{
	const struct ipsec_sa_set *set = ipsec_table_get(&b->sets, &id);

	if (!set)
		return -ENOENT;
	memset(out, 0, sizeof(*out) * IPSEC_SET_SAS);
	return b->ops->counters(b, set, out);
}

int ipsec_backend_spi_in_use(struct ipsec_backend *b, const struct ipsec_addr *dst, uint32_t spi)
{
	return b->ops->spi_in_use(b, dst, spi);
}

bool ipsec_spi_veto(void *ctx, uint32_t spi)
{
	struct ipsec_spi_veto *v = ctx;

	return ipsec_backend_spi_in_use(v->b, &v->local, spi) == 0;
}

size_t ipsec_backend_fds(const struct ipsec_backend *b, int *fds, size_t cap)
{
	return b->ops->fds ? b->ops->fds(b, fds, cap) : 0;
}

int ipsec_backend_input(struct ipsec_backend *b, int fd)
{
	return b->ops->input ? b->ops->input(b, fd) : -EINVAL;
}

static void on_readable(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ipsec_backend *b = io->ctx;
	int ret = ipsec_backend_input(b, io->fd);

	if (ret)
		log_warn("input on fd %d: %s", io->fd, strerror(-ret));
}

int ipsec_backend_watch(struct ipsec_backend *b, int fd)
{
	int ret;

	if (!b->loop)
		return 0;
	if (b->nio == IPSEC_BACKEND_FDS)
		return -ENOSPC;
	memset(&b->io[b->nio], 0, sizeof(b->io[b->nio]));
	ret = loop_io_add(b->loop, &b->io[b->nio], fd, LOOP_READ, on_readable, b);
	if (ret == 0)
		b->nio++;
	return ret;
}

int ipsec_backend_attach(struct ipsec_backend *b, struct loop *loop)
{
	int fds[IPSEC_BACKEND_FDS];
	size_t n = ipsec_backend_fds(b, fds, IPSEC_BACKEND_FDS);
	int ret;

	if (b->loop)
		return -EEXIST;
	for (b->nio = 0; b->nio < n; b->nio++) {
		memset(&b->io[b->nio], 0, sizeof(b->io[b->nio]));
		ret = loop_io_add(loop, &b->io[b->nio], fds[b->nio], LOOP_READ, on_readable, b);
		if (ret) {
			while (b->nio)
				loop_io_remove(loop, &b->io[--b->nio]);
			return ret;
		}
	}
	b->loop = loop;
	return 0;
}

void ipsec_backend_detach(struct ipsec_backend *b)
{
	if (!b->loop)
		return;
	while (b->nio)
		loop_io_remove(b->loop, &b->io[--b->nio]);
	b->loop = NULL;
}

/* ---- TCP -------------------------------------------------------------- */

int ipsec_backend_tcp_bind(struct ipsec_backend *b, int fd)
{
	int type = 0, proto = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return -errno;
	len = sizeof(proto);
	if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 ||
	    proto != IPPROTO_TCP)
		return -EPROTOTYPE;
	return b->ops->tcp_bind ? b->ops->tcp_bind(b, fd) : 0;
}

void ipsec_backend_stats(const struct ipsec_backend *b, struct ipsec_backend_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (b->ops->stats)
		b->ops->stats(b, out);
}

/* ---- endpoints -------------------------------------------------------- */

int ipsec_endpoint_open(struct ipsec_backend *b, const struct ipsec_addr *local, uint16_t port,
			struct ipsec_endpoint **out)
{
	if ((local->family != AF_INET && local->family != AF_INET6) || !port)
		return -EINVAL;
	return b->ops->ep_open(b, local, port, out);
}

void ipsec_endpoint_close(struct ipsec_endpoint *ep)
{
	if (ep)
		ep->b->ops->ep_close(ep);
}

int ipsec_endpoint_fd(const struct ipsec_endpoint *ep)
{
	return ep->fd;
}

int ipsec_endpoint_send(struct ipsec_endpoint *ep, const struct ipsec_addr *to, uint16_t port,
			const void *buf, size_t len)
{
	if (to->family != ep->local.family)
		return -ENOENT;
	return ep->b->ops->ep_send(ep, to, port, buf, len);
}

ssize_t ipsec_endpoint_recv(struct ipsec_endpoint *ep, void *buf, size_t cap,
			    struct ipsec_dgram_info *info)
{
	struct ipsec_dgram_info got;
	ssize_t n;

	memset(&got, 0, sizeof(got));
	n = ep->b->ops->ep_recv(ep, buf, cap, &got);
	if (n >= 0)
		*info = got;
	return n;
}

/* ---- checksum ---------------------------------------------------------- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t ipsec_udp_checksum(const struct ipsec_addr *src, const struct ipsec_addr *dst,
			    const uint8_t *udp, size_t len)
{
	uint32_t sum = 0;

	sum = sum16(sum, src->b, ipsec_addr_len(src));
	sum = sum16(sum, dst->b, ipsec_addr_len(dst));
	/* Pseudo-header: protocol 17 and the UDP length (32 bits for v6). */
	sum += IPPROTO_UDP + (uint32_t)(len & 0xffff) + (uint32_t)(len >> 16);
	sum = sum16(sum, udp, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
