/* A program built on the public header alone and linked against
 * libustack.so (not the static library): two stacks on a pipe link
 * resolve each other and exchange a fragmented UDP datagram. It proves
 * that the shared library's exports (us_* only) are enough to use
 * ustack. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ustack.h"

static struct us_stack *make(struct us_dev *d, const char *ip)
{
	struct us_config c;

	us_config_init(&c);
	c.dev = d;
	c.ip = inet_addr(ip);
	c.prefix_len = 24;
	c.seed = 7;
	return us_stack_create(&c);
}

static int udp_on(struct us_stack *st, const char *ip, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	int fd = us_socket(st, AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = inet_addr(ip);
	assert_true(fd >= 0);
	assert_int_equal(us_bind(st, fd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	assert_int_equal(us_fcntl(st, fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void test_udp_through_the_shared_library(void **state)
{
	static uint8_t out[8000], in[9000];
	struct us_dev *da, *db;
	struct us_stack *a, *b;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(7)};
	ssize_t n = -1;

	(void)state;
	assert_int_equal(us_pipe_create(&da, &db), 0);
	a = make(da, "10.0.0.1");
	b = make(db, "10.0.0.2");
	assert_non_null(a);
	assert_non_null(b);
	int fa = udp_on(a, "10.0.0.1", 5000), fb = udp_on(b, "10.0.0.2", 7);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 31 + 7);
	to.sin_addr.s_addr = inet_addr("10.0.0.2");
	assert_int_equal(us_sendto(a, fa, out, sizeof(out), 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(out));
	/* ARP request, reply, then six fragments: a few turns of each
	 * stack; the bound only stops a broken build from spinning. */
	for (int turn = 0; turn < 1000 && n < 0; turn++) {
		us_stack_poll(a, 0);
		us_stack_poll(b, 0);
		n = us_recv(b, fb, in, sizeof(in), 0);
		if (n < 0)
			assert_int_equal(errno, EAGAIN);
	}
	assert_int_equal(n, (ssize_t)sizeof(out));
	assert_memory_equal(in, out, sizeof(out));
	assert_true(us_stat_byname(b, "frag_reassembled") >= 1);
	assert_true(us_stat_byname(a, "arp_tx_request") >= 1);
	us_close(a, fa);
	us_close(b, fb);
	us_stack_destroy(a);
	us_stack_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_through_the_shared_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
