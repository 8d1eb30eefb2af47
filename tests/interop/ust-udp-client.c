/* ust-udp-client: a UDP client on ustack, for the interop tests.
 *
 * Brings up a stack on a device (as ustack-demo does), sends --count
 * datagrams of --size bytes to --to with us_sendto on a blocking socket,
 * and waits up to --timeout-ms for each echo, which must match what was
 * sent. Uses the public API only.
 *
 * Exit status: 0 every datagram came back intact; 1 a reply was missing
 * or wrong, or the stack failed; 2 bad usage; 3 a call failed with
 * EHOSTUNREACH (the next hop did not answer ARP); 4 a call failed with
 * another errno (its name is printed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustack.h"

enum { EXIT_MISSING = 1, EXIT_USAGE = 2, EXIT_HOSTUNREACH = 3, EXIT_ERRNO = 4 };

struct opts {
	struct us_config cfg;
	struct sockaddr_in to;
	long count, size, timeout_ms;
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: ust-udp-client --to A.B.C.D:PORT [options]\n"
	       "  --dev tap|afpacket   device (default tap)\n"
	       "  --ifname NAME        interface (tap: created; default ust0)\n"
	       "  --ip A.B.C.D/N       our address (default 10.7.0.2/24)\n"
	       "  --gw A.B.C.D         default gateway\n"
	       "  --mac XX:XX:XX:XX:XX:XX\n"
	       "  --mtu N\n"
	       "  --pcap FILE          write every frame to FILE\n"
	       "  --count N            datagrams to send (default 1)\n"
	       "  --size N             bytes per datagram (default 64)\n"
	       "  --timeout-ms N       wait for each reply (default 1000)\n"
	       "  --log-level L        error|warn|info|debug (default warn)\n");
}

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ust-udp-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try --help)\n");
	exit(EXIT_USAGE);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die_usage("bad %s '%s' (%ld..%ld)", what, s, lo, hi);
	return v;
}

/* error|warn|info|debug, as ustack-demo takes them, or 0..3. */
static int parse_level(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return (int)parse_num(s, 0, 3, "--log-level");
}

static uint32_t parse_ip(const char *s, const char *what)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die_usage("bad %s '%s'", what, s);
	return a.s_addr;
}

static void parse_cidr(const char *s, struct us_config *cfg)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf))
		die_usage("bad --ip '%s'", s);
	memcpy(buf, s, n);
	buf[n] = 0;
	cfg->ip = parse_ip(buf, "--ip");
	cfg->prefix_len =
	    slash ? (uint8_t)parse_num(slash + 1, 0, 32, "prefix") : 24;
}

