/*
 * ue_client - a UE for over-the-wire S-CSCF tests, built on lib/aka.
 *
 * SIPp's AKA client gives up on a bad MAC and never sends AUTS, so the
 * failure paths of IMS AKA need a client of our own. This one holds a
 * USIM (lib/aka usim.h) and registers over UDP, answering each 401 the
 * way TS 24.229 5.1.1.5.1 says: a response when the card accepts AUTN,
 * an empty response on a MAC failure, auts on a synchronisation failure.
 * It can also answer wrongly on purpose.
 *
 *   ue_client --scscf IP:PORT --port N --impi I --impu U --k HEX
 *             (--op HEX | --opc HEX) [--sqn-ms SQN] CMD...
 *
 *   CMD:  register[:MODE][:EXPIRES]   MODE good (default), wrong, or
 *                                     once (send the first REGISTER only)
 *         deregister                  this contact, expires=0
 *         deregister-all              Contact: *, Expires: 0
 *
 * --sqn-ms sets the card's highest accepted SQN (SEQ in slot 0), so that
 * a fresher HSS is needed: a stale one causes a synchronisation failure.
 * Each message sent or received is printed as one line with its
 * interesting headers; nonces and tags, which change per run, are not.
 * Exit status: 0 when every REGISTER got its final answer, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aka/digest.h"
#include "aka/usim.h"
#include "core/hex.h"
#include "core/str.h"
#include "sip/msg.h"

static struct {
	int fd;
	struct sockaddr_in to;
	unsigned port;
	const char *impi, *impu;
	struct usim usim;
	unsigned cseq;
	unsigned call;
	unsigned run;                   /* this process: branches and Call-IDs differ per run */
	char nonce[128];
	char last_auth[640];
} ue;

static int send_register(const char *auth, const char *contact_line)
{
	char msg[4096];
	int len = snprintf(msg, sizeof(msg),
			   "REGISTER sip:ims.test SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKue%u-%u-%u;rport\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <%s>;tag=ue%u\r\n"
			   "To: <%s>\r\n"
			   "Call-ID: ue-%u-%u-%u@127.0.0.1\r\n"
			   "CSeq: %u REGISTER\r\n"
			   "%s"
			   "Authorization: %s\r\n"
			   "Supported: path\r\n"
			   "Content-Length: 0\r\n\r\n",
			   ue.port, ue.run, ue.call, ue.cseq, ue.impu, ue.call, ue.impu, ue.run, ue.port,
			   ue.call, ue.cseq, contact_line, auth);

	return sendto(ue.fd, msg, (size_t)len, 0, (struct sockaddr *)&ue.to, sizeof(ue.to)) == len ?
		       0 :
		       -errno;
}

/* Wait for the final response to CSeq ue.cseq; retransmit once a second. */
static int wait_final(char *buf, size_t cap, struct sip_msg *m, const char *auth,
		      const char *contact)
{
	for (int tries = 0; tries < 8; tries++) {
		struct pollfd p = { .fd = ue.fd, .events = POLLIN };

		while (poll(&p, 1, 1000) > 0) {
			ssize_t n = recv(ue.fd, buf, cap - 1, 0);
			const struct sip_cseq *cs;

			if (n <= 0)
				continue;
			buf[n] = '\0';
			sip_msg_init(m);
			if (sip_parse(m, buf, (size_t)n, SIP_FRAME_DATAGRAM, NULL, NULL) <= 0 ||
			    m->kind != SIP_MSG_RESPONSE || m->status < 200 ||
			    sip_msg_cseq(m, &cs, NULL) < 0 || cs->seq != ue.cseq)
				continue;
			return 0;
		}
		send_register(auth, contact);
	}
	return -ETIMEDOUT;
}

static void print_response(struct sip_msg *m)
{
	const struct sip_hdr *h;

	printf("<- %u %.*s\n", m->status, STR_FMT(m->reason));
	for (unsigned i = 0; i < m->n_hdrs; i++) {
		h = &m->hdrs[i];
		switch (h->id) {
		case SIP_HDR_CONTACT:
		case SIP_HDR_SERVICE_ROUTE:
		case SIP_HDR_P_ASSOCIATED_URI:
		case SIP_HDR_MIN_EXPIRES:
			printf("     %.*s: %.*s\n", STR_FMT(h->name), STR_FMT(h->value));
			break;
		case SIP_HDR_WWW_AUTHENTICATE:
			printf("     WWW-Authenticate: Digest, AKAv1-MD5 nonce, ik, ck\n");
			break;
		default:
			break;
		}
	}
}

