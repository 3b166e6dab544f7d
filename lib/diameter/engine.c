/*
 * engine.c - freeDiameter 1.2.1 set up from simreg's configuration.
 */
#define SLOG_COMPONENT "diameter"

#include "diameter/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <freeDiameter/libfdproto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/*
 * freeDiameter is a process-wide singleton, and its callbacks (log
 * handler, peer validator) take no context argument, so what they need
 * lives here. Written before freeDiameter's threads start, read-only
 * afterwards.
 */
static struct {
	bool started;
	dia_log_fn *log;
	void *log_ctx;
	char accept[DIA_PEERS_MAX][256]; /* identities that may connect to us */
	size_t n_accept;
	struct fd_hook_hdl *hook;
	struct fd_hook_hdl *quiet;
} engine;

/* --- peers --------------------------------------------------------------- */

static int peer_error(char *why, size_t whylen, const char *fmt, const char *arg)
{
	snprintf(why, whylen, fmt, arg);
	return -EINVAL;
}

int dia_peer_parse(char *buf, struct dia_peer *out, char *why, size_t whylen)
{
	char *save = NULL;
	char *tok;
	bool connect_set = false;

	memset(out, 0, sizeof(*out));
	tok = strtok_r(buf, " \t", &save);
	if (!tok || strchr(tok, '='))
		return peer_error(why, whylen, "%s", "a peer starts with its Diameter identity");
	out->identity = tok;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		char *val;

		if (!eq)
			return peer_error(why, whylen, "'%s' is not key=value", tok);
		*eq = '\0';
		val = eq + 1;
		if (strcmp(tok, "realm") == 0) {
			out->realm = val;
		} else if (strcmp(tok, "address") == 0) {
			char *colon = strrchr(val, ':');
			/* [v6]:port, v4:port, or a bare address. */
			if (val[0] == '[') {
				char *close = strchr(val, ']');

				if (!close)
					return peer_error(why, whylen, "address '%s' lacks ']'",
							  val);
				*close = '\0';
				colon = close[1] == ':' ? close + 1 : NULL;
				val++;
			} else if (colon && strchr(val, ':') != colon) {
				colon = NULL; /* a bare IPv6 address */
			}
			if (colon) {
				char *end;
				long port = strtol(colon + 1, &end, 10);

				if (*end || port < 1 || port > 65535)
					return peer_error(why, whylen, "bad port in '%s'", val);
				*colon = '\0';
				out->port = (uint16_t)port;
			}
			out->address = val;
		} else if (strcmp(tok, "connect") == 0) {
			if (strcmp(val, "yes") == 0)
				out->connect = true;
			else if (strcmp(val, "no") != 0)
				return peer_error(why, whylen, "connect=%s: expected yes or no", val);
			connect_set = true;
		} else {
			return peer_error(why, whylen,
					  "unknown key '%s' (expected realm, address, connect)", tok);
		}
	}
	(void)connect_set;
	if (out->connect && !out->address)
		return peer_error(why, whylen, "peer %s: connect=yes needs an address",
				  out->identity);
	return 0;
}

/* --- generated files ---------------------------------------------------- */

static int write_file(const char *path, mode_t mode, int (*fill)(FILE *fp, void *ctx), void *ctx)
{
	char tmp[4096];
	FILE *fp;
	int fd, err;

	/* Written next to the target and renamed, so a crash never leaves a
	 * half-written file for freeDiameter to choke on. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		err = -errno;
		log_error("%s: %s", tmp, strerror(errno));
		return err;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		err = -errno;
		close(fd);
		return err;
	}
	err = fill(fp, ctx);
	if (fclose(fp) != 0 && !err)
		err = -EIO;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		log_error("%s: cannot write: %s", path, strerror(-err));
		unlink(tmp);
	}
	return err;
}

struct keys {
	EVP_PKEY *key;
	X509 *cert;
	EVP_PKEY *dh;
};

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EINVAL;
}

/*
 * A self-signed certificate for our identity. freeDiameter verifies its
 * own certificate at start-up: it must be valid now, name our identity
 * and chain to the trust anchor, which is itself.
 */
static int make_credentials(const char *identity, struct keys *k)
{
	X509_NAME *name;
	unsigned char serial[8];
	char san[300];
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	int err = -EIO;

	k->key = EVP_EC_gen("P-256");
	k->cert = X509_new();
	if (!k->key || !k->cert)
		goto out;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	if (!sn || !X509_set_serialNumber(k->cert, sn) || !X509_set_version(k->cert, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(k->cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(k->cert), 10L * 365 * 24 * 3600) ||
	    !X509_set_pubkey(k->cert, k->key))
		goto out;
	name = X509_get_subject_name(k->cert);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)identity,
					-1, -1, 0) ||
	    !X509_set_issuer_name(k->cert, name))
		goto out;
	snprintf(san, sizeof(san), "DNS:%s", identity);
	if (add_ext(k->cert, NID_basic_constraints, "critical,CA:TRUE") ||
	    add_ext(k->cert, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
	    add_ext(k->cert, NID_subject_alt_name, san))
		goto out;
	if (!X509_sign(k->cert, k->key, EVP_sha256()))
		goto out;
	err = 0;
out:
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	if (err)
		log_error("cannot make a TLS certificate for %s", identity);
	return err;
}

