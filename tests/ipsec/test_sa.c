/*
 * SA-set construction against tests/data/ipsec/ipsec_sa_table.tsv (copied
 * from the project's spec digest: TS 33.203 §7.1, 24.229, Kamailio).
 *
 * The table names every port and SPI symbolically ("port_uc (Security-Client
 * port-c)"); each symbol gets a distinct number here, the set is built from
 * both sides' points of view in IPv4 and IPv6, and every row of the table is
 * checked against the SA of the same number.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipsec/sa.h"

#define SPI_UC 0x00001101u
#define SPI_US 0x00001102u
#define SPI_PC 0x00002201u
#define SPI_PS 0x00002202u
#define PORT_UC 31001
#define PORT_US 31002
#define PORT_PC 5101
#define PORT_PS 5102

struct row {
	unsigned index;
	char src_host[16], dst_host[16], chosen_by[16];
	char src_port[16], dst_port[16], spi[16];
};

static struct row rows[8];
static size_t nrows;

/* First word of a TSV cell ("port_uc (Security-Client port-c)" -> "port_uc"). */
static void first_word(const char *cell, char *out, size_t cap)
{
	size_t n = strcspn(cell, " \t");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, cell, n);
	out[n] = '\0';
}

static int load_table(void **state)
{
	char path[4096], line[2048];
	const char *dir = getenv("SIMREG_TESTDATA");
	FILE *f;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/ipsec/ipsec_sa_table.tsv", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nrows < 8) {
		char *cell[9];
		char *save = NULL, *p = line;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "SA", 2) != 0)
			continue; /* header and notes */
		for (char *tok = strtok_r(p, "\t", &save); tok && n < 9;
		     tok = strtok_r(NULL, "\t", &save))
			cell[n++] = tok;
		if (n < 8)
			continue;
		struct row *r = &rows[nrows++];
		r->index = (unsigned)atoi(cell[0] + 2);
		first_word(cell[2], r->src_host, sizeof(r->src_host));
		first_word(cell[3], r->src_port, sizeof(r->src_port));
		first_word(cell[4], r->dst_host, sizeof(r->dst_host));
		first_word(cell[5], r->dst_port, sizeof(r->dst_port));
		first_word(cell[6], r->spi, sizeof(r->spi));
		first_word(cell[7], r->chosen_by, sizeof(r->chosen_by));
	}
	fclose(f);
	return nrows == 4 ? 0 : -1;
}

static uint32_t symbol(const char *name)
{
	static const struct {
		const char *name;
		uint32_t value;
	} symbols[] = {
		{ "spi_uc", SPI_UC }, { "spi_us", SPI_US }, { "spi_pc", SPI_PC },
		{ "spi_ps", SPI_PS }, { "port_uc", PORT_UC }, { "port_us", PORT_US },
		{ "port_pc", PORT_PC }, { "port_ps", PORT_PS },
	};

	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (strcmp(symbols[i].name, name) == 0)
			return symbols[i].value;
	fail_msg("unknown symbol in the table: %s", name);
	return 0;
}

static void params(struct ipsec_set_params *p, int family)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(ipsec_addr_parse(family == AF_INET ? "198.18.1.2" : "2001:db8:1::2",
					  &p->ue), 0);
	assert_int_equal(ipsec_addr_parse(family == AF_INET ? "198.18.1.1" : "2001:db8:1::1",
					  &p->pcscf), 0);
	p->client = (struct ipsec_sec_params){ SPI_UC, SPI_US, PORT_UC, PORT_US };
	p->server = (struct ipsec_sec_params){ SPI_PC, SPI_PS, PORT_PC, PORT_PS };
	uint8_t ik[AKA_IK_LEN], ck[AKA_CK_LEN];
	memset(ik, 0xa1, sizeof(ik));
	memset(ck, 0xc1, sizeof(ck));
	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC, ik, ck, &p->keys),
			 0);
}

static void check_against_table(enum ipsec_side side, int family)
{
	struct ipsec_set_params p;
	struct ipsec_sa_set set;
	const char *self = side == IPSEC_SIDE_UE ? "UE" : "P-CSCF";

	params(&p, family);
	assert_int_equal(ipsec_sa_set_build(&set, side, &p), 0);
	assert_int_equal(set.side, side);
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		const struct ipsec_sa *sa = ipsec_sa_set_sa(&set, r->index);
		const struct ipsec_addr *src = strcmp(r->src_host, "UE") == 0 ? &p.ue : &p.pcscf;
		const struct ipsec_addr *dst = strcmp(r->dst_host, "UE") == 0 ? &p.ue : &p.pcscf;

		assert_int_equal(sa->index, r->index);
		assert_true(ipsec_addr_eq(&sa->src, src));
		assert_true(ipsec_addr_eq(&sa->dst, dst));
		assert_int_equal(sa->sport, symbol(r->src_port));
		assert_int_equal(sa->dport, symbol(r->dst_port));
		assert_int_equal(sa->spi, symbol(r->spi));
		assert_int_equal(sa->dir,
				 strcmp(r->src_host, self) == 0 ? IPSEC_DIR_OUT : IPSEC_DIR_IN);
		/* The SPI is chosen by the receiver, from its own header. */
		assert_string_equal(r->chosen_by, r->dst_host);
		assert_int_equal(r->spi[4], strcmp(r->dst_host, "UE") == 0 ? 'u' : 'p');
		/* And the SA is found again by its selectors. */
		assert_ptr_equal(ipsec_sa_set_match(&set, src, sa->sport, dst, sa->dport), sa);
	}
	assert_true(ipsec_addr_eq(ipsec_sa_set_local(&set),
				  side == IPSEC_SIDE_UE ? &p.ue : &p.pcscf));
	ipsec_sa_set_wipe(&set);
	assert_int_equal(set.p.keys.ik_esp[0], 0);
}

