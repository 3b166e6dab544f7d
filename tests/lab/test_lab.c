/*
 * src/lab without root: the topology tables and their computed routes, the
 * command runner, and the supervisor on real processes (readiness, a
 * timeout, an early death, a stubborn process, a recycled pid).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lab/command.h"
#include "lab/supervisor.h"
#include "lab/topology.h"

/* ---- topology ---------------------------------------------------------- */

static const struct lab_service_spec *service_on(const struct lab_topology *t, const char *access)
{
	for (size_t i = 0; i < t->n_services; i++)
		if (t->services[i].access && strcmp(t->services[i].access, access) == 0)
			return &t->services[i];
	return NULL;
}

static const struct lab_route *route_of(const struct lab_plan *p, const char *role, uint8_t plane,
					uint8_t net)
{
	int node = lab_node_index(p->topo, role);

	for (size_t i = 0; i < p->n_routes; i++)
		if (p->routes[i].node == node && p->routes[i].plane == plane &&
		    p->routes[i].net == net)
			return &p->routes[i];
	return NULL;
}

/* The interface a route leaves by. */
static const char *route_dev(const struct lab_plan *p, const struct lab_route *r)
{
	const struct lab_link_spec *l = &p->topo->links[r->link];

	return r->via_b ? l->a.ifname : l->b.ifname;
}

static void test_routes(void **state)
{
	for (size_t k = 0; k < lab_n_topologies; k++) {
		const struct lab_topology *t = lab_topologies[k];
		struct lab_plan p;
		size_t ue_routes = 0;

		assert_int_equal(lab_plan_compute(t, &p), 0);
		/* The UE reaches the P-CSCF of each access through that access
		 * and through nothing else. */
		for (const char *const *acc = (const char *const[]){ "wlan", "umts", NULL }; *acc;
		     acc++) {
			const struct lab_service_spec *s = service_on(t, *acc);
			const struct lab_route *r;

			assert_non_null(s);
			r = route_of(&p, "ue", s->plane, s->net);
			assert_non_null(r);
			assert_string_equal(route_dev(&p, r), *acc);
		}
		for (size_t i = 0; i < p.n_routes; i++) {
			if (p.routes[i].node != lab_node_index(t, "ue"))
				continue;
			ue_routes++;
			/* never into the core */
			assert_int_equal(p.routes[i].plane, LAB_PLANE_ACCESS);
		}
		assert_int_equal(ue_routes, 2);
		/* The access routers know nothing beyond their own links. */
		assert_null(route_of(&p, "wlan", LAB_PLANE_CORE, 0));
		assert_null(route_of(&p, "wlan", LAB_PLANE_ACCESS, 2));
		assert_null(route_of(&p, "umts", LAB_PLANE_ACCESS, 101));
		/* Every P-CSCF reaches the core's service addresses. */
		for (size_t i = 0; i < t->n_nodes; i++)
			if (strncmp(t->nodes[i].role, "pcscf", 5) == 0)
				assert_non_null(route_of(&p, t->nodes[i].role, LAB_PLANE_CORE, 0));
		/* One capture per link, plus the core's loopback. */
		assert_int_equal(p.n_captures, t->n_links + 1);
	}
}

static void test_bad_tables(void **state)
{
	static const struct lab_node_spec nodes[] = { { "x", false, "" }, { "y", true, "" } };
	static const struct lab_link_spec twice[] = {
		{ "l1", 18, 1, { "x", "a", 1 }, { "y", "a", 2 } },
		{ "l2", 18, 1, { "x", "b", 1 }, { "y", "b", 2 } },
	};
	static const struct lab_link_spec unknown[] = {
		{ "l1", 18, 1, { "x", "a", 1 }, { "z", "a", 2 } },
	};
	static const struct lab_link_spec longif[] = {
		{ "l1", 18, 1, { "x", "a-very-long-name", 1 }, { "y", "a", 2 } },
	};
	static const struct lab_link_spec sameif[] = {
		{ "l1", 18, 1, { "x", "a", 1 }, { "y", "a", 2 } },
		{ "l2", 18, 2, { "x", "a", 1 }, { "y", "b", 2 } },
	};
	const struct lab_link_spec *bad[] = { twice, unknown, longif, sameif };
	size_t nbad[] = { 2, 1, 1, 2 };
	struct lab_plan p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lab_topology t = { .name = "bad", .nodes = nodes, .n_nodes = 2,
					  .links = bad[i], .n_links = nbad[i] };
		assert_int_equal(lab_plan_compute(&t, &p), -EINVAL);
	}
}

static void test_addresses(void **state)
{
	char a[LAB_ADDR_LEN];

	lab_fmt_host(a, LAB_V4, 18, 101, 2, 24);
	assert_string_equal(a, "198.18.101.2/24");
	lab_fmt_host(a, LAB_V6, 18, 101, 2, 64);
	assert_string_equal(a, "2001:db8:18:101::2/64");
	lab_fmt_host(a, LAB_V6, 19, 0, 1, 0);
	assert_string_equal(a, "2001:db8:19::1");
	lab_fmt_net(a, LAB_V6, 19, 0);
	assert_string_equal(a, "2001:db8:19::/64");
	lab_fmt_net(a, LAB_V4, 19, 2);
	assert_string_equal(a, "198.19.2.0/24");
}

