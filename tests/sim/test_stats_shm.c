/* The statistics segment (us_stack_publish_stats) read the way
 * ustack-stat reads it (apps/ustack-stat/shm_read.c, built in): the
 * layout is self-describing (counter and state names), the counters match
 * the stack's, a TCP connection between two stacks on a pipe link shows
 * up ESTABLISHED with its addresses, snapshots follow the stack's timer,
 * a live name cannot be taken twice, bad arguments are refused, and the
 * segment is removed when publishing stops or the stack goes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "ustack-stat/shm_read.h"

static char g_name[64];

static bool seg_exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/ustack-%s", name);
	return access(path, F_OK) == 0;
}

struct conn_wait {
	int fd;
};

static bool connected(struct sim *s, void *arg)
{
	struct conn_wait *w = arg;
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	return us_getpeername(s->a, w->fd, (struct sockaddr *)&peer, &len) == 0;
}

static const struct us_shm_conn *find_conn(const struct shm_snap *sn,
					   uint16_t lport, uint16_t rport)
{
	for (uint32_t i = 0; i < sn->hdr.conn_count; i++)
		if (sn->conns[i].lport == lport && sn->conns[i].rport == rport)
			return &sn->conns[i];
	return NULL;
}

static void test_publish_and_read(void **state)
{
	struct sim s;
	struct shm_seg seg;
	struct shm_snap sn;
	(void)state;

	assert_int_equal(sim_init(&s, NULL), 0);
	assert_int_equal(us_stack_publish_stats(s.a, g_name, 10), 0);
	assert_true(seg_exists(g_name));
	assert_int_equal(shm_seg_open(&seg, g_name), 0);
	assert_int_equal(shm_snapshot(&seg, &sn), 0);

	/* Who publishes, and the names that make the segment readable by a
	 * reader of another build. */
	assert_int_equal(sn.hdr.pid, getpid());
	assert_int_equal(sn.hdr.ip, sim_ip(SIM_IP_A));
	assert_int_equal(sn.hdr.prefix_len, 24);
	assert_int_equal(sn.hdr.interval_ms, 10);
	assert_int_equal(sn.hdr.nstats, (uint32_t)us_stat_count());
	for (int i = 0; i < us_stat_count(); i++)
		assert_string_equal(shm_stat_name(&sn, (uint32_t)i),
				    us_stat_name(i));
	assert_string_equal(sn.hdr.state_names[4], "ESTABLISHED");
	assert_string_equal(sn.hdr.state_names[1], "LISTEN");
	assert_int_equal(sn.hdr.conn_max, 65536);
	assert_int_equal(sn.hdr.truncated, 0);
	uint64_t updates0 = sn.hdr.updates;
	shm_snap_free(&sn);

	/* A connection from A to a listener on B. */
	int l = us_socket(s.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = sim_sin("0.0.0.0", 5000);
	assert_int_equal(us_bind(s.b, l, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	assert_int_equal(us_listen(s.b, l, 8), 0);
	struct conn_wait w = {
	    .fd = us_socket(s.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)};
	struct sockaddr_in to = sim_sin(SIM_IP_B, 5000);
	assert_int_equal(
	    us_connect(s.a, w.fd, (struct sockaddr *)&to, sizeof(to)), -1);
	assert_int_equal(errno, EINPROGRESS);
	assert_true(sim_run_until(&s, connected, &w, 5 * SIM_S));
	struct sockaddr_in me;
	socklen_t mlen = sizeof(me);
	assert_int_equal(
	    us_getsockname(s.a, w.fd, (struct sockaddr *)&me, &mlen), 0);
	/* Enough virtual time for a few snapshots. */
	sim_run(&s, 55 * SIM_MS);

	assert_int_equal(shm_snapshot(&seg, &sn), 0);
	assert_true(sn.hdr.updates >= updates0 + 4);
	const struct us_shm_conn *c = find_conn(&sn, ntohs(me.sin_port), 5000);
	assert_non_null(c);
	assert_string_equal(sn.hdr.state_names[c->state], "ESTABLISHED");
	assert_int_equal(c->flags, 0);
	assert_memory_equal(c->laddr + 12, &me.sin_addr.s_addr, 4);
	uint32_t b_ip = sim_ip(SIM_IP_B);
	assert_memory_equal(c->raddr + 12, &b_ip, 4);
	assert_true(c->mss > 0);
	assert_true(c->cwnd > 0);
	/* The counters are the stack's (nothing moved since the snapshot:
	 * the sim stood still). */
	for (uint32_t i = 0; i < sn.hdr.nstats; i++)
		assert_int_equal(sn.stats[i], us_stat_get(s.a, (int)i));
	assert_int_equal(us_stat_byname(s.a, "tcp_active_opens"), 1);
	shm_snap_free(&sn);

	/* A live name is not taken twice. */
	assert_int_equal(us_stack_publish_stats(s.b, g_name, 10), -1);
	assert_int_equal(errno, EEXIST);

	/* Stopping removes the segment; a reader's mapping stays valid. */
	assert_int_equal(us_stack_publish_stats(s.a, NULL, 0), 0);
	assert_false(seg_exists(g_name));
	assert_int_equal(shm_snapshot(&seg, &sn), 0);
	shm_snap_free(&sn);
	shm_seg_close(&seg);

	/* And so does destroying the stack. */
	assert_int_equal(us_stack_publish_stats(s.b, g_name, 0), 0);
	assert_true(seg_exists(g_name));
	us_close(s.a, w.fd);
	us_close(s.b, l);
	sim_fini(&s);
	assert_false(seg_exists(g_name));
}

static void test_bad_arguments(void **state)
{
	struct sim s;
	(void)state;

	assert_int_equal(sim_init(&s, NULL), 0);
	char long_name[66];
	memset(long_name, 'x', 65);
	long_name[65] = 0; /* one over the limit */
	const char *bad[] = {"", "../x", "a/b", ".hidden", "sp ace", long_name};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(us_stack_publish_stats(s.a, bad[i], 0), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(us_stack_publish_stats(s.a, g_name, 5), -1);
	assert_int_equal(errno, EINVAL);
	assert_false(seg_exists(g_name));
	/* Stopping what was never started is fine. */
	assert_int_equal(us_stack_publish_stats(s.a, NULL, 0), 0);
	sim_fini(&s);
}

static void test_leftover_taken_over(void **state)
{
	struct sim s;
	struct shm_seg seg;
	struct shm_snap sn;
	char path[128];
	(void)state;

	/* A segment left by a process that is gone (pid 0 never runs). */
	snprintf(path, sizeof(path), "/ustack-%s", g_name);
	int fd = shm_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	struct us_shm_hdr h = {.magic = US_SHM_MAGIC, .pid = 0};
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);

	assert_int_equal(sim_init(&s, NULL), 0);
	assert_int_equal(us_stack_publish_stats(s.a, g_name, 0), 0);
	assert_int_equal(shm_seg_open(&seg, g_name), 0);
	assert_int_equal(shm_snapshot(&seg, &sn), 0);
	assert_int_equal(sn.hdr.pid, getpid());
	assert_int_equal(sn.hdr.interval_ms, 200); /* 0: the default */
	shm_snap_free(&sn);
	shm_seg_close(&seg);
	sim_fini(&s);
	assert_false(seg_exists(g_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_publish_and_read),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_leftover_taken_over),
	};
	snprintf(g_name, sizeof(g_name), "ust-simtest-%d", (int)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
