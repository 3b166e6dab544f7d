/*
 * evlog.c - JSON lines for the lab.
 */
#define SLOG_COMPONENT "ue"
#include "ue/evlog.h"

#include <stdio.h>

#include "core/log.h"
#include "ue/context.h"

bool ue_ev_begin(struct ue *ue, struct json_writer *w, const char *event,
		 const struct ue_access *a)
{
	if (!ue->evlog)
		return false;
	json_writer_init(w, 0);
	json_begin_object(w);
	json_key(w, "t");
	json_uint(w, loop_now_ms(ue->loop));
	json_kv_cstring(w, "ue", ue->name);
	json_kv_cstring(w, "event", event);
	if (a)
		json_kv_cstring(w, "access", a->cfg.name);
	return true;
}

void ue_ev_end(struct ue *ue, struct json_writer *w)
{
	struct str line;

	json_end_object(w);
	if (json_writer_finish(w, &line) == 0) {
		fwrite(line.s, 1, line.len, ue->evlog);
		fputc('\n', ue->evlog);
		fflush(ue->evlog);
	} else {
		log_warn("event log: record dropped (%d)", json_writer_error(w));
	}
	json_writer_free(w);
}

void ue_ev_simple(struct ue *ue, const struct ue_access *a, const char *event, const char *key,
		  const char *value)
{
	struct json_writer w;

	if (!ue_ev_begin(ue, &w, event, a))
		return;
	if (key)
		json_kv_cstring(&w, key, value);
	ue_ev_end(ue, &w);
}
