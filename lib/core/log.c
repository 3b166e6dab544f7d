#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/hex.h"

/*
 * Process-wide logger state. Logging is the one facility every layer may
 * reach without a context argument; it is configured once at start-up by
 * the entry point and only read afterwards.
 */
#define SLOG_BUFSIZE (256 * 1024)
#define SLOG_LINE_MAX 2048

static struct {
	enum slog_target target;
	enum slog_level level;
	bool keys;
	int fd;
	char ident[32];
	char buf[SLOG_BUFSIZE];
	size_t head; /* bytes written out */
	size_t tail; /* bytes buffered */
	unsigned long dropped;
} slog = {
	.target = SLOG_TARGET_STDERR,
	.level = SLOG_INFO,
	.fd = -1,
	.ident = "simreg",
};

const char *const slog_level_names[] = {
	[SLOG_ERROR] = "error", [SLOG_WARN] = "warn", [SLOG_NOTICE] = "notice",
	[SLOG_INFO] = "info", [SLOG_DEBUG] = "debug", [SLOG_DEBUG + 1] = NULL,
};

const char *const slog_target_names[] = {
	[SLOG_TARGET_STDERR] = "stderr", [SLOG_TARGET_SYSLOG] = "syslog",
	[SLOG_TARGET_SYSLOG + 1] = NULL,
};

static const int syslog_prio[] = {
	[SLOG_ERROR] = LOG_ERR, [SLOG_WARN] = LOG_WARNING, [SLOG_NOTICE] = LOG_NOTICE,
	[SLOG_INFO] = LOG_INFO, [SLOG_DEBUG] = LOG_DEBUG,
};

/*
 * A descriptor of our own for stderr: opening /proc/self/fd/2 gives a new
 * open file description for pipes and terminals, so O_NONBLOCK on it does not
 * leak into the shell or supervisor that handed us stderr.
 */
static int open_stderr_nonblocking(void)
{
	struct stat st;
	int fd;

	/*
	 * A regular file never makes write() wait for a reader, and reopening
	 * it would give a second file offset that overwrites what others
	 * write through fd 2 (a shell's `2>file` is not O_APPEND). Write to
	 * it directly.
	 */
	if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		return STDERR_FILENO;
	fd = open("/proc/self/fd/2", O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
	return fd >= 0 ? fd : STDERR_FILENO;
}

void slog_init(const char *ident, enum slog_target target, enum slog_level level)
{
	snprintf(slog.ident, sizeof(slog.ident), "%s", ident ? ident : "simreg");
	slog.level = level;
	if (slog.target == SLOG_TARGET_SYSLOG && target != SLOG_TARGET_SYSLOG)
		closelog();
	slog.target = target;
	if (target == SLOG_TARGET_SYSLOG)
		openlog(slog.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (slog.fd < 0)
		slog.fd = open_stderr_nonblocking();
}

void slog_set_level(enum slog_level level) { slog.level = level; }
enum slog_level slog_get_level(void) { return slog.level; }
void slog_set_keys(bool enabled) { slog.keys = enabled; }
bool slog_keys_enabled(void) { return slog.keys; }

int slog_level_parse(const char *name, enum slog_level *out)
{
	for (size_t i = 0; slog_level_names[i]; i++) {
		if (strcasecmp(name, slog_level_names[i]) == 0) {
			*out = (enum slog_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = SLOG_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *slog_level_name(enum slog_level level)
{
	return (unsigned)level <= SLOG_DEBUG ? slog_level_names[level] : "?";
}

/* Move buffered bytes to the descriptor until it would block. */
void slog_flush(void)
{
	while (slog.head < slog.tail) {
		ssize_t n = write(slog.fd, slog.buf + slog.head, slog.tail - slog.head);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		slog.head += (size_t)n;
	}
	if (slog.head == slog.tail)
		slog.head = slog.tail = 0;
}

bool slog_pending(void)
{
	return slog.head < slog.tail;
}

int slog_fd(void)
{
	if (slog.target == SLOG_TARGET_SYSLOG)
		return -1;
	if (slog.fd < 0)
		slog.fd = open_stderr_nonblocking();
	return slog.fd;
}

void slog_drain(void)
{
	for (int tries = 0; slog.head < slog.tail && tries < 100; tries++) {
		struct pollfd p = { .fd = slog.fd, .events = POLLOUT };
		slog_flush();
		if (slog.head < slog.tail)
			poll(&p, 1, 50);
	}
}

static void buffer_line(const char *line, size_t len)
{
	if (slog.head > 0 && slog.tail + len > SLOG_BUFSIZE) {
		memmove(slog.buf, slog.buf + slog.head, slog.tail - slog.head);
		slog.tail -= slog.head;
		slog.head = 0;
	}
	if (slog.tail + len > SLOG_BUFSIZE) {
		slog.dropped++;
		return;
	}
	memcpy(slog.buf + slog.tail, line, len);
	slog.tail += len;
}

static void emit_line(enum slog_level level, const char *component, const char *text)
{
	char line[SLOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	int n;

	if (slog.target == SLOG_TARGET_SYSLOG) {
		syslog(syslog_prio[level], "%s %s: %s", component, slog_level_names[level], text);
		return;
	}
	if (slog.fd < 0)
		slog.fd = open_stderr_nonblocking();
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s %s: %s\n",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, slog.ident, (int)getpid(), component,
		     slog_level_names[level], text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	buffer_line(line, (size_t)n);
	slog_flush();
}

void slog_emit(enum slog_level level, const char *component, const char *fmt, ...)
{
	char text[SLOG_LINE_MAX - 96];
	va_list ap;

	if (level > slog.level)
		return;
	if (slog.dropped) {
		unsigned long dropped = slog.dropped;
		char note[64];
		slog.dropped = 0;
		snprintf(note, sizeof(note), "%lu log lines dropped (slow reader)", dropped);
		emit_line(SLOG_WARN, "log", note);
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	emit_line(level, component, text);
}

void slog_key(const char *component, const char *what, const uint8_t *key, size_t len)
{
	char hex[2 * 64 + 1];

	if (!slog.keys)
		return;
	if (len > 64)
		len = 64;
	hex_encode(key, len, hex);
	slog_emit(SLOG_NOTICE, component, "key %s=%s", what, hex);
	explicit_bzero(hex, sizeof(hex));
}