/* RFC 7919's ffdhe2048 group: published parameters, nothing to generate. */
static int make_dh(struct keys *k)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string("group", (char *)"ffdhe2048", 0),
		OSSL_PARAM_END,
	};
	int err = -EIO;

	if (ctx && EVP_PKEY_paramgen_init(ctx) == 1 && EVP_PKEY_CTX_set_params(ctx, params) == 1 &&
	    EVP_PKEY_paramgen(ctx, &k->dh) == 1)
		err = 0;
	EVP_PKEY_CTX_free(ctx);
	if (err)
		log_error("cannot set up Diffie-Hellman parameters");
	return err;
}

static int fill_cert(FILE *fp, void *ctx)
{
	return PEM_write_X509(fp, ((struct keys *)ctx)->cert) ? 0 : -EIO;
}

static int fill_key(FILE *fp, void *ctx)
{
	return PEM_write_PrivateKey(fp, ((struct keys *)ctx)->key, NULL, NULL, 0, NULL, NULL) ?
		       0 :
		       -EIO;
}

static int fill_dh(FILE *fp, void *ctx)
{
	BIO *bio = BIO_new_fp(fp, BIO_NOCLOSE);
	int ok = bio && PEM_write_bio_Parameters(bio, ((struct keys *)ctx)->dh);

	BIO_free(bio);
	return ok ? 0 : -EIO;
}

struct conf_ctx {
	const struct dia_config *cfg;
	const char *cert, *key, *dh;
};

/* A string for the freeDiameter configuration grammar (QSTRING). */
static bool conf_safe(const char *s)
{
	return s && !strpbrk(s, "\"\\\n\r");
}

static int fill_conf(FILE *fp, void *ctx)
{
	const struct conf_ctx *c = ctx;
	const struct dia_config *cfg = c->cfg;

	fprintf(fp,
		"# Generated by simreg from its own configuration; edits are lost.\n"
		"Identity = \"%s\";\n"
		"Realm = \"%s\";\n"
		"Port = %u;\n"
		"SecPort = 0;\n"
		"No_SCTP;\n"
		"Prefer_TCP;\n"
		"NoRelay;\n"
		"AppServThreads = %u;\n"
		"TLS_Cred = \"%s\", \"%s\";\n"
		"TLS_CA = \"%s\";\n"
		"TLS_DH_File = \"%s\";\n",
		cfg->identity, cfg->realm,
		cfg->listen ? (cfg->port ? cfg->port : DIA_PORT_DEFAULT) : 0,
		cfg->threads ? cfg->threads : 4, c->cert, c->key, c->cert, c->dh);
	if (cfg->listen)
		fprintf(fp, "ListenOn = \"%s\";\n", cfg->listen);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct dia_peer *p = &cfg->peers[i];

		if (!p->connect)
			continue;
		fprintf(fp, "ConnectPeer = \"%s\" { ConnectTo = \"%s\"; Port = %u; No_TLS;",
			p->identity, p->address, p->port ? p->port : DIA_PORT_DEFAULT);
		if (p->realm)
			fprintf(fp, " Realm = \"%s\";", p->realm);
		fprintf(fp, " };\n");
	}
	return ferror(fp) ? -EIO : 0;
}