static void parse_to(const char *s, struct sockaddr_in *to)
{
	char buf[32];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		die_usage("bad --to '%s' (want A.B.C.D:PORT)", s);
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_addr.s_addr = parse_ip(buf, "--to address");
	to->sin_port = htons((uint16_t)parse_num(colon + 1, 1, 65535, "port"));
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &tail) != 6)
		die_usage("bad --mac '%s'", s);
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			die_usage("bad --mac '%s'", s);
		mac[i] = (uint8_t)b[i];
	}
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"dev", required_argument, 0, 'd'},
	    {"ifname", required_argument, 0, 'i'},
	    {"ip", required_argument, 0, 'a'},
	    {"gw", required_argument, 0, 'g'},
	    {"mac", required_argument, 0, 'm'},
	    {"mtu", required_argument, 0, 'M'},
	    {"pcap", required_argument, 0, 'p'},
	    {"to", required_argument, 0, 't'},
	    {"count", required_argument, 0, 'c'},
	    {"size", required_argument, 0, 's'},
	    {"timeout-ms", required_argument, 0, 'T'},
	    {"log-level", required_argument, 0, 'l'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int c, have_to = 0;

	us_config_init(&o->cfg);
	o->cfg.dev_type = "tap";
	o->cfg.ip = htonl(0x0a070002); /* 10.7.0.2 */
	o->cfg.prefix_len = 24;
	o->count = 1;
	o->size = 64;
	o->timeout_ms = 1000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (strcmp(optarg, "tap") && strcmp(optarg, "afpacket"))
				die_usage("bad --dev '%s' (tap|afpacket)",
					  optarg);
			o->cfg.dev_type = optarg;
			break;
		case 'i':
			o->cfg.ifname = optarg;
			break;
		case 'a':
			parse_cidr(optarg, &o->cfg);
			break;
		case 'g':
			o->cfg.gw = parse_ip(optarg, "--gw");
			break;
		case 'm':
			parse_mac(optarg, o->cfg.mac);
			break;
		case 'M':
			o->cfg.mtu =
			    (uint32_t)parse_num(optarg, 576, 9000, "--mtu");
			break;
		case 'p':
			o->cfg.pcap_file = optarg;
			break;
		case 't':
			parse_to(optarg, &o->to);
			have_to = 1;
			break;
		case 'c':
			o->count = parse_num(optarg, 1, 1000000, "--count");
			break;
		case 's':
			o->size = parse_num(optarg, 8, 65507, "--size");
			break;
		case 'T':
			o->timeout_ms =
			    parse_num(optarg, 1, 600000, "--timeout-ms");
			break;
		case 'l':
			o->cfg.log_level = parse_level(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			die_usage("unknown or incomplete option '%s'",
				  argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!have_to)
		die_usage("--to is required");
	if (!strcmp(o->cfg.dev_type, "afpacket") && !o->cfg.ifname)
		die_usage("--dev afpacket needs --ifname");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Datagram seq: its number, then bytes that depend on it and the offset. */
static void fill(uint8_t *b, long size, uint32_t seq)
{
	memcpy(b, &seq, 4);
	memset(b + 4, 0xa5, 4);
	for (long i = 8; i < size; i++)
		b[i] =
		    (uint8_t)(seq * 31 + (uint32_t)i * 7 + (uint32_t)(i >> 8));
}

/* Exit status for a failed call, after printing the errno name. */
static int call_failed(const char *call, int err)
{
	const char *name = strerrorname_np(err);

	printf("%s: %s (%s)\n", call, name ? name : "?", strerror(err));
	return err == EHOSTUNREACH ? EXIT_HOSTUNREACH : EXIT_ERRNO;
}

static int set_nonblock(struct us_stack *st, int fd, int on)
{
	int fl = us_fcntl(st, fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return us_fcntl(st, fd, F_SETFL, fl);
}

/* Wait for the echo of seq: returns 0 (matched), 1 (timed out), or an
 * exit status for a failed call. Receives with O_NONBLOCK and drives the
 * stack itself so that the wait has a deadline. */
static int wait_reply(struct us_stack *st, int fd, const struct opts *o,
		      const uint8_t *sent, uint8_t *rbuf, uint32_t seq,
		      uint64_t t_send)
{
	uint64_t deadline = t_send + (uint64_t)o->timeout_ms;

	if (set_nonblock(st, fd, 1) < 0)
		return call_failed("fcntl(O_NONBLOCK)", errno);
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(st, fd, rbuf, 65536, 0,
					(struct sockaddr *)&from, &fl);
		uint64_t t = now_ms();

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return call_failed("recvfrom", errno);
		if (n >= 0) {
			uint32_t rseq;
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &from.sin_addr, a, sizeof(a));
			if (n < 4) {
				printf("short reply (%zd bytes) from %s\n", n,
				       a);
				continue;
			}
			memcpy(&rseq, rbuf, 4);
			if (rseq != seq) {
				printf("stale reply seq=%u from %s (want %u)\n",
				       rseq, a, seq);
				continue;
			}
			if (n != o->size || memcmp(rbuf, sent, (size_t)n)) {
				printf("reply seq=%u from %s:%u: %zd bytes, "
				       "content differs from the %ld sent\n",
				       seq, a, ntohs(from.sin_port), n,
				       o->size);
				set_nonblock(st, fd, 0);
				return EXIT_MISSING;
			}
			printf(
			    "reply seq=%u %zd bytes from %s:%u time=%llu ms\n",
			    seq, n, a, ntohs(from.sin_port),
			    (unsigned long long)(t - t_send));
			break;
		}
		if (t >= deadline) {
			printf("no reply to seq=%u within %ld ms\n", seq,
			       o->timeout_ms);
			set_nonblock(st, fd, 0);
			return 1;
		}
		uint64_t left = deadline - t;
		if (us_stack_poll(st, left > 100 ? 100 : (int)left) < 0)
			return call_failed("us_stack_poll", errno);
	}
	if (set_nonblock(st, fd, 0) < 0)
		return call_failed("fcntl", errno);
	return 0;
}

static int run(struct us_stack *st, const struct opts *o)
{
	uint8_t *sbuf = malloc((size_t)o->size), *rbuf = malloc(65536);
	long received = 0;
	char a[INET_ADDRSTRLEN];
	int fd, rc = 0;

	if (!sbuf || !rbuf) {
		free(sbuf);
		free(rbuf);
		return call_failed("malloc", ENOMEM);
	}
	fd = us_socket(st, AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		rc = call_failed("us_socket", errno);
		goto out;
	}
	inet_ntop(AF_INET, &o->to.sin_addr, a, sizeof(a));
	for (long i = 0; i < o->count; i++) {
		uint32_t seq = (uint32_t)i + 1;
		uint64_t t0 = now_ms();

		fill(sbuf, o->size, seq);
		/* Blocking socket: the stack is driven until the datagram is
		 * handed on (or, with ARP, queued or known to fail). */
		if (us_sendto(st, fd, sbuf, (size_t)o->size, 0,
			      (const struct sockaddr *)&o->to,
			      sizeof(o->to)) < 0) {
			rc = call_failed("sendto", errno);
			goto out;
		}
		rc = wait_reply(st, fd, o, sbuf, rbuf, seq, t0);
		if (rc == 0)
			received++;
		else if (rc != 1)
			goto out;
	}
	printf("%s:%u: sent %ld, received %ld, lost %ld\n", a,
	       ntohs(o->to.sin_port), o->count, received, o->count - received);
	rc = received == o->count ? 0 : EXIT_MISSING;
out:
	if (fd >= 0)
		us_close(st, fd);
	free(sbuf);
	free(rbuf);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct us_stack *st;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &o);
	st = us_stack_create(&o.cfg);
	if (!st) {
		const char *name = strerrorname_np(errno);

		printf("us_stack_create: %s (%s)\n", name ? name : "?",
		       strerror(errno));
		return EXIT_MISSING;
	}
	rc = run(st, &o);
	us_stack_destroy(st);
	return rc;
}
