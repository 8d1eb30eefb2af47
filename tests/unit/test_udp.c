/* UDP and the socket calls, one behaviour at a time: the wire header and
 * checksum, input validation (each drop its counter), and every misuse of
 * the socket API answered with the errno a POSIX program expects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/time.h>

#include "sim/sim.h"
#include "core/stack.h"
#include "net/ip4.h"
#include "sock/sock.h"
#include "wire/udp.h"

#define ERRNO(call, e)                                                   \
	do {                                                             \
		errno = 0;                                               \
		assert_int_equal((call), -1);                            \
		assert_int_equal(errno, (e));                            \
	} while (0)

/* A reference checksum: 16-bit big-endian words, RFC 1071 as written. */
static uint16_t ref_csum(uint32_t src, uint32_t dst, const uint8_t *u,
			 uint32_t len)
{
	uint32_t sum = 0;
	const uint8_t *s = (const uint8_t *)&src, *d = (const uint8_t *)&dst;

	sum += (uint32_t)(s[0] << 8 | s[1]) + (uint32_t)(s[2] << 8 | s[3]);
	sum += (uint32_t)(d[0] << 8 | d[1]) + (uint32_t)(d[2] << 8 | d[3]);
	sum += 17 + len;
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(u[i] << 8 | u[i + 1]);
	if (len & 1)
		sum += (uint32_t)u[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void test_wire_roundtrip(void **state)
{
	uint8_t b[8];
	struct udp_hdr h = {.sport = 1234, .dport = 53, .len = 20, .csum = 0};
	struct udp_hdr g;

	(void)state;
	udp_emit(b, &h);
	assert_memory_equal(b, "\x04\xd2\x00\x35\x00\x14\x00\x00", 8);
	assert_int_equal(udp_parse(b, 8, &g), 0);
	assert_int_equal(g.sport, 1234);
	assert_int_equal(g.dport, 53);
	assert_int_equal(g.len, 20);
	assert_int_equal(udp_parse(b, 7, &g), -EINVAL);
}

static void test_wire_csum(void **state)
{
	uint8_t d[64];
	uint32_t src = sim_ip("192.168.1.10"), dst = sim_ip("10.20.30.40");

	(void)state;
	for (uint32_t len = 8; len <= sizeof(d); len++) {
		for (uint32_t i = 0; i < len; i++)
			d[i] = (uint8_t)(i * 37 + len);
		wr16(d + 4, (uint16_t)len);
		d[6] = d[7] = 0;
		uint16_t want = ref_csum(src, dst, d, len);
		udp_fill_csum4(src, dst, d, len);
		assert_int_equal(rd16(d + 6), want ? want : 0xffff);
		assert_int_equal(udp_csum4(src, dst, d, len), 0);
	}
	/* RFC 768: a sum that computes to 0 goes out as 0xffff, and still
	 * verifies. Find a payload whose sum is 0. */
	memset(d, 0, 10);
	wr16(d + 4, 10);
	for (uint32_t v = 0; v <= 0xffff; v++) {
		wr16(d + 8, (uint16_t)v);
		d[6] = d[7] = 0;
		if (udp_csum4(src, dst, d, 10) != 0)
			continue;
		udp_fill_csum4(src, dst, d, 10);
		assert_int_equal(rd16(d + 6), 0xffff);
		assert_int_equal(udp_csum4(src, dst, d, 10), 0);
		return;
	}
	fail_msg("no payload with a zero checksum");
}

static int setup(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s || sim_init(s, NULL) < 0)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct sim *s = *state;
	sim_fini(s);
	free(s);
	return 0;
}

/* Hand B an IPv4 packet as if it came off the wire: A's address to B's,
 * UDP with the given ports, declared length and checksum treatment. */
enum csum_mode { CSUM_GOOD, CSUM_BAD, CSUM_NONE };
static void inject(struct sim *s, uint16_t sport, uint16_t dport,
		   const void *payload, uint32_t plen, int32_t len_delta,
		   uint32_t ip_extra, enum csum_mode cm)
{
	struct us_stack *st = s->b;
	uint32_t ulen = 8 + plen, ip_len = 20 + ulen + ip_extra;
	struct us_pbuf *p = pbuf_alloc(&st->pool, ip_len, 0);
	uint8_t *ip, *u;

	assert_non_null(p);
	p->len = ip_len;
	ip = p->data;
	memset(ip, 0, ip_len);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)ip_len);
	ip[8] = 64;
	ip[9] = 17;
	wraddr(ip + 12, sim_ip(SIM_IP_A));
	wraddr(ip + 16, sim_ip(SIM_IP_B));
	uint16_t c = csum(ip, 20);
	memcpy(ip + 10, &c, 2);
	u = ip + 20;
	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)((int32_t)ulen + len_delta));
	if (plen)
		memcpy(u + 8, payload, plen);
	if (cm != CSUM_NONE) {
		/* Over what the length field claims (when that fits). */
		uint32_t covered = (uint32_t)((int32_t)ulen + len_delta);
		if (covered > ulen + ip_extra)
			covered = ulen;
		udp_fill_csum4(sim_ip(SIM_IP_A), sim_ip(SIM_IP_B), u, covered);
		if (cm == CSUM_BAD)
			u[6] ^= 0x40;
	}
	ip4_input(st, p);
}