int dia_write_config(const struct dia_config *cfg)
{
	char conf[4096], cert[4096], key[4096], dh[4096];
	struct keys k = { 0 };
	struct conf_ctx c = { cfg, cert, key, dh };
	int err;

	if (!conf_safe(cfg->identity) || !conf_safe(cfg->realm) || !conf_safe(cfg->run_dir) ||
	    (cfg->listen && !conf_safe(cfg->listen)))
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct dia_peer *p = &cfg->peers[i];

		if (!conf_safe(p->identity) || (p->realm && !conf_safe(p->realm)) ||
		    (p->address && !conf_safe(p->address)))
			return -EINVAL;
	}
	snprintf(conf, sizeof(conf), "%s/freeDiameter.conf", cfg->run_dir);
	snprintf(cert, sizeof(cert), "%s/diameter-cert.pem", cfg->run_dir);
	snprintf(key, sizeof(key), "%s/diameter-key.pem", cfg->run_dir);
	snprintf(dh, sizeof(dh), "%s/diameter-dh.pem", cfg->run_dir);
	err = make_credentials(cfg->identity, &k);
	if (!err)
		err = make_dh(&k);
	if (!err)
		err = write_file(cert, 0644, fill_cert, &k);
	if (!err)
		err = write_file(key, 0600, fill_key, &k);
	if (!err)
		err = write_file(dh, 0644, fill_dh, &k);
	if (!err)
		err = write_file(conf, 0644, fill_conf, &c);
	EVP_PKEY_free(k.key);
	EVP_PKEY_free(k.dh);
	X509_free(k.cert);
	return err;
}

/* --- freeDiameter hooks ------------------------------------------------ */

static void emit(int slevel, const char *line)
{
	if (engine.log)
		engine.log(engine.log_ctx, slevel, line);
	else if (slevel <= SLOG_WARN)
		fprintf(stderr, "freeDiameter: %s\n", line);
}

/*
 * freeDiameter narrates its start and stop at NOTICE; that goes to debug.
 * What an operator needs (peers coming and going) is logged by the hook
 * below instead.
 *
 * freeDiameter hands its debug calls to the registered logger too, under
 * its one process-wide log mutex, and leaves the threshold (fd_g_debug_lvl,
 * NOTICE here) to the logger: those are dropped before they are formatted,
 * as freeDiameter's own logger does. On a busy S-CSCF or HSS they are a few
 * per Diameter message.
 */
static void fd_logger(int level, const char *format, va_list args)
{
	char line[1024];
	int slevel;

	if (level < fd_g_debug_lvl)
		return;
	vsnprintf(line, sizeof(line), format, args);
	slevel = level >= FD_LOG_FATAL ? SLOG_ERROR :
		 level >= FD_LOG_ERROR ? SLOG_WARN : SLOG_DEBUG;
	/* freeDiameter announces every shutdown at FATAL, so that it always
	 * shows; a normal stop is not an error. */
	if (strncmp(line, "Initiating freeDiameter shutdown", 32) == 0)
		slevel = SLOG_INFO;
	emit(slevel, line);
}

static void peer_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
		      struct fd_hook_permsgdata *pmd, void *regdata)
{
	char line[512];
	const char *who = peer && peer->info.pi_diamid ? peer->info.pi_diamid : "(unknown peer)";

	if (type == HOOK_PEER_CONNECT_SUCCESS) {
		snprintf(line, sizeof(line), "peer %s connected", who);
		emit(SLOG_NOTICE, line);
	} else {
		snprintf(line, sizeof(line), "peer %s: connection failed or closed%s%s", who,
			 other ? ": " : "", other ? (const char *)other : "");
		emit(SLOG_WARN, line);
	}
}

/*
 * freeDiameter dumps every message it sends, receives and routes into a
 * text buffer for its debug log when nobody registered a hook for those
 * events, whatever the log level: at a few thousand requests per second
 * that formatting costs more than the rest of the Cx path, on the HSS's
 * side as on the S-CSCF's. A hook of our own, which does nothing,
 * replaces it; errors and drops keep the default (they are rare, and
 * worth the log line).
 */
static void quiet_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer,
		       void *other, struct fd_hook_permsgdata *pmd, void *regdata)
{
}

/*
 * Admit a peer that connects to us if the configuration lists it. Such a
 * connection is plain TCP: PI_SEC_NONE tells freeDiameter not to expect
 * TLS (RFC 6733 section 13 leaves transport security to the deployment).
 */