/* ---- commands ------------------------------------------------------------ */

static void test_command(void **state)
{
	char out[64];
	const char *ok[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	const char *bad[] = { "sh", "-c", "echo why >&2; exit 3", NULL };
	const char *missing[] = { "simreg-no-such-program", NULL };

	assert_int_equal(lab_cmd_run(ok, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "out\n");
	assert_int_equal(lab_cmd_run(bad, LAB_CMD_QUIET, NULL, 0), -EIO);
	assert_int_equal(lab_cmd_run(missing, LAB_CMD_QUIET, NULL, 0), -ENOENT);
	lab_cmd_format(bad, out, sizeof(out));
	assert_string_equal(out, "sh -c echo why >&2; exit 3");
}

/* ---- supervisor ---------------------------------------------------------- */

static char dir[] = "/tmp/simreg-test-lab-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int start(const char *script, const char *ready, int timeout_ms, struct lab_proc *p)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	char log[128];
	struct lab_proc_spec spec = {
		.name = "t", .argv = argv, .log_path = log, .ready = ready,
		.ready_timeout_ms = timeout_ms,
	};

	snprintf(log, sizeof(log), "%s/t.log", dir);
	return lab_proc_start(&spec, p);
}

/* A process that never exits on its own and never reads stdin. */
#define FOREVER "exec tail -f /dev/null"

static void test_ready_and_stop(void **state)
{
	struct lab_proc p;

	assert_int_equal(start("echo starting; echo 'now ready'; " FOREVER, "ready", 5000, &p), 0);
	assert_true(p.pid > 0);
	assert_true(p.start_time > 0);
	assert_true(lab_proc_alive(&p));
	assert_int_equal(lab_proc_stop(&p, SIGTERM, 5000), LAB_STOP_EXITED);
	assert_false(lab_proc_alive(&p));
	assert_int_equal(lab_proc_stop(&p, SIGTERM, 5000), LAB_STOP_GONE);
}

static void test_ready_timeout(void **state)
{
	struct lab_proc p;
	char log[128];

	assert_int_equal(start("echo warming up; " FOREVER, "ready", 300, &p), -ETIMEDOUT);
	/* The supervisor stopped what it started. */
	assert_int_equal(p.pid, 0);
	snprintf(log, sizeof(log), "%s/t.log", dir);
	assert_int_equal(lab_wait_for_text(log, "warming up", 0, 0, NULL), 0);
	assert_int_equal(lab_wait_for_text(log, "ready", 0, 50, NULL), -ETIMEDOUT);
}

static void test_early_death(void **state)
{
	struct lab_proc p;

	assert_int_equal(start("echo 'bad config' >&2; exit 3", "ready", 5000, &p), -ECHILD);
	assert_int_equal(p.pid, 0);
	/* ... and a process that prints the text as its last words counts. */
	assert_int_equal(start("echo ready", "ready", 5000, &p), 0);
	assert_int_equal(lab_proc_stop(&p, SIGTERM, 1000), LAB_STOP_GONE);
}

static void test_stubborn(void **state)
{
	struct lab_proc p;

	/* An ignored SIGTERM is inherited through exec. */
	assert_int_equal(start("trap '' TERM; echo ready; " FOREVER, "ready", 5000, &p), 0);
	assert_int_equal(lab_proc_stop(&p, SIGTERM, 200), LAB_STOP_KILLED);
	assert_false(lab_proc_alive(&p));
}

static void test_recycled_pid(void **state)
{
	struct lab_proc p, other;

	assert_int_equal(start("echo ready; " FOREVER, "ready", 5000, &p), 0);
	/* Same pid, another start time: a different process; leave it alone. */
	other = p;
	other.start_time = p.start_time + 1;
	assert_false(lab_proc_alive(&other));
	assert_int_equal(lab_proc_stop(&other, SIGKILL, 100), LAB_STOP_GONE);
	assert_true(lab_proc_alive(&p));
	assert_int_equal(lab_proc_stop(&p, SIGTERM, 5000), LAB_STOP_EXITED);
}

static void test_missing_program(void **state)
{
	const char *argv[] = { "simreg-no-such-program", NULL };
	char log[128];
	struct lab_proc p;
	struct lab_proc_spec spec = {
		.name = "t", .argv = argv, .log_path = log, .ready = "ready",
		.ready_timeout_ms = 1000,
	};

	snprintf(log, sizeof(log), "%s/t.log", dir);
	assert_int_equal(lab_proc_start(&spec, &p), -ENOENT);
}

static void test_cancel(void **state)
{
	static volatile sig_atomic_t cancel = 1;
	const char *argv[] = { "sh", "-c", FOREVER, NULL };
	char log[128];
	struct lab_proc p;
	struct lab_proc_spec spec = {
		.name = "t", .argv = argv, .log_path = log, .ready = "ready",
		.ready_timeout_ms = 60000, .cancel = &cancel,
	};

	snprintf(log, sizeof(log), "%s/t.log", dir);
	assert_int_equal(lab_proc_start(&spec, &p), -EINTR);
	assert_int_equal(p.pid, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_bad_tables),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_ready_and_stop),
		cmocka_unit_test(test_ready_timeout),
		cmocka_unit_test(test_early_death),
		cmocka_unit_test(test_stubborn),
		cmocka_unit_test(test_recycled_pid),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