static void test_input_validation(void **state)
{
	struct sim *s = *state;
	struct us_stack *b = s->b;
	int fd = sim_udp(b, 4000, false);
	uint8_t r[64];

	inject(s, 1, 4000, "hello", 5, 0, 0, CSUM_GOOD);
	assert_int_equal(us_recv(b, fd, r, sizeof(r), 0), 5);
	assert_memory_equal(r, "hello", 5);

	/* No checksum: allowed over IPv4. */
	inject(s, 1, 4000, "nosum", 5, 0, 0, CSUM_NONE);
	assert_int_equal(us_recv(b, fd, r, sizeof(r), 0), 5);

	inject(s, 1, 4000, "bad", 3, 0, 0, CSUM_BAD);
	ERRNO(us_recv(b, fd, r, sizeof(r), 0), EAGAIN);
	assert_int_equal(sim_stat(b, "udp_drop_csum"), 1);

	/* The length field claims more than the IP payload holds. */
	inject(s, 1, 4000, "long", 4, 1, 0, CSUM_GOOD);
	ERRNO(us_recv(b, fd, r, sizeof(r), 0), EAGAIN);
	assert_int_equal(sim_stat(b, "udp_drop_len"), 1);
	/* ... or less than a header. */
	inject(s, 1, 4000, "x", 1, -2, 0, CSUM_NONE);
	assert_int_equal(sim_stat(b, "udp_drop_len"), 2);

	/* The IP payload is longer than the UDP length: trimmed to it. */
	inject(s, 1, 4000, "trim-me", 7, -3, 0, CSUM_GOOD);
	assert_int_equal(us_recv(b, fd, r, sizeof(r), 0), 4);
	assert_memory_equal(r, "trim", 4);
	inject(s, 1, 4000, "pad", 3, 0, 6, CSUM_GOOD);
	assert_int_equal(us_recv(b, fd, r, sizeof(r), 0), 3);

	/* Closed port: dropped, counted, answered with port unreachable. */
	uint64_t unreach = sim_stat(b, "icmp_unreach_tx");
	inject(s, 1, 4001, "closed", 6, 0, 0, CSUM_GOOD);
	assert_int_equal(sim_stat(b, "udp_drop_no_port"), 1);
	assert_int_equal(sim_stat(b, "icmp_unreach_tx"), unreach + 1);
	assert_int_equal(sim_stat(b, "udp_rx"), 8);
}

static void test_input_short(void **state)
{
	struct sim *s = *state;
	struct us_stack *st = s->b;
	struct us_pbuf *p = pbuf_alloc(&st->pool, 24, 0);

	/* An IP packet whose payload (4 bytes) cannot hold a UDP header. */
	memset(p->data, 0, 24);
	p->len = 24;
	p->data[0] = 0x45;
	wr16(p->data + 2, 24);
	p->data[8] = 64;
	p->data[9] = 17;
	wraddr(p->data + 12, sim_ip(SIM_IP_A));
	wraddr(p->data + 16, sim_ip(SIM_IP_B));
	uint16_t c = csum(p->data, 20);
	memcpy(p->data + 10, &c, 2);
	ip4_input(st, p);
	assert_int_equal(sim_stat(st, "udp_drop_short"), 1);
}

