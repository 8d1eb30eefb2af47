#include "pd_harness.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)(b[n - 1] << 8);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* RFC 9293 3.1: the TCP checksum covers a pseudo-header. */
static uint16_t tcp_sum(const uint8_t *ip, const uint8_t *tcp, size_t len)
{
	uint32_t s = sum16(ip + 12, 8, 0);
	s += 6 + (uint32_t)len;
	return fold(sum16(tcp, len, s));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

void ph_open(struct ph *h, const char *flags)
{
	/* As packetdrill's so_testing.c loads the library. */
	void *lib = dlopen(PD_SO_PATH, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE |
					   RTLD_DEEPBIND);
	if (!lib)
		fail_msg("dlopen: %s", dlerror());
	packetdrill_interface_init_t init = (packetdrill_interface_init_t)dlsym(
	    lib, "packetdrill_interface_init");
	assert_non_null(init);
	memset(h, 0, sizeof(*h));
	init(flags, &h->ifc);
	h->ud = h->ifc.userdata;
	assert_non_null(h->ud);
	inet_pton(AF_INET, PH_LOCAL, &h->local);
	inet_pton(AF_INET, PH_REMOTE, &h->remote);
}

void ph_close(struct ph *h)
{
	h->ifc.free(h->ud);
}

long long ph_now(struct ph *h)
{
	struct timeval tv;

	assert_int_equal(h->ifc.gettimeofday(h->ud, &tv, NULL), 0);
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

size_t ph_build(struct ph *h, uint8_t *b, size_t cap, uint16_t sport,
		uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		const void *data, uint32_t len)
{
	uint8_t *ip = b, *tcp = b + 20;
	uint32_t optlen = (flags & PH_SYN) ? 4 : 0;
	uint32_t tlen = 20 + optlen + len;

	assert_true(20 + tlen <= cap);
	memset(b, 0, 20 + tlen);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + tlen));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &h->remote, 4);
	memcpy(ip + 16, &h->local, 4);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((20 + optlen) / 4 << 4);
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (optlen) { /* MSS 1460 */
		tcp[20] = 2;
		tcp[21] = 4;
		put16(tcp + 22, 1460);
	}
	if (len)
		memcpy(tcp + 20 + optlen, data, len);
	put16(tcp + 16, tcp_sum(ip, tcp, tlen));
	return 20 + tlen;
}

void ph_inject(struct ph *h, uint16_t sport, uint16_t dport, uint32_t seq,
	       uint32_t ack, uint8_t flags, const void *data, uint32_t len)
{
	uint8_t b[2048];
	size_t n =
	    ph_build(h, b, sizeof(b), sport, dport, seq, ack, flags, data, len);

	assert_int_equal(h->ifc.netdev_send(h->ud, b, n), 0);
}

static void parse(const uint8_t *b, size_t n, struct ph_seg *s)
{
	assert_true(n >= 40);
	assert_int_equal(b[0], 0x45); /* IPv4, no options */
	assert_int_equal(b[9], 6);
	size_t tot = get16(b + 2);
	assert_true(tot <= n && tot >= 40);
	const uint8_t *t = b + 20;
	size_t tlen = tot - 20, off = (size_t)(t[12] >> 4) * 4;
	assert_true(off >= 20 && off <= tlen);
	memcpy(&s->src, b + 12, 4);
	memcpy(&s->dst, b + 16, 4);
	s->sport = get16(t);
	s->dport = get16(t + 2);
	s->seq = get32(t + 4);
	s->ack = get32(t + 8);
	s->flags = t[13];
	s->win = get16(t + 14);
	s->mss = 0;
	for (size_t i = 20; i < off;) {
		if (t[i] == 0)
			break;
		if (t[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= off || t[i + 1] < 2)
			break;
		if (t[i] == 2 && t[i + 1] == 4)
			s->mss = get16(t + i + 2);
		i += t[i + 1];
	}
	s->plen = (uint32_t)(tlen - off);
	assert_true(s->plen <= sizeof(s->payload));
	memcpy(s->payload, t + off, s->plen);
	s->csum_ok =
	    fold(sum16(b, 20, 0)) == 0 &&
	    fold(sum16(t, tlen, sum16(b + 12, 8, 0) + 6 + (uint32_t)tlen)) == 0;
}

bool ph_sniff(struct ph *h, struct ph_seg *s, int max_calls)
{
	uint8_t b[4096];

	for (int i = 0; i < max_calls; i++) {
		size_t n = sizeof(b);
		long long t = -1;
		if (h->ifc.netdev_receive(h->ud, b, &n, &t) == 0) {
			assert_true(n > 0);
			parse(b, n, s);
			s->time_us = t;
			return true;
		}
		assert_int_equal(n, 0);
	}
	return false;
}

int ph_listen(struct ph *h, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	int fd = h->ifc.socket(h->ud, AF_INET, SOCK_STREAM, IPPROTO_TCP);

	assert_true(fd >= 0);
	assert_int_equal(h->ifc.setsockopt(h->ud, fd, SOL_SOCKET, SO_REUSEADDR,
					   &one, sizeof(one)),
			 0);
	a.sin_addr.s_addr = h->local;
	assert_int_equal(
	    h->ifc.bind(h->ud, fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(h->ifc.listen(h->ud, fd, 16), 0);
	return fd;
}

uint32_t ph_handshake(struct ph *h, uint16_t port)
{
	struct ph_seg s;

	ph_inject(h, PH_RPORT, port, 0, 0, PH_SYN, NULL, 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_SYN | PH_ACK);
	assert_int_equal(s.ack, 1);
	ph_inject(h, PH_RPORT, port, 1, s.seq + 1, PH_ACK, NULL, 0);
	return s.seq;
}
