/*
 * policy.c - subscription rules shared by UAR and SAR: home networks and
 * the registration limit of modified-impi subscriptions.
 */
#include <errno.h>

#include "hss/hss.h"

bool hss_is_home_network(struct hss *h, struct str visited)
{
	if (h->cfg.home_networks.n == 0)
		return str_caseeq_cstr(visited, h->cfg.realm);
	for (size_t i = 0; i < h->cfg.home_networks.n; i++) {
		if (str_caseeq_cstr(visited, h->cfg.home_networks.v[i]))
			return true;
	}
	return false;
}

int hss_registration_limit(struct hss *h, struct hss_req *r, const struct store_subscription *sub,
			   const struct store_impi *impi, bool *at_limit)
{
	struct store_registration *regs;
	size_t n, distinct = 0;
	int err;

	*at_limit = false;
	if (sub->max_registrations == 0)
		return 0;
	err = store_reg_list(h->store, sub->id, &r->arena, &regs, &n);
	if (err)
		return err;
	/* Rows come ordered by IMPI: count the changes. */
	for (size_t i = 0; i < n; i++) {
		if (regs[i].impi_id == impi->id)
			return 0; /* already registered: a refresh or another contact */
		if (i == 0 || regs[i].impi_id != regs[i - 1].impi_id)
			distinct++;
	}
	*at_limit = distinct >= sub->max_registrations;
	return 0;
}
