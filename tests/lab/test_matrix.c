/*
 * The matrix's reasoning without a lab: how measurements become an
 * outcome (lab_row_classify()), that a row's result survives its JSON
 * form (the parent of `lab matrix` reads what each row's process wrote),
 * the row table itself, and the topology's functions and their services.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/json.h"
#include "lab/deploy.h"
#include "lab/matrix.h"
#include "lab/topology.h"

/* Both accesses registered, bound, protected on both sides, reached, and A
 * re-authenticated without touching B: the measurements of a working row. */
static struct lab_row_result working(void)
{
	struct lab_row_result r;

	memset(&r, 0, sizeof(r));
	r.row = lab_matrix_rows[0];
	snprintf(r.name, sizeof(r.name), "%s/%s/%s", r.row.topology, r.row.mechanism,
		 r.row.binding);
	for (int i = 0; i < 2; i++) {
		r.registered[i] = r.binding[i] = r.sa_ue[i] = r.sa_pcscf[i] = true;
		snprintf(r.access[i], sizeof(r.access[i]), "%s", i ? "umts" : "wlan");
		snprintf(r.impi[i], sizeof(r.impi[i]), "alice@ims.test");
	}
	r.bindings = 2;
	r.msg_status = 200;
	r.msg_delivered = 3;
	r.reauth = LAB_REAUTH_DONE;
	r.other_untouched = true;
	return r;
}

static void classify_works(void **state)
{
	struct lab_row_result r = working();

	(void)state;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_WORKS);
	assert_string_equal(lab_outcome_text(LAB_OUTCOME_WORKS), "works");
}

/* The legacy registrar replaced A's binding: only B is bound and reached. */
static void classify_newest_only(void **state)
{
	struct lab_row_result r = working();

	(void)state;
	r.binding[0] = false;
	r.sa_ue[0] = r.sa_pcscf[0] = false;
	r.msg_delivered = 2;
	r.reauth = LAB_REAUTH_NOT_TRIED;
	r.other_untouched = false;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_NEWEST_ONLY);
	/* Whether the UE still holds A's set does not matter to the network. */
	r.sa_ue[0] = true;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_NEWEST_ONLY);
	assert_string_equal(lab_outcome_code(LAB_OUTCOME_NEWEST_ONLY), "newest-only");
}

/* Both bound, but the P-CSCF deleted A's SAs when B registered. */
static void classify_first_sas_gone(void **state)
{
	struct lab_row_result r = working();

	(void)state;
	r.sa_pcscf[0] = false;
	r.msg_delivered = 2;
	r.reauth = LAB_REAUTH_NOT_TRIED;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_FIRST_SAS_GONE);
	/* If A still got the MESSAGE, something else is going on. */
	r.msg_delivered = 3;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_UNEXPECTED);
}

/* Each of the three columns of DESIGN.md section 4 is needed for "works". */
static void classify_needs_every_column(void **state)
{
	struct lab_row_result r;

	(void)state;
	r = working();
	r.other_untouched = false;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_REAUTH_DISTURBS);
	r = working();
	r.reauth = LAB_REAUTH_FAILED;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_REAUTH_DISTURBS);
	r = working();
	r.msg_delivered = 1;
	assert_int_not_equal(lab_row_classify(&r), LAB_OUTCOME_WORKS);
	r = working();
	r.binding[1] = false;
	assert_int_not_equal(lab_row_classify(&r), LAB_OUTCOME_WORKS);
	r = working();
	r.sa_ue[1] = false;
	assert_int_not_equal(lab_row_classify(&r), LAB_OUTCOME_WORKS);
	r = working();
	memset(r.sa_ue, 0, sizeof(r.sa_ue));
	memset(r.sa_pcscf, 0, sizeof(r.sa_pcscf));
	r.msg_delivered = 0;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_NOTHING);
	r = working();
	r.error = -EIO;
	assert_int_equal(lab_row_classify(&r), LAB_OUTCOME_FAILED);
}