/* The card's answer to the last challenge, as an Authorization value. */
static void answer(const char *mode, char *auth, size_t cap)
{
	struct akav1_nonce n;
	struct usim_result r;
	char response[DIGEST_HEX_LEN + 1] = "";

	if (akav1_nonce_decode(str_from_cstr(ue.nonce), &n) < 0) {
		snprintf(auth, cap, "Digest username=\"%s\", realm=\"ims.test\", uri=\"sip:ims.test\","
				    " nonce=\"\", response=\"\"",
			 ue.impi);
		return;
	}
	usim_authenticate(&ue.usim, n.rand, n.autn, &r);
	printf("   USIM: %s\n", usim_status_name(r.status));
	if (r.status == USIM_OK) {
		struct digest_request d = {
			.username = str_from_cstr(ue.impi),
			.realm = STR_LIT("ims.test"),
			.nonce = str_from_cstr(ue.nonce),
			.uri = STR_LIT("sip:ims.test"),
			.method = STR_LIT("REGISTER"),
			.qop = DIGEST_QOP_AUTH,
			.nc = STR_LIT("00000001"),
			.cnonce = STR_LIT("5eed5eed"),
		};

		digest_response(&d, r.res, sizeof(r.res), response);
		if (strcmp(mode, "wrong") == 0)
			response[5] = response[5] == 'a' ? 'b' : 'a';
		snprintf(auth, cap,
			 "Digest username=\"%s\", realm=\"ims.test\", uri=\"sip:ims.test\","
			 " nonce=\"%s\", response=\"%s\", qop=auth, nc=00000001, cnonce=\"5eed5eed\","
			 " algorithm=AKAv1-MD5",
			 ue.impi, ue.nonce, response);
	} else if (r.status == USIM_SYNC_FAILURE) {
		char auts[32];

		base64_encode(r.auts, sizeof(r.auts), auts);
		snprintf(auth, cap,
			 "Digest username=\"%s\", realm=\"ims.test\", uri=\"sip:ims.test\","
			 " nonce=\"%s\", response=\"\", auts=\"%s\", algorithm=AKAv1-MD5",
			 ue.impi, ue.nonce, auts);
	} else {
		/* MAC failure: no response, no auts (24.229 5.1.1.5.1). */
		snprintf(auth, cap,
			 "Digest username=\"%s\", realm=\"ims.test\", uri=\"sip:ims.test\","
			 " nonce=\"%s\", response=\"\", algorithm=AKAv1-MD5",
			 ue.impi, ue.nonce);
	}
	usim_result_wipe(&r);
}

static int transaction(const char *what, const char *auth, const char *contact, unsigned *status)
{
	static char buf[65536];
	static struct sip_msg m;
	const struct sip_hdr *wa;
	struct sip_auth au;

	ue.cseq++;
	printf("-> REGISTER (%s)\n", what);
	if (send_register(auth, contact) < 0 || wait_final(buf, sizeof(buf), &m, auth, contact) < 0) {
		printf("   no final response\n");
		return -1;
	}
	print_response(&m);
	*status = m.status;
	ue.nonce[0] = '\0';
	wa = sip_msg_hdr(&m, SIP_HDR_WWW_AUTHENTICATE);
	if (wa && sip_auth_parse(wa->value, true, &au, NULL) == 0)
		str_copy(ue.nonce, sizeof(ue.nonce), sip_auth_get(&au, SIP_AUTH_NONCE));
	return 0;
}