static void test_table_ue_v4(void **state) { check_against_table(IPSEC_SIDE_UE, AF_INET); }
static void test_table_ue_v6(void **state) { check_against_table(IPSEC_SIDE_UE, AF_INET6); }
static void test_table_pcscf_v4(void **state) { check_against_table(IPSEC_SIDE_PCSCF, AF_INET); }
static void test_table_pcscf_v6(void **state) { check_against_table(IPSEC_SIDE_PCSCF, AF_INET6); }

/* Each side sends on exactly the SAs the other receives on. */
static void test_sides_mirror(void **state)
{
	struct ipsec_set_params p;
	struct ipsec_sa_set ue, pc;

	params(&p, AF_INET6);
	assert_int_equal(ipsec_sa_set_build(&ue, IPSEC_SIDE_UE, &p), 0);
	assert_int_equal(ipsec_sa_set_build(&pc, IPSEC_SIDE_PCSCF, &p), 0);
	for (unsigned n = 1; n <= IPSEC_SET_SAS; n++) {
		assert_int_not_equal(ipsec_sa_set_sa(&ue, n)->dir, ipsec_sa_set_sa(&pc, n)->dir);
		assert_int_equal(ipsec_sa_set_sa(&ue, n)->spi, ipsec_sa_set_sa(&pc, n)->spi);
	}
	/* The UE sends on SA1 and SA4 (33.203 §7.1). */
	assert_int_equal(ipsec_sa_set_sa(&ue, 1)->dir, IPSEC_DIR_OUT);
	assert_int_equal(ipsec_sa_set_sa(&ue, 2)->dir, IPSEC_DIR_IN);
	assert_int_equal(ipsec_sa_set_sa(&ue, 3)->dir, IPSEC_DIR_IN);
	assert_int_equal(ipsec_sa_set_sa(&ue, 4)->dir, IPSEC_DIR_OUT);
}

/* Every invalid input is refused and leaves the output untouched. */
static void test_invalid(void **state)
{
	struct ipsec_set_params p, good;
	struct ipsec_sa_set set, before;

	params(&good, AF_INET);
	memset(&set, 0x5a, sizeof(set));
	before = set;

#define EXPECT_INVALID(stmt)                                                       \
	do {                                                                       \
		p = good;                                                          \
		stmt;                                                              \
		assert_int_equal(ipsec_sa_set_build(&set, IPSEC_SIDE_PCSCF, &p), -EINVAL); \
		assert_memory_equal(&set, &before, sizeof(set));                   \
	} while (0)

	EXPECT_INVALID(ipsec_addr_parse("2001:db8::1", &p.ue));
	EXPECT_INVALID(ipsec_addr_parse("0.0.0.0", &p.pcscf));
	EXPECT_INVALID(ipsec_addr_parse("224.0.0.1", &p.ue));
	EXPECT_INVALID(p.ue.family = AF_UNIX);
	EXPECT_INVALID(p.client.spi_c = 0);
	EXPECT_INVALID(p.server.spi_s = 255);
	EXPECT_INVALID(p.client.spi_s = p.client.spi_c);
	EXPECT_INVALID(p.server.spi_c = p.server.spi_s);
	EXPECT_INVALID(p.client.port_c = 0);
	EXPECT_INVALID(p.server.port_s = p.server.port_c);
	EXPECT_INVALID(p.keys.auth = ESP_AUTH__COUNT);
	EXPECT_INVALID(p.keys.enc = (enum esp_enc_alg)-1);
	EXPECT_INVALID(p.keys.ik_len = 16);
	EXPECT_INVALID(p.keys.enc = ESP_ENC_DES_EDE3_CBC);
	EXPECT_INVALID(p.keys.ck_len = 0);
	p = good;
	assert_int_equal(ipsec_sa_set_build(&set, (enum ipsec_side)7, &p), -EINVAL);
	assert_memory_equal(&set, &before, sizeof(set));
	/* The boundary itself is fine. */
	p = good;
	p.client.spi_c = 256;
	assert_int_equal(ipsec_sa_set_build(&set, IPSEC_SIDE_PCSCF, &p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_ue_v4),
		cmocka_unit_test(test_table_ue_v6),
		cmocka_unit_test(test_table_pcscf_v4),
		cmocka_unit_test(test_table_pcscf_v6),
		cmocka_unit_test(test_sides_mirror),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, load_table, NULL);
}
