/*
 * sqn.h - sequence number management per TS 33.102 Annex C.
 *
 * SQN (48 bits) = SEQ || IND. IND, the low `ind_bits` bits, names a slot;
 * SEQ, the rest, is a counter.
 *
 * HSS side (C.1): each new vector takes SEQ_HE + 1 and the next IND in turn,
 * so vectors handed out together sit in different slots. The HSS stores
 * only the last SQN it used.
 *
 * USIM side (C.2): an array SEQ_MS[0 .. 2^ind_bits - 1]. A SQN is fresh when
 *   - SEQ > SEQ_MS[IND]                       (C.2.1; otherwise a replay),
 *   - SEQ - SEQ_MS_max <= delta               (C.2.2, wrap-around protection),
 *   - SEQ_MS_max - SEQ <= L, when L is used   (C.2.2, the optional age limit),
 * where SEQ_MS_max is the highest SEQ accepted in any slot. Because each
 * slot keeps its own SEQ, two vectors fetched together by two registrations
 * of one UE (Wi-Fi and cellular) may be used in either order; using either
 * one twice is still refused.
 *
 * Defaults (docs/aka.md explains them): 5 IND bits (32 slots, the C.3
 * profile), delta = 2^28 (C.3), no age limit.
 */
#ifndef SIMREG_AKA_SQN_H
#define SIMREG_AKA_SQN_H

#include <stdbool.h>
#include <stdint.h>

#define SQN_IND_BITS_DEFAULT 5
#define SQN_IND_BITS_MAX 8 /* at most 256 slots in a USIM array */
#define SQN_DELTA_DEFAULT (UINT64_C(1) << 28)
#define SQN_AGE_LIMIT_OFF 0

/* The SQN profile both sides must agree on (only ind_bits is shared; delta
 * and L are the USIM's own). */
struct sqn_params {
	unsigned ind_bits;  /* 0 .. SQN_IND_BITS_MAX */
	uint64_t delta;     /* wrap-around limit, in SEQ units; > 0 */
	uint64_t age_limit; /* L in SEQ units; SQN_AGE_LIMIT_OFF = not checked */
};

/* 5 IND bits, delta 2^28, no age limit. */
void sqn_params_default(struct sqn_params *p);

/* Returns 0, or -EINVAL for ind_bits > SQN_IND_BITS_MAX or delta 0. */
int sqn_params_check(const struct sqn_params *p);

static inline uint64_t sqn_seq(uint64_t sqn, unsigned ind_bits)
{
	return sqn >> ind_bits;
}

static inline unsigned sqn_ind(uint64_t sqn, unsigned ind_bits)
{
	return (unsigned)(sqn & ((UINT64_C(1) << ind_bits) - 1));
}

static inline uint64_t sqn_make(uint64_t seq, unsigned ind, unsigned ind_bits)
{
	return seq << ind_bits | ind;
}

/* ---- HSS side -------------------------------------------------------- */

/*
 * sqn_he_next
 *	last     : the last SQN this subscriber was given (0 for a new one)
 *	ind_bits : IND length
 *	next     : out, SEQ(last) + 1 || (IND(last) + 1) mod 2^ind_bits
 *
 * Pure: the caller stores *next (on disk, before the vector leaves) and
 * passes it as `last` the next time.
 * Returns 0, -EINVAL for a bad ind_bits or last > AKA_SQN_MAX, or -EOVERFLOW
 * when SEQ would leave its 48 - ind_bits bits (the subscriber needs a new
 * K; C.3.2 sizes SEQ so that this never happens in a card's life).
 */
int sqn_he_next(uint64_t last, unsigned ind_bits, uint64_t *next);

/*
 * sqn_he_resync
 *	The HSS's new `last` after a verified AUTS carried sqn_ms (33.102
 *	§6.3.5: SQN_HE is set to SQN_MS). The next vector then has
 *	SEQ = SEQ_MS + 1, above every slot of the USIM. Returns 0 or -EINVAL
 *	for sqn_ms > AKA_SQN_MAX.
 */
int sqn_he_resync(uint64_t sqn_ms, uint64_t *last);

/* ---- USIM side ------------------------------------------------------- */

enum sqn_verdict {
	SQN_FRESH = 0,  /* accept */
	SQN_REPLAY,     /* SEQ <= SEQ_MS[IND]: used before (or older in that slot) */
	SQN_TOO_OLD,    /* SEQ_MS_max - SEQ > L */
	SQN_TOO_FAR,    /* SEQ - SEQ_MS_max > delta: wrap-around protection */
};

/* "fresh", "replay", "too-old", "too-far". */
const char *sqn_verdict_name(enum sqn_verdict v);

struct sqn_ms {
	struct sqn_params p;
	uint64_t seq[1u << SQN_IND_BITS_MAX]; /* SEQ_MS per IND; 2^ind_bits used */
};

/*
 * sqn_ms_init
 *	A fresh array: every slot 0, so the first SQN with SEQ in (0, delta]
 *	is accepted. Returns 0 or -EINVAL (see sqn_params_check()).
 */
int sqn_ms_init(struct sqn_ms *ms, const struct sqn_params *p);

/* Classify `sqn` without changing anything. */
enum sqn_verdict sqn_ms_check(const struct sqn_ms *ms, uint64_t sqn);

/* Record `sqn` as accepted: SEQ_MS[IND] = SEQ. Call only after a
 * SQN_FRESH verdict (and a good MAC). */
void sqn_ms_accept(struct sqn_ms *ms, uint64_t sqn);

/*
 * sqn_ms_highest
 *	SQN_MS for an AUTS: the highest SEQ in the array with the IND of the
 *	slot that holds it (the lowest such slot on a tie). 0 for a fresh array.
 */
uint64_t sqn_ms_highest(const struct sqn_ms *ms);

#endif
