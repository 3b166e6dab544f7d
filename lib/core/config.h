/*
 * config.h - schema-driven YAML configuration.
 *
 * A deployment has one YAML file with a section per network function and
 * sections shared by all of them:
 *
 *     log:
 *       level: info
 *     pcscf:
 *       sa_binding: registration
 *       listen: [ "198.18.0.1:5060" ]
 *
 * Each component declares its section as a table of keys (dotted path,
 * type, default, one line of documentation, and where the value goes in the
 * component's config struct). From those tables the loader validates the
 * file, and the same tables print the reference documentation
 * (config_schema_markdown(), which docs/configuration.md is generated from)
 * and the effective configuration (config_dump()). Every process loads and
 * validates the whole file, so a mistake in the S-CSCF's section is caught
 * by whichever function starts first.
 *
 * Loading applies every key's default, then the file. Unknown keys, values
 * of the wrong type, values out of range and duplicate keys are errors; each
 * is reported on its own line as
 *
 *     FILE:LINE: key 'DOTTED.KEY': WHAT WAS EXPECTED
 *
 * and a file with any error is rejected as a whole.
 *
 * Declaring a section:
 *
 *     struct pcscf_config { int sa_binding; uint64_t reg_grace_ms; ... };
 *     static const char *const bindings[] = { "registration", "impi", NULL };
 *     static const struct config_key pcscf_keys[] = {
 *         CONFIG_ENUM("pcscf.sa_binding", struct pcscf_config, sa_binding,
 *                     bindings, "registration", "what an IPsec SA set belongs to"),
 *         CONFIG_DURATION("pcscf.reg_grace", struct pcscf_config, reg_grace_ms,
 *                         0, 3600000, "30s", "kept after expiry"),
 *     };
 *     const struct config_section pcscf_config_section = CONFIG_SECTION(
 *         "pcscf", "the P-CSCF", struct pcscf_config, pcscf_keys);
 */
#ifndef SIMREG_CORE_CONFIG_H
#define SIMREG_CORE_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/arena.h"

/*
 * The value types, with the member each one writes (X(name, member type,
 * words for the documentation)).
 */
#define CONFIG_TYPES(X)                                                         \
	X(STRING, "const char *", "string")                                     \
	X(INT, "any integer type", "integer")                                   \
	X(BOOL, "bool", "boolean (true or false)")                              \
	X(ENUM, "int or an enum", "one of")                                     \
	X(DURATION, "uint64_t (milliseconds)", "duration (500ms, 30s, 4m, 1h)") \
	X(HEX, "struct config_bytes", "hex bytes")                              \
	X(ADDR, "struct config_addr", "address (ip:port, [ipv6]:port)")         \
	X(STRLIST, "struct config_strlist", "list of strings")                  \
	X(CUSTOM, "whatever the parser writes", "")

enum config_type {
#define X(name, member, doc) CONFIG_T_##name,
	CONFIG_TYPES(X)
#undef X
};

/* Value of a CONFIG_HEX key; the bytes live in the config's arena. */
struct config_bytes {
	const uint8_t *data;
	size_t len;
};

/* Value of a CONFIG_ADDR key: a numeric IPv4 or IPv6 address and a port. */
struct config_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

/* Value of a CONFIG_STRLIST key; the strings live in the config's arena. */
struct config_strlist {
	const char *const *v;
	size_t n;
};

/*
 * A type the table does not know: the component parses the scalar itself.
 *   parse  text is the scalar; member points at offset in the section
 *          struct; allocations come from a (owned by the config). Return 0,
 *          or -EINVAL after writing what was expected to why.
 *   print  write the value as it would appear in a file; return 0 or
 *          -ENOSPC.
 */
struct config_custom {
	const char *type_doc;   /* for the schema table: "ip:port or interface" */
	int (*parse)(void *member, const char *text, struct arena *a, char *why, size_t whylen);
	int (*print)(const void *member, char *buf, size_t len);
};

enum config_key_flags {
	/* Key material: config_dump() prints "<secret>" instead of the value. */
	CONFIG_SECRET = 1 << 0,
};

/*
 * One key. min/max bound INT values, DURATION values (in ms) and HEX
 * lengths (in bytes); ENUM stores the index of the name in names
 * (NULL-terminated).
 */
struct config_key {
	const char *path;       /* dotted, section first: "pcscf.sa_binding" */
	enum config_type type;
	const char *def;        /* default, written as in the file (YAML) */
	const char *doc;        /* one line */
	size_t offset;          /* of the member in the section struct */
	size_t size;            /* sizeof the member, checked against the type */
	int64_t min, max;
	const char *const *names;
	const struct config_custom *custom;
	unsigned flags;         /* enum config_key_flags */
};

#define CONFIG_AT(stype, member) \
	.offset = offsetof(stype, member), .size = sizeof(((stype *)0)->member)

#define CONFIG_STRING(p, stype, member, d, text) \
	{ .path = (p), .type = CONFIG_T_STRING, .def = (d), .doc = (text), CONFIG_AT(stype, member) }
#define CONFIG_INT(p, stype, member, lo, hi, d, text)                                    \
	{ .path = (p), .type = CONFIG_T_INT, .def = (d), .doc = (text), .min = (lo), .max = (hi), \
	  CONFIG_AT(stype, member) }
#define CONFIG_BOOL(p, stype, member, d, text) \
	{ .path = (p), .type = CONFIG_T_BOOL, .def = (d), .doc = (text), CONFIG_AT(stype, member) }
