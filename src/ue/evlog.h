/*
 * evlog.h - the UE's event log: one JSON object per line, for the lab.
 *
 * Every record has "t" (milliseconds on the loop clock), "ue" (the IMPI of
 * the subscription) and "event"; records about an access add "access".
 *
 *   {"event":"state","access":"wlan","from":"idle","to":"unprotected","cause":"register"}
 *   {"event":"sa","access":"wlan","op":"created","kind":"temporary","set":3,
 *    "spi_uc":..,"spi_us":..,"port_uc":..,"port_us":..,
 *    "spi_pc":..,"spi_ps":..,"port_pc":..,"port_ps":..,"alg":"hmac-sha-1-96","ealg":"aes-cbc"}
 *   {"event":"sa","op":"deleted",...} / "op":"promoted"
 *   {"event":"registered","access":"wlan","impi":..,"expires":600000,"outbound":true,
 *    "impus":["sip:alice@ims.test",...],"service_route":[...]}
 *   {"event":"aka","access":"wlan","verdict":"sync-failure","sqn":..}
 *   {"event":"msg","access":"wlan","dir":"tx"|"rx","method":"MESSAGE","status":200,
 *    "call_id":..,"from":..,"to":..,"body":..}
 *   {"event":"notify","access":"wlan","version":3,"impus":[{"aor":..,"state":..,
 *    "ours":true,"contacts":[{"uri":..,"state":..,"event":..}]}]}
 *   {"event":"refused","access":"wlan","state":..,"input":..}
 *
 * docs/ue.md lists every field. The lab follows the file; nothing else
 * reads the UE's memory.
 */
#ifndef SIMREG_UE_EVLOG_H
#define SIMREG_UE_EVLOG_H

#include "core/json.h"

struct ue;
struct ue_access;

/*
 * Begin a record: {"t":..,"ue":..,"event":EVENT[,"access":NAME]. The
 * caller adds members and ends with ue_ev_end(), which writes the line.
 * Returns false (and writes nothing later) when there is no event log.
 */
bool ue_ev_begin(struct ue *ue, struct json_writer *w, const char *event,
		 const struct ue_access *a);
void ue_ev_end(struct ue *ue, struct json_writer *w);

/* A record with one string member: {"event":E,"access":A,KEY:VALUE}. */
void ue_ev_simple(struct ue *ue, const struct ue_access *a, const char *event, const char *key,
		  const char *value);

#endif
