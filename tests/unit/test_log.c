/* Logging with levels: a message is written to stderr when its level is
 * at or below the stack's cfg.log_level (error < warn < info < debug),
 * with the level's name; below 0 the stack is silent. Checked on what
 * the stack itself says (an address conflict is a warning, a bad MTU an
 * error) and on the level macros directly. stderr is redirected to a
 * file for each check. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stack.h"
#include "dev/dev.h"
#include "net/eth.h"
#include "ustack.h"
#include "wire/arp.h"
#include "wire/eth.h"

#define IP_US 0x0a000002u /* host order: 10.0.0.2 */

struct capture {
	int saved;
	FILE *f;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

/* Stop capturing; the text written meanwhile (static buffer). */
static const char *capture_end(struct capture *c)
{
	static char buf[8192];
	size_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->f);
	n = fread(buf, 1, sizeof(buf) - 1, c->f);
	buf[n] = 0;
	fclose(c->f);
	return buf;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static struct us_vclock clk = {.now_ns = 1000 * US_NS_PER_S};

static struct us_stack *make_stack(int level, uint32_t mtu, struct us_dev **far)
{
	struct us_dev *a, *b;
	struct us_config c;
	struct us_stack *st;

	assert_int_equal(us_pipe_create(&a, &b), 0);
	us_config_init(&c);
	c.dev = a;
	c.ip = htonl(IP_US);
	c.prefix_len = 24;
	c.clock_now = vclock_now;
	c.clock_arg = &clk;
	c.seed = 1;
	c.no_garp = 1;
	c.mtu = mtu;
	c.log_level = level;
	st = us_stack_create(&c);
	if (!st)
		dev_close(b);
	else
		*far = b;
	return st;
}

/* An ARP reply from another host that claims our address (RFC 5227 2.4):
 * the stack warns. */
static void claim_our_address(struct us_stack *st)
{
	static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x99};
	struct us_pbuf *p = pbuf_alloc(&st->pool, ETH_HDR_LEN + ARP_PKT_LEN, 0);
	struct eth_hdr e;
	struct arp_pkt a;

	assert_non_null(p);
	memcpy(e.dst, st->mac, 6);
	memcpy(e.src, other, 6);
	e.type = ETH_P_ARPT;
	eth_emit(p->data, &e);
	arp_pkt_set(&a, ARP_OP_REPLY, other, st->ip, st->mac, st->ip);
	arp_emit(p->data + ETH_HDR_LEN, &a);
	p->len = ETH_HDR_LEN + ARP_PKT_LEN;
	eth_input(st, p);
}

static void test_default_level_is_warn(void **state)
{
	struct us_config c;

	(void)state;
	us_config_init(&c);
	assert_int_equal(c.log_level, US_LOG_WARN);
}

/* The same event at each level: said from WARN up, not at ERROR or
 * below 0. */
static void test_warning_follows_level(void **state)
{
	static const struct {
		int level;
		bool said;
	} cases[] = {
	    {-1, false},	 {US_LOG_ERROR, false}, {US_LOG_WARN, true},
	    {US_LOG_INFO, true}, {US_LOG_DEBUG, true},
	};

	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(cases); i++) {
		struct us_dev *far;
		struct us_stack *st = make_stack(cases[i].level, 0, &far);
		struct capture cap;
		const char *out;

		assert_non_null(st);
		capture_start(&cap);
		claim_our_address(st);
		out = capture_end(&cap);
		assert_int_equal(us_stat_byname(st, "arp_drop_conflict"), 1);
		if (cases[i].said) {
			assert_non_null(strstr(out, "warn: "));
			assert_non_null(strstr(out, "another host claims our "
						    "address"));
			assert_int_equal(lines(out), 1);
		} else if (*out) {
			fail_msg("level %d: unexpected output '%s'",
				 cases[i].level, out);
		}
		us_stack_destroy(st);
		dev_close(far);
	}
}

/* An error is said at every level from ERROR up, and the stack creation
 * fails with EINVAL. */
static void test_error_said_unless_silent(void **state)
{
	struct capture cap;
	struct us_dev *far = NULL;
	const char *out;

	(void)state;
	capture_start(&cap);
	assert_null(make_stack(US_LOG_ERROR, 100, &far));
	out = capture_end(&cap);
	assert_non_null(strstr(out, "error: "));
	assert_non_null(strstr(out, "MTU 100 out of range"));
	assert_int_equal(lines(out), 1);

	capture_start(&cap);
	assert_null(make_stack(-1, 100, &far));
	out = capture_end(&cap);
	assert_string_equal(out, "");
}

/* Each macro writes at its own level: at INFO, info and above are
 * written, debug is not; each line names its level and carries the
 * stack's clock. */
static void test_macros_by_level(void **state)
{
	struct us_dev *far;
	struct us_stack *st = make_stack(US_LOG_INFO, 0, &far);
	struct capture cap;
	const char *out;

	(void)state;
	assert_non_null(st);
	capture_start(&cap);
	us_err(st, "e%d", 1);
	us_warn(st, "w%d", 2);
	us_info(st, "i%d", 3);
	us_dbg(st, "d%d", 4);
	out = capture_end(&cap);
	assert_int_equal(lines(out), 3);
	assert_non_null(strstr(out, "ustack[1000.000] error: e1\n"));
	assert_non_null(strstr(out, "ustack[1000.000] warn: w2\n"));
	assert_non_null(strstr(out, "ustack[1000.000] info: i3\n"));
	assert_null(strstr(out, "d4"));
	us_stack_destroy(st);
	dev_close(far);
}

/* A host repeating the conflict at line rate: every packet is counted,
 * but the warning is said at most once a second, with the count so far,
 * so the network cannot flood stderr (or block the stack on a full
 * pipe). */
static void test_conflict_warning_rate_limited(void **state)
{
	struct us_dev *far;
	struct us_stack *st = make_stack(US_LOG_WARN, 0, &far);
	uint64_t t0 = clk.now_ns;
	struct capture cap;
	const char *out;

	(void)state;
	assert_non_null(st);
	capture_start(&cap);
	for (int i = 0; i < 1000; i++)
		claim_our_address(st);
	out = capture_end(&cap);
	assert_int_equal(us_stat_byname(st, "arp_drop_conflict"), 1000);
	assert_int_equal(lines(out), 1);
	assert_non_null(strstr(out, "another host claims our address (1 "));

	/* Just under a second later: still quiet. */
	clk.now_ns = t0 + US_NS_PER_S - 1;
	us_stack_now(st);
	capture_start(&cap);
	claim_our_address(st);
	out = capture_end(&cap);
	assert_string_equal(out, "");

	/* A second on: said again, with the count. */
	clk.now_ns = t0 + US_NS_PER_S;
	us_stack_now(st);
	capture_start(&cap);
	claim_our_address(st);
	claim_our_address(st);
	out = capture_end(&cap);
	assert_int_equal(lines(out), 1);
	assert_non_null(strstr(out, "(1002 ARP packets so far)"));
	assert_int_equal(us_stat_byname(st, "arp_drop_conflict"), 1003);
	us_stack_destroy(st);
	dev_close(far);
	clk.now_ns = t0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_level_is_warn),
	    cmocka_unit_test(test_warning_follows_level),
	    cmocka_unit_test(test_error_said_unless_silent),
	    cmocka_unit_test(test_macros_by_level),
	    cmocka_unit_test(test_conflict_warning_rate_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
