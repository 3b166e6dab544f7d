/*
 * SQN management, TS 33.102 Annex C (C.1 for the HE/AuC, C.2 for the USIM).
 */
#include "aka/sqn.h"

#include <errno.h>
#include <string.h>

#include "aka/milenage.h"

void sqn_params_default(struct sqn_params *p)
{
	p->ind_bits = SQN_IND_BITS_DEFAULT;
	p->delta = SQN_DELTA_DEFAULT;
	p->age_limit = SQN_AGE_LIMIT_OFF;
}

int sqn_params_check(const struct sqn_params *p)
{
	if (p->ind_bits > SQN_IND_BITS_MAX || p->delta == 0)
		return -EINVAL;
	return 0;
}

int sqn_he_next(uint64_t last, unsigned ind_bits, uint64_t *next)
{
	uint64_t seq;
	unsigned ind;

	if (ind_bits > SQN_IND_BITS_MAX || last > AKA_SQN_MAX)
		return -EINVAL;
	seq = sqn_seq(last, ind_bits) + 1;
	if (seq > sqn_seq(AKA_SQN_MAX, ind_bits))
		return -EOVERFLOW;
	/* C.1.2 leaves the IND allocation to the operator; taking the next
	 * slot for each vector puts the vectors of one MAR, and of two
	 * registrations running side by side, in distinct slots. */
	ind = (sqn_ind(last, ind_bits) + 1) & ((1u << ind_bits) - 1);
	*next = sqn_make(seq, ind, ind_bits);
	return 0;
}

int sqn_he_resync(uint64_t sqn_ms, uint64_t *last)
{
	if (sqn_ms > AKA_SQN_MAX)
		return -EINVAL;
	*last = sqn_ms;
	return 0;
}

const char *sqn_verdict_name(enum sqn_verdict v)
{
	switch (v) {
	case SQN_FRESH:
		return "fresh";
	case SQN_REPLAY:
		return "replay";
	case SQN_TOO_OLD:
		return "too-old";
	case SQN_TOO_FAR:
		return "too-far";
	}
	return "?";
}

int sqn_ms_init(struct sqn_ms *ms, const struct sqn_params *p)
{
	if (sqn_params_check(p))
		return -EINVAL;
	memset(ms, 0, sizeof(*ms));
	ms->p = *p;
	return 0;
}

static uint64_t seq_ms_max(const struct sqn_ms *ms, unsigned *slot)
{
	unsigned n = 1u << ms->p.ind_bits;
	uint64_t max = 0;

	*slot = 0;
	for (unsigned i = 0; i < n; i++) {
		if (ms->seq[i] > max) {
			max = ms->seq[i];
			*slot = i;
		}
	}
	return max;
}

enum sqn_verdict sqn_ms_check(const struct sqn_ms *ms, uint64_t sqn)
{
	uint64_t seq = sqn_seq(sqn, ms->p.ind_bits);
	unsigned ind = sqn_ind(sqn, ms->p.ind_bits);
	unsigned slot;
	uint64_t max = seq_ms_max(ms, &slot);

	if (seq <= ms->seq[ind])
		return SQN_REPLAY;
	/* C.2.2: a SEQ far above anything accepted would, once accepted, leave
	 * too little room below the top of the counter; refuse it. */
	if (seq > max && seq - max > ms->p.delta)
		return SQN_TOO_FAR;
	if (ms->p.age_limit != SQN_AGE_LIMIT_OFF && seq < max && max - seq > ms->p.age_limit)
		return SQN_TOO_OLD;
	return SQN_FRESH;
}

void sqn_ms_accept(struct sqn_ms *ms, uint64_t sqn)
{
	ms->seq[sqn_ind(sqn, ms->p.ind_bits)] = sqn_seq(sqn, ms->p.ind_bits);
}

uint64_t sqn_ms_highest(const struct sqn_ms *ms)
{
	unsigned slot;
	uint64_t max = seq_ms_max(ms, &slot);

	return sqn_make(max, slot, ms->p.ind_bits);
}