static void json_round_trip(void **state)
{
	char path[] = "/tmp/simreg-test-matrix-XXXXXX";
	struct lab_row_result r = working(), back;
	struct json_writer w;
	struct str doc;
	int fd;

	(void)state;
	r.row = lab_matrix_rows[5];
	snprintf(r.name, sizeof(r.name), "%s/%s/%s", r.row.topology, r.row.mechanism,
		 r.row.binding);
	r.sa_pcscf[0] = false;
	r.msg_delivered = 2;
	r.reauth = LAB_REAUTH_NOT_TRIED;
	r.keys.measured = true;
	r.keys.vectors = r.keys.verified = r.keys.mar = 2;
	r.keys.challenges = r.keys.from_hss = r.keys.distinct_keys = 2;
	r.keys.sqn_min = 33;
	r.keys.sqn_max = r.keys.hss_sqn = 65;
	r.keys.n_impis = 1;
	snprintf(r.keys.impis[0], sizeof(r.keys.impis[0]), "alice@ims.test");
	r.keys.impis_of_subscription = true;
	r.captures_measured = r.captures_ok = true;
	r.esp_packets = 42;
	r.outcome = lab_row_classify(&r);

	json_writer_init(&w, JSON_PRETTY);
	lab_row_write_json(&r, &w);
	assert_int_equal(json_writer_finish(&w, &doc), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc.s, doc.len), (ssize_t)doc.len);
	close(fd);
	json_writer_free(&w);

	assert_int_equal(lab_row_read_json(path, &back), 0);
	unlink(path);
	assert_string_equal(back.name, r.name);
	assert_ptr_equal(back.row.mechanism, r.row.mechanism);
	assert_int_equal(back.outcome, LAB_OUTCOME_FIRST_SAS_GONE);
	assert_int_equal(back.outcome, r.outcome);
	assert_memory_equal(back.binding, r.binding, sizeof(r.binding));
	assert_memory_equal(back.sa_pcscf, r.sa_pcscf, sizeof(r.sa_pcscf));
	assert_int_equal(back.msg_delivered, 2);
	assert_int_equal(back.keys.hss_sqn, 65);
	assert_true(lab_keys_ok(&back.keys));
	assert_string_equal(back.impi[1], "alice@ims.test");
	assert_true(back.captures_ok);
	assert_int_equal(back.esp_packets, 42);
}

/* A file that is not a row's result is refused, not half-read. */
static void json_refused(void **state)
{
	char path[] = "/tmp/simreg-test-matrix-XXXXXX";
	static const char *const bad[] = {
		"not json",
		"{\"row\":\"t3/none/impi\"}",
		"[]",
	};
	struct lab_row_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		assert_int_equal(lab_row_read_json(path, &r), -EINVAL);
		unlink(path);
		strcpy(path, "/tmp/simreg-test-matrix-XXXXXX");
	}
	assert_int_equal(lab_row_read_json("/nonexistent/result.json", &r), -ENOENT);
}

/* 6 mechanisms x 2 bindings x 2 topologies, each once. */
static void rows_cover_the_design(void **state)
{
	size_t n = 0;

	(void)state;
	for (const struct lab_row_spec *s = lab_matrix_rows; s->mechanism; s++, n++) {
		assert_true(lab_name_in(lab_mechanisms, s->mechanism));
		assert_true(lab_name_in(lab_bindings, s->binding));
		assert_non_null(lab_topology_find(s->topology));
		for (const struct lab_row_spec *o = lab_matrix_rows; o < s; o++)
			assert_false(!strcmp(o->mechanism, s->mechanism) &&
				     !strcmp(o->binding, s->binding) &&
				     !strcmp(o->topology, s->topology));
	}
	assert_int_equal(n, 24);
}

/* Every P-CSCF has a core-facing service and one per access it serves;
 * the UE has an access for each P-CSCF service that serves one. */
static void functions_and_services(void **state)
{
	(void)state;
	for (size_t k = 0; k < lab_n_topologies; k++) {
		const struct lab_topology *t = lab_topologies[k];
		struct lab_plan plan;
		size_t pcscfs = 0, ues = 0;

		assert_int_equal(lab_plan_compute(t, &plan), 0);
		for (size_t i = 0; i < t->n_functions; i++) {
			const struct lab_function_spec *f = &t->functions[i];
			size_t core = 0, access = 0;

			for (size_t j = 0; j < t->n_services; j++) {
				const struct lab_service_spec *s = &t->services[j];

				if (!lab_service_of(s, f))
					continue;
				if (s->access)
					access++;
				else
					core++;
			}
			if (f->kind == LAB_FN_PCSCF) {
				pcscfs++;
				assert_int_equal(core, 1);
				assert_true(access >= 1);
			}
			ues += f->kind == LAB_FN_UE;
		}
		assert_int_equal(pcscfs, strcmp(t->name, "t1") ? 2 : 1);
		assert_int_equal(ues, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classify_works),
		cmocka_unit_test(classify_newest_only),
		cmocka_unit_test(classify_first_sas_gone),
		cmocka_unit_test(classify_needs_every_column),
		cmocka_unit_test(json_round_trip),
		cmocka_unit_test(json_refused),
		cmocka_unit_test(rows_cover_the_design),
		cmocka_unit_test(functions_and_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
