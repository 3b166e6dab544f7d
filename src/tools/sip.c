/*
 * simreg sip check FILE... - parse each file as one SIP datagram and say
 * exactly what, if anything, is wrong with it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "sip/msg.h"

static void print_help(FILE *f)
{
	fprintf(f,
	       "NAME\n"
	       "       simreg sip - inspect SIP messages\n"
	       "\n"
	       "SYNOPSIS\n"
	       "       simreg sip check [--crlf] [--verbose] FILE...\n"
	       "\n"
	       "DESCRIPTION\n"
	       "       check parses each FILE as one SIP message received in a UDP datagram\n"
	       "       (RFC 3261 18.3), decodes the Request-URI and every header simreg knows\n"
	       "       (the URIs inside addresses included), requires the mandatory headers\n"
	       "       (Via, From, To, Call-ID, CSeq), refuses a second value of a header\n"
	       "       allowed once and a CSeq method other than the request method, and\n"
	       "       applies the default limits (65535-byte message, 8192-byte header\n"
	       "       field, 96 header values). For each file it prints one line:\n"
	       "\n"
	       "           FILE: ok METHOD             a valid request\n"
	       "           FILE: ok CODE               a valid response\n"
	       "           FILE: ok keepalive          a CRLF or CRLFCRLF keepalive\n"
	       "           FILE: invalid: REASON       the first problem found\n"
	       "           FILE: error: REASON         the file could not be read\n"
	       "\n"
	       "       REASON names the problem, then in parentheses the line number, the\n"
	       "       header as written in the file and the offending text, with bytes\n"
	       "       outside printable ASCII shown as \\r, \\n, \\t or \\xHH; for example\n"
	       "\n"
	       "           scalar02.dat: invalid: CSeq number above 2^32-1 (line 5, CSeq:\n"
	       "           \"36893488147419103232\")\n"
	       "\n"
	       "       Octets after the Content-Length body are ignored, as a UDP receiver\n"
	       "       must (RFC 3261 18.3).\n"
	       "\n"
	       "OPTIONS\n"
	       "       --crlf\n"
	       "           Turn bare LF line ends into CRLF before parsing, for messages\n"
	       "           pasted from a trace viewer or an editor. Without it a bare LF is\n"
	       "           reported as an error, since SIP requires CRLF.\n"
	       "\n"
	       "       -v, --verbose\n"
	       "           After each valid message, list its header values one per line\n"
	       "           (line number, name as written, canonical name or \"(unknown)\")\n"
	       "           and the body length, and say how many trailing octets were\n"
	       "           ignored.\n"
	       "\n"
	       "EXIT STATUS\n"
	       "       0 every file is a valid message; 1 at least one is invalid or could\n"
	       "       not be read; 2 bad usage.\n");
}

/* The offending text, quoted, with non-printable bytes escaped; at most ~70 bytes. */
static void put_excerpt(struct buf *b, struct str s)
{
	size_t n = s.len > 70 ? 70 : s.len;

	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.s[i];
		if (c == '\r')
			buf_puts(b, "\\r");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
	if (n < s.len)
		buf_puts(b, "...");
}

static void put_reason(struct buf *b, const struct sip_error *e)
{
	const char *sep = " (";

	buf_puts(b, e->reason ? e->reason : "malformed message");
	if (e->line) {
		buf_printf(b, "%sline %u", sep, e->line);
		sep = ", ";
	}
	if (e->hdr >= 0 && e->name.s) {
		buf_printf(b, "%s%.*s", sep, STR_FMT(e->name));
		sep = ": ";
		if (e->where.s) {
			buf_puts(b, sep);
			put_excerpt(b, e->where);
		}
		buf_putc(b, ')');
		return;
	}
	if (e->where.s && e->where.len) {
		buf_puts(b, sep);
		put_excerpt(b, e->where);
		sep = ", ";
	}
	if (strcmp(sep, ", ") == 0)
		buf_putc(b, ')');
}

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;
	int rc = 0;

	if (!f)
		return -errno;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_put(&b, chunk, n);
	if (ferror(f))
		rc = -EIO;
	fclose(f);
	if (rc == 0)
		rc = buf_error(&b);
	if (rc) {
		buf_free(&b);
		return rc;
	}
	*data = b.p;
	*len = b.len;
	return 0;
}

