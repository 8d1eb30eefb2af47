/* cfg.impair: a stack wraps its own device in the impair wrapper (what the
 * programs' --drop-data and --loss use on a tap or afpacket device). The
 * wrapper sits outside the cfg.pcap_file capture, so a frame it drops is
 * neither delivered nor in the capture; the peer's frames are captured as
 * usual; us_impair_stats on us_stack_dev counts the drops; bad parameters
 * make us_stack_create fail with EINVAL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "sim/sim.h"

#define PORT_B 6000
#define NSEND 6

struct tweak {
	const struct us_impair *imp;
	const char *pcap;
};

static void tweak_a(struct us_config *cfg, int side, void *arg)
{
	struct tweak *t = arg;
	if (side == 0) {
		cfg->impair = t->imp;
		cfg->pcap_file = t->pcap;
	}
}

/* UDP frames in a pcap file sent to port `dport`: their first payload
 * bytes (the datagram's number) into tags, in order; returns how many. */
static int udp_tags(const char *path, uint16_t dport, uint8_t *tags, int max)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *f;
	int n = 0;

	assert_non_null(pc);
	while (pcap_next_ex(pc, &h, &f) == 1) {
		/* Ethernet, IPv4 without options, UDP. */
		if (h->caplen < 14 + 20 + 8 + 1 || f[12] != 0x08 ||
		    f[13] != 0x00 || f[14 + 9] != IPPROTO_UDP)
			continue;
		if ((f[14 + 20 + 2] << 8 | f[14 + 20 + 3]) != dport)
			continue;
		if (n < max)
			tags[n] = f[14 + 20 + 8];
		n++;
	}
	pcap_close(pc);
	return n;
}

static void test_drops_not_captured(void **state)
{
	/* UDP datagrams 2 and 5 of what A sends are dropped. */
	static const uint32_t drops[] = {2, 5};
	struct us_impair imp = {
	    .drop_class = US_IMPAIR_UDP, .drop_list = drops, .drop_count = 2};
	char path[] = "/tmp/ust-cfg-impair-XXXXXX";
	int tmp = mkstemp(path);
	struct tweak t = {&imp, path};
	struct sim_opts o = {.tweak = tweak_a, .tweak_arg = &t};
	struct us_impair_stats is;
	struct sim s;
	uint8_t got[NSEND], tags[16];
	int fa, fb, n = 0;
	(void)state;

	assert_true(tmp >= 0);
	close(tmp);
	assert_int_equal(sim_init(&s, &o), 0);
	fa = sim_udp(s.a, 0, false);
	fb = sim_udp(s.b, PORT_B, false);
	assert_true(fa >= 0 && fb >= 0);
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B);
	for (uint8_t i = 1; i <= NSEND; i++) {
		assert_int_equal(us_sendto(s.a, fa, &i, 1, 0,
					   (struct sockaddr *)&to, sizeof(to)),
				 1);
		sim_run(&s, 50 * SIM_MS);
	}
	for (;;) {
		uint8_t b;
		if (us_recv(s.b, fb, &b, 1, MSG_DONTWAIT) != 1)
			break;
		assert_true(n < NSEND);
		got[n++] = b;
	}
	/* Delivered: 1, 3, 4, 6. */
	assert_int_equal(n, 4);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 3);
	assert_int_equal(got[2], 4);
	assert_int_equal(got[3], 6);
	assert_int_equal(us_impair_stats(us_stack_dev(s.a), &is), 0);
	assert_int_equal(is.exact, 2);
	assert_int_equal(us_impair_dropped(us_stack_dev(s.a)), 2);
	/* B has no wrapper. */
	assert_int_equal(us_impair_stats(us_stack_dev(s.b), &is), -1);
	assert_int_equal(errno, EINVAL);
	us_close(s.a, fa);
	us_close(s.b, fb);
	sim_fini(&s); /* closes the capture file */

	/* The capture holds what left: the same four, not the dropped two. */
	assert_int_equal(udp_tags(path, PORT_B, tags, 16), 4);
	assert_int_equal(tags[0], 1);
	assert_int_equal(tags[1], 3);
	assert_int_equal(tags[2], 4);
	assert_int_equal(tags[3], 6);
	unlink(path);
}

static void test_bad_params(void **state)
{
	struct us_impair imp = {.loss = 1.5};
	struct us_config cfg;
	struct us_dev *a, *b;
	struct us_stack *st;
	(void)state;

	assert_int_equal(us_pipe_create(&a, &b), 0);
	us_config_init(&cfg);
	cfg.dev = a; /* the stack owns it, made or not */
	cfg.ip = sim_ip(SIM_IP_A);
	cfg.prefix_len = 24;
	cfg.no_garp = 1;
	cfg.impair = &imp;
	errno = 0;
	assert_null(us_stack_create(&cfg));
	assert_int_equal(errno, EINVAL);
	/* The other end still makes a stack (and is freed with it). */
	cfg.dev = b;
	cfg.impair = NULL;
	st = us_stack_create(&cfg);
	assert_non_null(st);
	us_stack_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drops_not_captured),
	    cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