static int do_register(const char *mode, long expires)
{
	char contact[256], auth[640];
	unsigned status = 0;
	int rounds = 0;

	ue.call++;
	if (expires < 0)
		snprintf(contact, sizeof(contact), "Contact: *\r\nExpires: 0\r\n");
	else
		snprintf(contact, sizeof(contact), "Contact: <sip:ue@127.0.0.1:%u>;expires=%ld\r\n",
			 ue.port, expires);
	snprintf(auth, sizeof(auth),
		 "Digest username=\"%s\", realm=\"ims.test\", uri=\"sip:ims.test\", nonce=\"\","
		 " response=\"\", integrity-protected=\"no\"",
		 ue.impi);
	if (transaction("initial", auth, contact, &status) < 0)
		return -1;
	if (strcmp(mode, "once") == 0)
		return 0;
	/* A synchronisation failure costs one more challenge. */
	while (status == 401 && rounds++ < 3) {
		answer(mode, auth, sizeof(auth));
		if (transaction("answer", auth, contact, &status) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scscf", required_argument, NULL, 's' }, { "port", required_argument, NULL, 'p' },
		{ "impi", required_argument, NULL, 'i' },  { "impu", required_argument, NULL, 'u' },
		{ "k", required_argument, NULL, 'k' },     { "op", required_argument, NULL, 'o' },
		{ "opc", required_argument, NULL, 'c' },   { "sqn-ms", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scscf = NULL, *k = NULL, *op = NULL;
	bool opc = false;
	uint64_t sqn_ms = 0;
	uint8_t kb[16], ob[16];
	struct sockaddr_in local = { .sin_family = AF_INET };
	int opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': scscf = optarg; break;
		case 'p': ue.port = (unsigned)atoi(optarg); break;
		case 'i': ue.impi = optarg; break;
		case 'u': ue.impu = optarg; break;
		case 'k': k = optarg; break;
		case 'o': op = optarg; break;
		case 'c': op = optarg; opc = true; break;
		case 'q': sqn_ms = strtoull(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!scscf || !ue.port || !ue.impi || !ue.impu || !k || !op ||
	    hex_decode(str_from_cstr(k), kb, 16) || hex_decode(str_from_cstr(op), ob, 16)) {
		fprintf(stderr, "ue_client: --scscf --port --impi --impu --k (--op|--opc) needed\n");
		return 2;
	}
	if (usim_init(&ue.usim, kb, ob, opc ? MILENAGE_OPC : MILENAGE_OP, NULL) < 0)
		return 2;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ue.run = (unsigned)getpid() ^ (unsigned)ts.tv_nsec;
	}
	if (sqn_ms) {
		/* Every IND slot (TS 33.102 Annex C, 5 bits) saw SEQ already. */
		char state[2048];
		int len = snprintf(state, sizeof(state), "ind_bits 5\ndelta 268435456\nage_limit 0\n");

		for (unsigned ind = 0; ind < 32; ind++)
			len += snprintf(state + len, sizeof(state) - (size_t)len, "seq %u %" PRIu64 "\n",
					ind, sqn_ms >> 5);
		if (usim_state_parse(&ue.usim, str_from_cstr(state), NULL) < 0)
			return 2;
	}
	{
		char host[64];
		const char *colon = strrchr(scscf, ':');

		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - scscf) : 0, scscf);
		ue.to.sin_family = AF_INET;
		ue.to.sin_port = htons((uint16_t)(colon ? atoi(colon + 1) : 5060));
		inet_pton(AF_INET, host, &ue.to.sin_addr);
	}
	ue.fd = socket(AF_INET, SOCK_DGRAM, 0);
	local.sin_port = htons((uint16_t)ue.port);
	inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
	if (ue.fd < 0 || bind(ue.fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		perror("ue_client: bind");
		return 1;
	}
	for (int i = optind; i < argc && !rc; i++) {
		char mode[16] = "good";
		long expires = 600;
		char *c1 = strchr(argv[i], ':');

		printf("\n# %s\n", argv[i]);
		if (strncmp(argv[i], "register", 8) == 0) {
			if (c1) {
				char *c2 = strchr(c1 + 1, ':');

				snprintf(mode, sizeof(mode), "%.*s",
					 c2 ? (int)(c2 - c1 - 1) : (int)strlen(c1 + 1), c1 + 1);
				if (c2)
					expires = atol(c2 + 1);
			}
			rc = do_register(mode, expires);
		} else if (strcmp(argv[i], "deregister") == 0) {
			rc = do_register("good", 0);
		} else if (strcmp(argv[i], "deregister-all") == 0) {
			rc = do_register("good", -1);
		} else {
			fprintf(stderr, "ue_client: unknown command %s\n", argv[i]);
			rc = 2;
		}
	}
	usim_free(&ue.usim);
	close(ue.fd);
	return rc ? 1 : 0;
}