/* LF not preceded by CR becomes CRLF (--crlf). */
static int fix_line_ends(char **data, size_t *len)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < *len; i++) {
		if ((*data)[i] == '\n' && (i == 0 || (*data)[i - 1] != '\r'))
			buf_putc(&b, '\r');
		buf_putc(&b, (*data)[i]);
	}
	if (buf_error(&b)) {
		buf_free(&b);
		return -ENOMEM;
	}
	free(*data);
	*data = b.p;
	*len = b.len;
	return 0;
}

static void put_verbose(struct buf *out, const struct sip_msg *m, size_t consumed, size_t len)
{
	for (unsigned i = 0; i < m->n_hdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		buf_printf(out, "    %4u %.*s", h->line, STR_FMT(h->name));
		buf_printf(out, " [%s] ", h->id ? sip_hdr_name(h->id) : "(unknown)");
		put_excerpt(out, h->value);
		buf_putc(out, '\n');
	}
	buf_printf(out, "    body: %zu bytes\n", m->body.len);
	if (consumed < len)
		buf_printf(out, "    ignored %zu octets after the message\n", len - consumed);
}

static bool check_one(const char *path, bool crlf, bool verbose, struct buf *out)
{
	struct sip_msg *m = malloc(sizeof(*m));
	struct sip_error e;
	char *data = NULL;
	size_t len = 0;
	bool ok = false;
	int rc;

	buf_printf(out, "%s: ", path);
	if (!m) {
		buf_puts(out, "error: out of memory\n");
		return false;
	}
	rc = read_file(path, &data, &len);
	if (rc == 0 && crlf)
		rc = fix_line_ends(&data, &len);
	if (rc) {
		buf_printf(out, "error: %s\n", strerror(-rc));
		goto out;
	}
	sip_msg_init(m);
	memset(&e, 0, sizeof(e));
	rc = sip_parse(m, data, len, SIP_FRAME_DATAGRAM, NULL, &e);
	if (rc >= 0) {
		size_t consumed = (size_t)rc;
		rc = sip_msg_check(m, &e);
		if (rc == 0) {
			ok = true;
			if (m->kind == SIP_MSG_REQUEST)
				buf_printf(out, "ok %.*s\n", STR_FMT(m->method_name));
			else if (m->kind == SIP_MSG_RESPONSE)
				buf_printf(out, "ok %u\n", m->status);
			else
				buf_puts(out, "ok keepalive\n");
			if (verbose && (m->kind == SIP_MSG_REQUEST || m->kind == SIP_MSG_RESPONSE))
				put_verbose(out, m, consumed, len);
			goto out;
		}
	}
	buf_puts(out, "invalid: ");
	put_reason(out, &e);
	buf_putc(out, '\n');
out:
	free(data);
	free(m);
	return ok;
}

static int sip_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "crlf", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool crlf = false, verbose = false, all_ok = true;
	struct buf out;
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			crlf = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			print_help(stdout);
			return CLI_OK;
		default:
			cli_usage_error("sip", "check: unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_usage_error("sip", "check: no FILE given");
		return CLI_USAGE;
	}
	buf_init(&out);
	for (int i = optind; i < argc; i++) {
		if (!check_one(argv[i], crlf, verbose, &out))
			all_ok = false;
		fwrite(out.p, 1, out.len, stdout);
		buf_reset(&out);
	}
	buf_free(&out);
	return all_ok ? CLI_OK : CLI_FAIL;
}

int cmd_sip(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return sip_check(argc - 1, argv + 1);
	cli_usage_error("sip", "unknown subcommand '%s'", argv[1]);
	return CLI_USAGE;
}