static int validate_peer(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
	*cb2 = NULL;
	*auth = 0;
	for (size_t i = 0; i < engine.n_accept; i++) {
		if (strcasecmp(engine.accept[i], info->pi_diamid) == 0) {
			*auth = 1;
			info->config.pic_flags.sec = PI_SEC_NONE;
			return 0;
		}
	}
	/* Not ours to decide: freeDiameter then refuses it (DIAMETER_UNKNOWN_PEER). */
	return 0;
}

int dia_engine_start(const struct dia_config *cfg, struct cx_dict *dict, dia_log_fn *log,
		     void *log_ctx)
{
	char conf[4096];
	int rc, err;

	if (engine.started)
		return -EALREADY;
	if (cfg->n_peers > DIA_PEERS_MAX)
		return -E2BIG;
	engine.log = log;
	engine.log_ctx = log_ctx;
	engine.n_accept = 0;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		if (cfg->peers[i].connect)
			continue;
		snprintf(engine.accept[engine.n_accept++], sizeof(engine.accept[0]), "%s",
			 cfg->peers[i].identity);
	}
	err = dia_write_config(cfg);
	if (err)
		return err;
	snprintf(conf, sizeof(conf), "%s/freeDiameter.conf", cfg->run_dir);

	fd_g_debug_lvl = FD_LOG_NOTICE;
	rc = fd_log_handler_register(fd_logger);
	if (!rc)
		rc = fd_core_initialize();
	if (rc) {
		log_error("freeDiameter initialisation failed: %s", strerror(rc));
		return -rc;
	}
	engine.started = true;
	/* The dictionary before the configuration: ConnectPeer needs nothing
	 * from it, but CER/CEA advertise the applications defined by then. */
	err = cx_dict_init(dict);
	if (!err) {
		rc = fd_core_parseconf(conf);
		if (rc) {
			log_error("freeDiameter rejected %s", conf);
			err = -rc;
		}
	}
	if (!err)
		err = -fd_peer_validate_register(validate_peer);
	if (!err)
		err = -fd_hook_register(
			HOOK_MASK(HOOK_PEER_CONNECT_SUCCESS, HOOK_PEER_CONNECT_FAILED), peer_hook,
			NULL, NULL, &engine.hook);
	if (!err)
		err = -fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_LOCAL,
						  HOOK_MESSAGE_SENT, HOOK_MESSAGE_ROUTING_FORWARD,
						  HOOK_MESSAGE_ROUTING_LOCAL),
					quiet_hook, NULL, NULL, &engine.quiet);
	if (!err) {
		rc = fd_core_start();
		if (!rc)
			rc = fd_core_waitstartcomplete();
		if (rc) {
			log_error("freeDiameter did not start: %s", strerror(rc));
			err = -rc;
		}
	}
	if (err)
		dia_engine_stop();
	return err;
}

bool dia_peer_is_open(const char *identity)
{
	struct peer_hdr *peer = NULL;

	if (fd_peer_getbyid((DiamId_t)identity, strlen(identity), 1, &peer) || !peer)
		return false;
	return fd_peer_get_state(peer) == STATE_OPEN;
}

int dia_peer_wait_open(const char *identity, unsigned timeout_ms)
{
	for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (dia_peer_is_open(identity))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

void dia_engine_stop(void)
{
	if (!engine.started)
		return;
	fd_core_shutdown();
	fd_core_wait_shutdown_complete();
	engine.hook = NULL;
	engine.quiet = NULL;
	engine.started = false;
}

/* The line for an abort in freeDiameter's teardown, made before it starts:
 * the handler may only call async-signal-safe functions (write, _exit). */
static char abort_line[128];
static size_t abort_line_len;

static void aborted_in_teardown(int sig)
{
	ssize_t n = write(STDERR_FILENO, abort_line, abort_line_len);

	(void)sig;
	(void)n;
	_exit(0);
}

void dia_engine_stop_last(const char *who)
{
	struct sigaction sa = { .sa_handler = aborted_in_teardown }, old;
	int n;

	n = snprintf(abort_line, sizeof(abort_line),
		     "%.32s: freeDiameter aborted in its own shutdown (state was saved)\n", who);
	abort_line_len = n > 0 ? (size_t)n : 0;
	slog_drain();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGABRT, &sa, &old);
	dia_engine_stop();
	sigaction(SIGABRT, &old, NULL);
}
