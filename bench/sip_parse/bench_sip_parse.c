/*
 * bench_sip_parse - simreg's SIP parser against GNU oSIP2, same corpus,
 * same run, one core.
 *
 *   bench_sip_parse [--seconds S] [CORPUS_DIR]
 *
 * Both sides do a full decode of every message of the corpus (realistic
 * IMS traffic, bench/sip_parse/corpus/):
 *
 *   simreg  sip_parse() then sip_msg_check(): every header simreg knows
 *           decoded by its typed decoder, the Request-URI and every URI
 *           inside an address parsed;
 *   oSIP2   osip_message_parse(), which itself decodes Via, From, To,
 *           Call-ID, CSeq, Contact, Route, Record-Route, the
 *           authentication headers, Content-Type, Content-Length, Accept,
 *           Allow and their URIs; then, for the headers oSIP2 keeps as
 *           text, the nearest parser it offers: osip_from_parse() for
 *           Path, Service-Route, P-Associated-URI, P-Asserted-/Preferred-
 *           Identity; osip_content_disposition_parse() (token;params) for
 *           Security-*, Event, Subscription-State, P-Visited-Network-ID,
 *           P-Charging-Vector; strtoul() for the numeric headers.
 *
 * Prints messages/s and MB/s (per second of CPU time of the one thread)
 * for both and the ratio simreg / oSIP2.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <osipparser2/osip_parser.h>
#include <osipparser2/headers/osip_content_disposition.h>

#include "sip/hdr.h"
#include "sip/msg.h"

struct corpus {
	char *data[64];
	size_t len[64];
	char name[64][256];
	unsigned n;
	size_t bytes;
};

static int load(struct corpus *c, const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	if (n < 0) {
		fprintf(stderr, "bench_sip_parse: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[512];
		FILE *f;
		long len;

		if (ents[i]->d_name[0] == '.' || c->n == 64)
			goto next;
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		f = fopen(path, "rb");
		if (!f)
			goto next;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		c->data[c->n] = malloc((size_t)len + 1);
		if (fread(c->data[c->n], 1, (size_t)len, f) != (size_t)len) {
			fclose(f);
			goto next;
		}
		fclose(f);
		c->data[c->n][len] = '\0';
		c->len[c->n] = (size_t)len;
		snprintf(c->name[c->n], sizeof(c->name[0]), "%s", ents[i]->d_name);
		c->bytes += (size_t)len;
		c->n++;
next:
		free(ents[i]);
	}
	free(ents);
	return c->n ? 0 : -1;
}

/*
 * CPU time of this thread, not wall time: the machine is shared with other
 * builds, and a parser is not faster because its neighbour was idle.
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sip_msg msg;

static int simreg_one(const char *data, size_t len)
{
	struct sip_error err;

	if (sip_parse(&msg, data, len, SIP_FRAME_DATAGRAM, NULL, &err) < 0)
		return -1;
	return sip_msg_check(&msg, &err);
}

static const char *const addr_names[] = {
	"path", "service-route", "p-associated-uri", "p-asserted-identity", "p-preferred-identity",
};
static const char *const tparam_names[] = {
	"security-client", "security-server", "security-verify", "event", "subscription-state",
	"p-visited-network-id", "p-charging-vector",
};
static const char *const number_names[] = {
	"max-forwards", "expires", "min-expires", "flow-timer",
};

static bool in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return true;
	return false;
}

#define IN(name, list) in((name), (list), sizeof(list) / sizeof((list)[0]))

static volatile unsigned long sink;

static int osip_one(const char *data, size_t len)
{
	osip_message_t *m;
	osip_header_t *h;
	int rc = -1;

	if (osip_message_init(&m) != 0)
		return -1;
	if (osip_message_parse(m, data, len) != 0)
		goto out;
	for (int pos = 0; osip_message_get_header(m, pos, &h) >= 0; pos++) {
		if (!h->hname || !h->hvalue)
			continue;
		if (IN(h->hname, addr_names)) {
			osip_from_t *a;
			if (osip_from_init(&a) == 0) {
				if (osip_from_parse(a, h->hvalue) != 0) {
					osip_from_free(a);
					goto out;
				}
				osip_from_free(a);
			}
		} else if (IN(h->hname, tparam_names)) {
			osip_content_disposition_t *d;
			if (osip_content_disposition_init(&d) == 0) {
				osip_content_disposition_parse(d, h->hvalue);
				osip_content_disposition_free(d);
			}
		} else if (IN(h->hname, number_names)) {
			sink += strtoul(h->hvalue, NULL, 10);
		}
	}
	rc = 0;
out:
	osip_message_free(m);
	return rc;
}

#define ROUNDS 30

struct result {
	double msgs_per_s;
	double mb_per_s;
};

/* One timed round: the whole corpus over and over for `seconds`. */
static struct result round_of(const struct corpus *c, int (*fn)(const char *, size_t),
			      double seconds)
{
	double t0 = now(), t;
	unsigned long msgs = 0, bytes = 0;

	do {
		for (unsigned i = 0; i < c->n; i++) {
			fn(c->data[i], c->len[i]);
			bytes += c->len[i];
		}
		msgs += c->n;
		t = now() - t0;
	} while (t < seconds);
	return (struct result){ (double)msgs / t, (double)bytes / t / 1e6 };
}

static void keep_best(struct result *best, struct result r)
{
	if (r.msgs_per_s > best->msgs_per_s)
		*best = r;
}

int main(int argc, char **argv)
{
	const char *dir = SIMREG_BENCH_CORPUS;
	double seconds = 0.1;
	struct corpus c = { 0 };
	struct result s = { 0 }, o = { 0 };
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else
			dir = argv[i];
	}
	if (load(&c, dir))
		return 1;
	parser_init();
	sip_msg_init(&msg);
	/* Both parsers must accept the whole corpus, or the comparison means nothing. */
	for (unsigned i = 0; i < c.n; i++) {
		if (simreg_one(c.data[i], c.len[i])) {
			fprintf(stderr, "simreg rejects %s\n", c.name[i]);
			bad = 1;
		}
		if (osip_one(c.data[i], c.len[i])) {
			fprintf(stderr, "oSIP2 rejects %s\n", c.name[i]);
			bad = 1;
		}
	}
	if (bad)
		return 1;

	printf("sip_parse: %u messages, %zu bytes, full decode of every header, "
	       "best of %d alternating rounds of %.2f s CPU\n", c.n, c.bytes, ROUNDS, seconds);
	/*
	 * The machine is shared: alternate the two parsers and keep each one's
	 * best round, so that a burst of load elsewhere hurts neither more.
	 */
	for (int r = 0; r < ROUNDS; r++) {
		keep_best(&s, round_of(&c, simreg_one, seconds));
		keep_best(&o, round_of(&c, osip_one, seconds));
	}
	printf("simreg  %10.0f msg/s  %8.1f MB/s\n", s.msgs_per_s, s.mb_per_s);
	printf("oSIP2   %10.0f msg/s  %8.1f MB/s\n", o.msgs_per_s, o.mb_per_s);
	printf("ratio   %10.1fx (simreg / oSIP2)\n", s.msgs_per_s / o.msgs_per_s);
	for (unsigned i = 0; i < c.n; i++)
		free(c.data[i]);
	return 0;
}