#define CONFIG_ENUM(p, stype, member, namelist, d, text)                                    \
	{ .path = (p), .type = CONFIG_T_ENUM, .def = (d), .doc = (text), .names = (namelist), \
	  CONFIG_AT(stype, member) }
#define CONFIG_DURATION(p, stype, member, lo_ms, hi_ms, d, text)                              \
	{ .path = (p), .type = CONFIG_T_DURATION, .def = (d), .doc = (text), .min = (lo_ms), \
	  .max = (hi_ms), CONFIG_AT(stype, member) }
#define CONFIG_HEX(p, stype, member, minlen, maxlen, d, text)                              \
	{ .path = (p), .type = CONFIG_T_HEX, .def = (d), .doc = (text), .min = (minlen),   \
	  .max = (maxlen), CONFIG_AT(stype, member) }
#define CONFIG_ADDR(p, stype, member, d, text) \
	{ .path = (p), .type = CONFIG_T_ADDR, .def = (d), .doc = (text), CONFIG_AT(stype, member) }
#define CONFIG_STRLIST(p, stype, member, d, text) \
	{ .path = (p), .type = CONFIG_T_STRLIST, .def = (d), .doc = (text), CONFIG_AT(stype, member) }
#define CONFIG_CUSTOM_KEY(p, stype, member, ops, d, text)                                    \
	{ .path = (p), .type = CONFIG_T_CUSTOM, .def = (d), .doc = (text), .custom = (ops), \
	  CONFIG_AT(stype, member) }

/*
 * A section: the top-level key, its keys, and the struct they fill.
 * Keys sharing a path prefix must be listed together (the dump nests them).
 * check, if set, runs after every key is set, for rules that span keys
 * (T2 >= T1); it returns 0 or -EINVAL after writing the reason to why.
 */
struct config_section {
	const char *name;
	const char *doc;
	size_t size;
	const struct config_key *keys;
	size_t nkeys;
	int (*check)(const void *data, char *why, size_t whylen);
};

#define CONFIG_SECTION(n, text, stype, keytable)                                        \
	{ .name = (n), .doc = (text), .size = sizeof(stype), .keys = (keytable),        \
	  .nkeys = sizeof(keytable) / sizeof((keytable)[0]) }

/*
 * A loaded configuration: one struct per section, all memory in one arena
 * (created with ARENA_WIPE, since sections may hold key material).
 */
struct config {
	struct arena arena;
	const struct config_section *const *sections;
	size_t nsections;
	void **data;            /* data[i] is the struct of sections[i] */
	const char *source;     /* the file name, or the name given with a buffer */
};

/*
 * Errors of one load, one line each ("FILE:LINE: key 'K': ..."), kept in a
 * fixed buffer; lines that do not fit are counted and summarised.
 */
struct config_errors {
	unsigned count;
	size_t len;
	char text[4096];
};

/*
 * Load a file.
 *   cfg       receives the configuration; on success the caller owns it
 *             (config_free()). On failure *cfg is not touched.
 *   sections  every section the file may contain; borrowed for the life
 *             of cfg.
 *   path      the file; error lines name it as given.
 *   err       receives the error lines; may be NULL.
 * Returns 0, -EINVAL when the file has errors (listed in err), -ENOMEM, or
 * the negative errno of opening or reading the file (also listed in err).
 */
int config_load_file(struct config *cfg, const struct config_section *const *sections,
		     size_t nsections, const char *path, struct config_errors *err);

/* The same from memory; name stands for the file in error lines. */
int config_load_buffer(struct config *cfg, const struct config_section *const *sections,
		       size_t nsections, const char *name, const char *text, size_t len,
		       struct config_errors *err);

/*
 * Replace a loaded configuration by the file at path, read with the same
 * sections (SIGHUP). When the file is rejected, live is left exactly as it
 * was. Returns as config_load_file().
 */
int config_reload(struct config *live, const char *path, struct config_errors *err);

/* Free everything cfg holds; safe on a zeroed struct. */
void config_free(struct config *cfg);

/* The struct filled for sec, or NULL if sec was not among the sections. */
const void *config_get(const struct config *cfg, const struct config_section *sec);

/*
 * Write the effective configuration (defaults and file merged) as YAML that
 * loads back to the same values. Secrets are replaced by "<secret>".
 * Returns 0 or -EIO.
 */
int config_dump(const struct config *cfg, FILE *out);

/*
 * Write the reference documentation of the sections as Markdown: per
 * section a heading, its line of documentation and a table of key, type,
 * default and description. Returns 0 or -EIO.
 */
int config_schema_markdown(const struct config_section *const *sections, size_t nsections,
			   FILE *out);

/*
 * Check a section's table for programming errors: member sizes that do not
 * match the type, bad ranges, paths outside the section, duplicate or
 * ungrouped paths, defaults that do not parse. Returns 0 or -EINVAL with the
 * first problem in why. Loading runs it on every section.
 */
int config_schema_check(const struct config_section *sec, char *why, size_t whylen);

/* ---------------------------------------------------------------------------
 * Sections every process has
 */

/* log: */
struct config_log {
	int level;              /* enum slog_level */
	int target;             /* enum slog_target */
	bool keys;
};
extern const struct config_section config_log_section;

/* Apply a log section to the logger (core/log.h); ident names the process. */
void config_log_apply(const struct config_log *c, const char *ident);

/* loop: */
struct config_loop {
	uint64_t shutdown_grace_ms;
};
extern const struct config_section config_loop_section;

#endif