static void test_rcvbuf_bound(void **state)
{
	struct sim *s = *state;
	struct us_stack *b = s->b;
	int fd = sim_udp(b, 4000, false), v = 1;
	uint8_t r[16];
	socklen_t len = sizeof(v);

	/* The smallest buffer still takes one datagram. */
	assert_int_equal(
		us_setsockopt(b, fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
	assert_int_equal(
		us_getsockopt(b, fd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	assert_int_equal(v, SOCK_RCVBUF_MIN);
	inject(s, 1, 4000, "one", 3, 0, 0, CSUM_GOOD);
	inject(s, 1, 4000, "two", 3, 0, 0, CSUM_GOOD);
	assert_int_equal(sim_stat(b, "udp_drop_rcvbuf"), 1);
	assert_int_equal(us_recv(b, fd, r, sizeof(r), 0), 3);
	assert_memory_equal(r, "one", 3);
	ERRNO(us_recv(b, fd, r, sizeof(r), 0), EAGAIN);

	/* The default holds many small datagrams, bounded by truesize. */
	int fd2 = sim_udp(b, 4002, false);
	for (int i = 0; i < 1000; i++)
		inject(s, 1, 4002, "x", 1, 0, 0, CSUM_GOOD);
	uint64_t dropped = sim_stat(b, "udp_drop_rcvbuf") - 1;
	assert_true(dropped > 0 && dropped < 1000);
	int got = 0;
	while (us_recv(b, fd2, r, sizeof(r), 0) == 1)
		got++;
	assert_int_equal(got + (int)dropped, 1000);
	assert_true((uint64_t)got * (PBUF_SMALL_SIZE + sizeof(struct us_pbuf)) <=
		    SOCK_RCVBUF_DEFAULT + PBUF_SMALL_SIZE + sizeof(struct us_pbuf));
}

static void test_demux(void **state)
{
	struct sim *s = *state;
	struct us_stack *b = s->b;
	int wild = sim_udp(b, 4000, false);
	int exact = us_socket(b, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int conn = us_socket(b, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in me = sim_sin(SIM_IP_B, 4000);
	struct sockaddr_in peer = sim_sin(SIM_IP_A, 9);
	uint8_t r[16];
	int one = 1;

	/* Exact address and wildcard on one port need SO_REUSEADDR on
	 * both (Linux's rule); the wildcard has none yet. */
	ERRNO(us_bind(b, exact, (struct sockaddr *)&me, sizeof(me)),
	      EADDRINUSE);
	assert_int_equal(us_setsockopt(b, wild, SOL_SOCKET, SO_REUSEADDR,
				       &one, sizeof(one)),
			 0);
	assert_int_equal(us_setsockopt(b, exact, SOL_SOCKET, SO_REUSEADDR,
				       &one, sizeof(one)),
			 0);
	assert_int_equal(us_bind(b, exact, (struct sockaddr *)&me, sizeof(me)),
			 0);

	/* The exact address wins over the wildcard. */
	inject(s, 7, 4000, "e", 1, 0, 0, CSUM_GOOD);
	assert_int_equal(us_recv(b, exact, r, sizeof(r), 0), 1);
	ERRNO(us_recv(b, wild, r, sizeof(r), 0), EAGAIN);

	/* A connected socket takes only its peer's datagrams, and those
	 * before anyone else. */
	assert_int_equal(us_setsockopt(b, conn, SOL_SOCKET, SO_REUSEADDR,
				       &one, sizeof(one)),
			 0);
	assert_int_equal(us_bind(b, conn, (struct sockaddr *)&me, sizeof(me)),
			 0);
	assert_int_equal(
		us_connect(b, conn, (struct sockaddr *)&peer, sizeof(peer)), 0);
	inject(s, 9, 4000, "c", 1, 0, 0, CSUM_GOOD);
	inject(s, 8, 4000, "o", 1, 0, 0, CSUM_GOOD);
	assert_int_equal(us_recv(b, conn, r, sizeof(r), 0), 1);
	assert_int_equal(r[0], 'c');
	ERRNO(us_recv(b, conn, r, sizeof(r), 0), EAGAIN);
	assert_int_equal(us_recv(b, exact, r, sizeof(r), 0), 1);
	assert_int_equal(r[0], 'o');
}

static void test_socket_errors(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fd;

	ERRNO(us_socket(a, AF_INET6, SOCK_DGRAM, 0), EAFNOSUPPORT);
	ERRNO(us_socket(a, AF_UNIX, SOCK_DGRAM, 0), EAFNOSUPPORT);
	ERRNO(us_socket(a, AF_INET, SOCK_RAW, 0), ESOCKTNOSUPPORT);
	ERRNO(us_socket(a, AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
	ERRNO(us_socket(a, AF_INET, 999, 0), EINVAL);
	fd = us_socket(a, AF_INET, SOCK_STREAM, 0);
	if (fd < 0) /* until TCP lands */
		assert_int_equal(errno, ESOCKTNOSUPPORT);
	else
		us_close(a, fd);
	fd = us_socket(a, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	assert_true(fd >= 0);
	assert_int_equal(us_close(a, fd), 0);
	ERRNO(us_close(a, fd), EBADF);
	ERRNO(us_close(a, -1), EBADF);
	ERRNO(us_close(a, 123456), EBADF);
}

static void test_fd_table(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fds[4];

	assert_int_equal(sock_table_set_max(a, 4), 0);
	for (int i = 0; i < 4; i++) {
		fds[i] = us_socket(a, AF_INET, SOCK_DGRAM, 0);
		assert_int_equal(fds[i], i); /* lowest free first */
	}
	ERRNO(us_socket(a, AF_INET, SOCK_DGRAM, 0), EMFILE);
	assert_int_equal(us_close(a, fds[1]), 0);
	assert_int_equal(us_socket(a, AF_INET, SOCK_DGRAM, 0), 1);
	ERRNO(us_socket(a, AF_INET, SOCK_DGRAM, 0), EMFILE);
	/* Sockets still open are closed by us_stack_destroy (teardown). */
}

static void test_bind_errors(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int f1 = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	int f2 = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = sim_sin("0.0.0.0", 7000), got;
	struct sockaddr_in6 six;
	socklen_t len = sizeof(got);

	ERRNO(us_bind(a, 99, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
	ERRNO(us_bind(a, f1, (struct sockaddr *)&sin, sizeof(sin) - 1), EINVAL);
	ERRNO(us_bind(a, f1, NULL, sizeof(sin)), EFAULT);
	ERRNO(us_bind(a, f1, NULL, 0), EINVAL);
	memset(&six, 0, sizeof(six));
	six.sin6_family = AF_INET6;
	ERRNO(us_bind(a, f1, (struct sockaddr *)&six, sizeof(six)),
	      EAFNOSUPPORT);
	struct sockaddr_in foreign = sim_sin("10.0.0.77", 7000);
	ERRNO(us_bind(a, f1, (struct sockaddr *)&foreign, sizeof(foreign)),
	      EADDRNOTAVAIL);

	assert_int_equal(us_bind(a, f1, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	ERRNO(us_bind(a, f1, (struct sockaddr *)&sin, sizeof(sin)), EINVAL);
	ERRNO(us_bind(a, f2, (struct sockaddr *)&sin, sizeof(sin)),
	      EADDRINUSE);
	struct sockaddr_in mine = sim_sin(SIM_IP_A, 7000);
	ERRNO(us_bind(a, f2, (struct sockaddr *)&mine, sizeof(mine)),
	      EADDRINUSE);

	/* Port 0: an ephemeral port from the configured range. */
	struct sockaddr_in any0 = sim_sin("0.0.0.0", 0);
	assert_int_equal(
		us_bind(a, f2, (struct sockaddr *)&any0, sizeof(any0)), 0);
	assert_int_equal(
		us_getsockname(a, f2, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(len, sizeof(got));
	assert_true(ntohs(got.sin_port) >= 32768 &&
		    ntohs(got.sin_port) <= 60999);

	/* An unbound socket's name is the wildcard, port 0. */
	int f3 = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	len = sizeof(got);
	assert_int_equal(
		us_getsockname(a, f3, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(got.sin_port, 0);
	assert_int_equal(got.sin_addr.s_addr, 0);
	/* A short buffer gets what fits and the full length. */
	len = 4;
	memset(&got, 0xaa, sizeof(got));
	assert_int_equal(
		us_getsockname(a, f1, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(len, sizeof(got));
	assert_int_equal(got.sin_port, htons(7000));
	assert_int_equal(got.sin_addr.s_addr, 0xaaaaaaaau);
	ERRNO(us_getsockname(a, f1, NULL, &len), EFAULT);
	ERRNO(us_getsockname(a, f1, (struct sockaddr *)&got, NULL), EFAULT);
	ERRNO(us_getpeername(a, f1, (struct sockaddr *)&got, &len), ENOTCONN);
}

static void test_ephemeral_range(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int seen[8] = {0};

	/* A range of 8 ports, from the config: 8 sockets get all 8, the
	 * ninth finds none. */
	a->cfg.port_lo = 40000;
	a->cfg.port_hi = 40007;
	for (int i = 0; i < 8; i++) {
		int fd = sim_udp(a, 0, false);
		struct sockaddr_in got;
		socklen_t len = sizeof(got);
		assert_true(fd >= 0);
		assert_int_equal(
			us_getsockname(a, fd, (struct sockaddr *)&got, &len),
			0);
		int port = ntohs(got.sin_port);
		assert_true(port >= 40000 && port <= 40007);
		assert_int_equal(seen[port - 40000]++, 0);
	}
	int fd = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any0 = sim_sin("0.0.0.0", 0);
	ERRNO(us_bind(a, fd, (struct sockaddr *)&any0, sizeof(any0)),
	      EADDRINUSE);
}

static void test_connect(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fd = us_socket(a, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in peer = sim_sin(SIM_IP_B, 53), got;
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	socklen_t len = sizeof(got);

	ERRNO(us_send(a, fd, "x", 1, 0), EDESTADDRREQ);
	ERRNO(us_connect(a, fd, (struct sockaddr *)&peer, 2 - 1), EINVAL);
	ERRNO(us_connect(a, fd, (struct sockaddr *)&peer, sizeof(peer) - 1),
	      EINVAL);
	struct sockaddr_in off = sim_sin("192.168.99.1", 53);
	ERRNO(us_connect(a, fd, (struct sockaddr *)&off, sizeof(off)),
	      ENETUNREACH);
	struct sockaddr_in bc = sim_sin("10.0.0.255", 53);
	ERRNO(us_connect(a, fd, (struct sockaddr *)&bc, sizeof(bc)), EACCES);

	assert_int_equal(
		us_connect(a, fd, (struct sockaddr *)&peer, sizeof(peer)), 0);
	assert_int_equal(
		us_getpeername(a, fd, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(got.sin_addr.s_addr, sim_ip(SIM_IP_B));
	assert_int_equal(ntohs(got.sin_port), 53);
	/* Connecting bound the socket, with the source address fixed. */
	len = sizeof(got);
	assert_int_equal(
		us_getsockname(a, fd, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(got.sin_addr.s_addr, sim_ip(SIM_IP_A));
	assert_true(got.sin_port != 0);
	assert_int_equal(us_send(a, fd, "x", 1, 0), 1);
	/* Linux allows sendto with an address on a connected socket. */
	struct sockaddr_in other = sim_sin(SIM_IP_B, 54);
	assert_int_equal(us_sendto(a, fd, "y", 1, 0, (struct sockaddr *)&other,
				   sizeof(other)),
			 1);

	/* AF_UNSPEC dissolves the association (and gives back the port
	 * that connect chose). */
	assert_int_equal(
		us_connect(a, fd, &unspec, sizeof(sa_family_t)), 0);
	ERRNO(us_getpeername(a, fd, (struct sockaddr *)&got, &len), ENOTCONN);
	ERRNO(us_send(a, fd, "x", 1, 0), EDESTADDRREQ);
	len = sizeof(got);
	assert_int_equal(
		us_getsockname(a, fd, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(got.sin_port, 0);
	assert_int_equal(got.sin_addr.s_addr, 0);
}

static void test_send_errors(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fd = us_socket(a, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = sim_sin(SIM_IP_B, 9);
	static uint8_t big[70000];

	ERRNO(us_sendto(a, 77, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)),
	      EBADF);
	ERRNO(us_sendto(a, fd, NULL, 1, 0, (struct sockaddr *)&to, sizeof(to)),
	      EFAULT);
	ERRNO(us_sendto(a, fd, "x", 1, 0, (struct sockaddr *)&to,
			sizeof(to) - 1),
	      EINVAL);
	struct sockaddr_in p0 = sim_sin(SIM_IP_B, 0);
	ERRNO(us_sendto(a, fd, "x", 1, 0, (struct sockaddr *)&p0, sizeof(p0)),
	      EINVAL);
	struct sockaddr_in6 six = {.sin6_family = AF_INET6};
	ERRNO(us_sendto(a, fd, "x", 1, 0, (struct sockaddr *)&six, sizeof(six)),
	      EAFNOSUPPORT);
	ERRNO(us_sendto(a, fd, big, 65508, 0, (struct sockaddr *)&to,
			sizeof(to)),
	      EMSGSIZE);
	ERRNO(us_sendto(a, fd, big, sizeof(big), 0, (struct sockaddr *)&to,
			sizeof(to)),
	      EMSGSIZE);
	ERRNO(us_sendto(a, fd, "x", 1, MSG_OOB, (struct sockaddr *)&to,
			sizeof(to)),
	      EOPNOTSUPP);
	struct sockaddr_in off = sim_sin("192.168.99.1", 9);
	ERRNO(us_sendto(a, fd, "x", 1, 0, (struct sockaddr *)&off, sizeof(off)),
	      ENETUNREACH);
	/* Broadcast needs SO_BROADCAST. */
	struct sockaddr_in bc = sim_sin("255.255.255.255", 9);
	ERRNO(us_sendto(a, fd, "x", 1, 0, (struct sockaddr *)&bc, sizeof(bc)),
	      EACCES);
	int one = 1;
	assert_int_equal(us_setsockopt(a, fd, SOL_SOCKET, SO_BROADCAST, &one,
				       sizeof(one)),
			 0);
	assert_int_equal(
		us_sendto(a, fd, "x", 1, 0, (struct sockaddr *)&bc, sizeof(bc)),
		1);
	/* A zero-length datagram is a datagram. */
	assert_int_equal(
		us_sendto(a, fd, NULL, 0, 0, (struct sockaddr *)&to, sizeof(to)),
		0);
}

static void test_recv_semantics(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int rx = sim_udp(a, 7100, false), tx = sim_udp(a, 0, false);
	struct sockaddr_in to = sim_sin(SIM_IP_A, 7100), from;
	socklen_t flen;
	uint8_t r[64];

	ERRNO(us_recv(a, rx, r, sizeof(r), 0), EAGAIN);
	ERRNO(us_recv(a, rx, NULL, 4, 0), EFAULT);
	ERRNO(us_recvfrom(a, rx, r, sizeof(r), 0, (struct sockaddr *)&from,
			  NULL),
	      EFAULT);
	ERRNO(us_recv(a, rx, r, sizeof(r), MSG_OOB), EOPNOTSUPP);
	ERRNO(us_recv(a, 555, r, sizeof(r), 0), EBADF);

	/* To ourselves: delivered on the next turn of the loop. */
	assert_int_equal(us_sendto(a, tx, "0123456789", 10, 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 10);
	assert_int_equal(us_sendto(a, tx, "abcdef", 6, 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 6);
	ERRNO(us_recv(a, rx, r, sizeof(r), 0), EAGAIN);
	us_stack_poll(a, 0);

	/* MSG_PEEK leaves it; MSG_TRUNC tells the real length. */
	assert_int_equal(us_recv(a, rx, r, 4, MSG_PEEK), 4);
	assert_memory_equal(r, "0123", 4);
	assert_int_equal(us_recv(a, rx, r, 4, MSG_PEEK | MSG_TRUNC), 10);
	/* A short buffer takes the start; the rest of the datagram is gone. */
	flen = sizeof(from);
	assert_int_equal(us_recvfrom(a, rx, r, 3, 0, (struct sockaddr *)&from,
				     &flen),
			 3);
	assert_memory_equal(r, "012", 3);
	assert_int_equal(from.sin_addr.s_addr, sim_ip(SIM_IP_A));
	assert_int_equal(us_recv(a, rx, r, 2, MSG_TRUNC), 6);
	assert_memory_equal(r, "ab", 2);
	ERRNO(us_recv(a, rx, r, sizeof(r), 0), EAGAIN);

	/* Blocking socket, MSG_DONTWAIT: EAGAIN all the same. */
	int blk = sim_udp(a, 7101, true);
	ERRNO(us_recv(a, blk, r, sizeof(r), MSG_DONTWAIT), EAGAIN);
	/* A negative SO_RCVTIMEO means "do not wait" (Linux). */
	struct timeval tv = {.tv_sec = -1};
	assert_int_equal(us_setsockopt(a, blk, SOL_SOCKET, SO_RCVTIMEO, &tv,
				       sizeof(tv)),
			 0);
	uint64_t t0 = sim_now(s);
	ERRNO(us_recv(a, blk, r, sizeof(r), 0), EAGAIN);
	assert_int_equal(sim_now(s), t0);
	/* A blocking recv waits in virtual time until the timeout. */
	tv.tv_sec = 0;
	tv.tv_usec = 300000;
	assert_int_equal(us_setsockopt(a, blk, SOL_SOCKET, SO_RCVTIMEO, &tv,
				       sizeof(tv)),
			 0);
	ERRNO(us_recv(a, blk, r, sizeof(r), 0), EAGAIN);
	assert_true(sim_now(s) - t0 >= 300 * SIM_MS);
	assert_true(sim_now(s) - t0 < 400 * SIM_MS);
	/* ... and returns as soon as a datagram is there (to itself). */
	struct sockaddr_in self = sim_sin(SIM_IP_A, 7101);
	assert_int_equal(us_sendto(a, tx, "hi", 2, 0, (struct sockaddr *)&self,
				   sizeof(self)),
			 2);
	assert_int_equal(us_recv(a, blk, r, sizeof(r), 0), 2);
}

static void test_unsupported_and_shutdown(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fd = sim_udp(a, 7200, false);
	struct sockaddr_in peer = sim_sin(SIM_IP_A, 7200);
	uint8_t r[8];

	ERRNO(us_listen(a, fd, 5), EOPNOTSUPP);
	ERRNO(us_accept(a, fd, NULL, NULL), EOPNOTSUPP);
	ERRNO(us_listen(a, 4242, 5), EBADF);
	ERRNO(us_shutdown(a, fd, 7), EINVAL);
	/* Linux: ENOTCONN on an unconnected socket, but the flags stick. */
	ERRNO(us_shutdown(a, fd, SHUT_RD), ENOTCONN);
	assert_int_equal(us_recv(a, fd, r, sizeof(r), 0), 0);

	int c = sim_udp(a, 0, false);
	assert_int_equal(
		us_connect(a, c, (struct sockaddr *)&peer, sizeof(peer)), 0);
	assert_int_equal(us_shutdown(a, c, SHUT_WR), 0);
	ERRNO(us_send(a, c, "x", 1, 0), EPIPE);
}

static void test_sockopts(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fd = us_socket(a, AF_INET, SOCK_DGRAM, 0), v = 0;
	socklen_t len = sizeof(v);
	struct timeval tv;

	assert_int_equal(us_getsockopt(a, fd, SOL_SOCKET, SO_TYPE, &v, &len),
			 0);
	assert_int_equal(v, SOCK_DGRAM);
	assert_int_equal(len, sizeof(int));
	assert_int_equal(us_getsockopt(a, fd, SOL_SOCKET, SO_ERROR, &v, &len),
			 0);
	assert_int_equal(v, 0);
	assert_int_equal(us_getsockopt(a, fd, SOL_SOCKET, SO_RCVBUF, &v, &len),
			 0);
	assert_int_equal(v, SOCK_RCVBUF_DEFAULT);
	v = 100000;
	assert_int_equal(
		us_setsockopt(a, fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
	assert_int_equal(us_getsockopt(a, fd, SOL_SOCKET, SO_SNDBUF, &v, &len),
			 0);
	assert_int_equal(v, 200000); /* doubled, as Linux reports it */
	v = 1;
	assert_int_equal(
		us_setsockopt(a, fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)),
		0);
	v = 0;
	assert_int_equal(
		us_getsockopt(a, fd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	assert_int_equal(v, 1);

	tv = (struct timeval){.tv_sec = 1, .tv_usec = 250000};
	assert_int_equal(us_setsockopt(a, fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
				       sizeof(tv)),
			 0);
	memset(&tv, 0, sizeof(tv));
	len = sizeof(tv);
	assert_int_equal(
		us_getsockopt(a, fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len), 0);
	assert_int_equal(tv.tv_sec, 1);
	assert_int_equal(tv.tv_usec, 250000);
	tv.tv_usec = 1000000;
	ERRNO(us_setsockopt(a, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
	      EDOM);
	ERRNO(us_setsockopt(a, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, 4), EINVAL);

	v = 1;
	ERRNO(us_setsockopt(a, fd, SOL_SOCKET, 9999, &v, sizeof(v)),
	      ENOPROTOOPT);
	ERRNO(us_setsockopt(a, fd, SOL_SOCKET, SO_TYPE, &v, sizeof(v)),
	      ENOPROTOOPT);
	ERRNO(us_setsockopt(a, fd, IPPROTO_UDP, 1, &v, sizeof(v)),
	      ENOPROTOOPT);
	ERRNO(us_setsockopt(a, fd, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
	ERRNO(us_setsockopt(a, fd, SOL_SOCKET, SO_REUSEADDR, NULL, 4), EFAULT);
	ERRNO(us_setsockopt(a, 31337, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)),
	      EBADF);
	len = sizeof(v);
	ERRNO(us_getsockopt(a, fd, SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
	ERRNO(us_getsockopt(a, fd, SOL_SOCKET, SO_TYPE, &v, NULL), EFAULT);

	/* IP level: TTL 1..255 or -1. */
	v = 7;
	assert_int_equal(us_setsockopt(a, fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)),
			 0);
	len = sizeof(v);
	assert_int_equal(us_getsockopt(a, fd, IPPROTO_IP, IP_TTL, &v, &len), 0);
	assert_int_equal(v, 7);
	v = 0;
	ERRNO(us_setsockopt(a, fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)), EINVAL);
	v = -1;
	assert_int_equal(us_setsockopt(a, fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)),
			 0);
	assert_int_equal(us_getsockopt(a, fd, IPPROTO_IP, IP_TTL, &v, &len), 0);
	assert_int_equal(v, 64);
}

static void test_fcntl(void **state)
{
	struct sim *s = *state;
	struct us_stack *a = s->a;
	int fd = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	int nb = us_socket(a, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_int_equal(us_fcntl(a, fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(us_fcntl(a, nb, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(us_fcntl(a, fd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(us_fcntl(a, fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(us_fcntl(a, fd, F_SETFL, 0), 0);
	assert_int_equal(us_fcntl(a, fd, F_GETFL) & O_NONBLOCK, 0);
	ERRNO(us_fcntl(a, fd, 12345), EINVAL);
	ERRNO(us_fcntl(a, 999, F_GETFL), EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_roundtrip),
		cmocka_unit_test(test_wire_csum),
		cmocka_unit_test_setup_teardown(test_input_validation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_input_short, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rcvbuf_bound, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_demux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fd_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ephemeral_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recv_semantics, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_and_shutdown,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sockopts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fcntl, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
