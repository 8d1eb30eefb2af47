/* ust-tcp-tool: TCP server and client on ustack, for the interop tests.
 * Public API only; every socket is non-blocking and the program turns the
 * stack's loop itself, so one process serves or drives many connections.
 *
 *   ust-tcp-tool --listen PORT [--mode echo|discard|sink|reply] ...
 *     echo     send back everything; close after the peer's FIN
 *     discard  read and drop; close after the peer's FIN
 *     sink     like discard, and print the byte count and SHA-256 of
 *              each connection ("conn ID peer A:P bytes N sha256 H")
 *     reply    read --request N bytes, send them back, then close first
 *              (this side takes TIME_WAIT)
 *   ust-tcp-tool --connect A.B.C.D:PORT [--send N] [--shut]
 *                [--recv N|eof] [--conns N] [--parallel P] ...
 *     each connection sends N bytes of a seeded pattern, then (--shut)
 *     shuts down its sending side, reads to EOF (with --recv N: reads N
 *     bytes, then shuts down its side and reads to EOF), and closes;
 *     --conns connections in all, --parallel of them at a time. Prints
 *     "sent N sha256 H" and "received N sha256 H" (of the last
 *     connection; all connections send the same bytes), and a summary
 *     "connections N ok K failed F ports U seconds S".
 *
 * Exit status: 0 all went well; 1 a connection failed, the deadline
 * passed, an echo differed, or the stack failed; 2 bad usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustack.h"
#include "../sim/sha256.h"

#define STAGE 65536
#define MAX_CONNS 65536

enum mode { M_ECHO, M_DISCARD, M_SINK, M_REPLY };

struct opts {
	struct us_config cfg;
	bool listen, stats, verbose, no_sha;
	uint16_t port;
	struct sockaddr_in to;
	enum mode mode;
	long long request;   /* reply: bytes before answering */
	long long max_conns; /* server: exit after this many (0: never) */
	int backlog;
	long long send; /* client: bytes per connection */
	bool shut;
	long long recv;	  /* -1: to EOF */
	bool expect_echo; /* received must equal sent */
	long long conns, parallel;
	uint64_t seed;
	long long timeout_ms;
	int rcvbuf, sndbuf;
	struct us_impair impair; /* --drop-data: cfg.impair points here */
	uint32_t drops[64];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: ust-tcp-tool --listen PORT [server options] [device]\n"
	    "       ust-tcp-tool --connect A.B.C.D:PORT [client options] "
	    "[device]\n"
	    "server:\n"
	    "  --mode echo|discard|sink|reply   (default echo)\n"
	    "  --request N          reply: bytes to read before answering "
	    "(64)\n"
	    "  --max-conns N        exit 0 after N connections are done\n"
	    "  --backlog N          listen backlog (default 1024)\n"
	    "client:\n"
	    "  --send N             bytes to send per connection (default 0;"
	    "\n"
	    "                       suffixes K, M, G: KiB, MiB, GiB)\n"
	    "  --shut               shutdown(SHUT_WR) once all is sent\n"
	    "  --recv N|eof         bytes to expect, then SHUT_WR and read to\n"
	    "                       EOF; or just read to EOF (default eof)\n"
	    "  --expect-echo        what comes back must equal what was "
	    "sent\n"
	    "  --conns N            connections in all (default 1)\n"
	    "  --parallel P         at a time (default 1: sequential)\n"
	    "  --seed N             pattern seed (default 1)\n"
	    "  --timeout-ms N       give up after N ms (default 60000)\n"
	    "  --port-range LO-HI   ephemeral ports (cfg port_lo..port_hi)\n"
	    "both:\n"
	    "  --rcvbuf N, --sndbuf N  SO_RCVBUF / SO_SNDBUF\n"
	    "  --stats              print non-zero counters at exit\n"
	    "  --verbose            a line per connection\n"
	    "  --no-sha             skip SHA-256 (for throughput only)\n"
	    "device:\n"
	    "  --dev tap|afpacket   device (default tap)\n"
	    "  --ifname NAME        interface (default ust0)\n"
	    "  --ip A.B.C.D/N       our address (default 10.7.0.2/24)\n"
	    "  --gw A.B.C.D         default gateway\n"
	    "  --mtu N, --pcap FILE, --log-level 0..3\n"
	    "  --drop-data LIST     drop the TCP data segments we send whose\n"
	    "                       1-based ordinals are listed (1,5,9)\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("ust-tcp-tool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static long long parse_num(const char *s, long long lo, long long hi,
			   const char *what)
{
	char *end;
	long long v, mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end != s && *end && !end[1]) {
		switch (*end) {
		case 'K':
			mul = 1LL << 10;
			end++;
			break;
		case 'M':
			mul = 1LL << 20;
			end++;
			break;
		case 'G':
			mul = 1LL << 30;
			end++;
			break;
		}
	}
	if (errno || end == s || *end || v < lo || v > hi / mul || v * mul > hi)
		bad_usage("bad %s '%s' (%lld..%lld)", what, s, lo, hi);
	return v * mul;
}

static uint32_t parse_ip(const char *s, const char *what)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		bad_usage("bad %s '%s' (want A.B.C.D)", what, s);
	return a.s_addr;
}

static void parse_cidr(const char *s, struct us_config *cfg)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf))
		bad_usage("bad --ip '%s' (want A.B.C.D/N)", s);
	memcpy(buf, s, n);
	buf[n] = 0;
	cfg->ip = parse_ip(buf, "--ip");
	cfg->prefix_len =
	    slash ? (uint8_t)parse_num(slash + 1, 0, 32, "--ip prefix") : 24;
}

static void parse_to(const char *s, struct sockaddr_in *to)
{
	char buf[32];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		bad_usage("bad --connect '%s' (want A.B.C.D:PORT)", s);
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_addr.s_addr = parse_ip(buf, "--connect address");
	to->sin_port =
	    htons((uint16_t)parse_num(colon + 1, 1, 65535, "--connect port"));
}

static void parse_range(const char *s, struct us_config *cfg)
{
	char lo[8];
	const char *dash = strchr(s, '-');

	if (!dash || dash == s || (size_t)(dash - s) >= sizeof(lo))
		bad_usage("bad --port-range '%s' (want LO-HI)", s);
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = 0;
	cfg->port_lo = (uint16_t)parse_num(lo, 1, 65535, "--port-range low");
	cfg->port_hi =
	    (uint16_t)parse_num(dash + 1, 1, 65535, "--port-range high");
	if (cfg->port_lo > cfg->port_hi)
		bad_usage("bad --port-range '%s' (LO > HI)", s);
}

/* --drop-data 20,22,24: exact drops by the impair wrapper (cfg.impair). */
static void parse_drops(const char *s, struct opts *o)
{
	const char *p = s;
	int n = 0;

	for (;;) {
		char buf[16];
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int max = (int)(sizeof(o->drops) / sizeof(o->drops[0]));

		if (n == max || !len || len >= sizeof(buf))
			bad_usage("bad --drop-data '%s' (want up to %d "
				  "ordinals 1.. separated by commas)",
				  s, max);
		memcpy(buf, p, len);
		buf[len] = 0;
		o->drops[n++] = (uint32_t)parse_num(buf, 1, UINT32_MAX,
						    "--drop-data ordinal");
		if (!comma)
			break;
		p = comma + 1;
	}
	o->impair = (struct us_impair){.drop_class = US_IMPAIR_TCP_DATA,
				       .drop_list = o->drops,
				       .drop_count = n};
	o->cfg.impair = &o->impair;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_LISTEN = 256,
		O_CONNECT,
		O_MODE,
		O_REQUEST,
		O_MAXC,
		O_BACKLOG,
		O_SEND,
		O_SHUT,
		O_RECV,
		O_ECHO,
		O_CONNS,
		O_PAR,
		O_SEED,
		O_TIMEOUT,
		O_RANGE,
		O_RCVBUF,
		O_SNDBUF,
		O_STATS,
		O_VERBOSE,
		O_NOSHA,
		O_DEV,
		O_IFNAME,
		O_IP,
		O_GW,
		O_MTU,
		O_PCAP,
		O_LOG,
		O_DROP,
		O_HELP
	};
	static const struct option lo[] = {
	    {"listen", required_argument, 0, O_LISTEN},
	    {"connect", required_argument, 0, O_CONNECT},
	    {"mode", required_argument, 0, O_MODE},
	    {"request", required_argument, 0, O_REQUEST},
	    {"max-conns", required_argument, 0, O_MAXC},
	    {"backlog", required_argument, 0, O_BACKLOG},
	    {"send", required_argument, 0, O_SEND},
	    {"shut", no_argument, 0, O_SHUT},
	    {"recv", required_argument, 0, O_RECV},
	    {"expect-echo", no_argument, 0, O_ECHO},
	    {"conns", required_argument, 0, O_CONNS},
	    {"parallel", required_argument, 0, O_PAR},
	    {"seed", required_argument, 0, O_SEED},
	    {"timeout-ms", required_argument, 0, O_TIMEOUT},
	    {"port-range", required_argument, 0, O_RANGE},
	    {"rcvbuf", required_argument, 0, O_RCVBUF},
	    {"sndbuf", required_argument, 0, O_SNDBUF},
	    {"stats", no_argument, 0, O_STATS},
	    {"verbose", no_argument, 0, O_VERBOSE},
	    {"no-sha", no_argument, 0, O_NOSHA},
	    {"dev", required_argument, 0, O_DEV},
	    {"ifname", required_argument, 0, O_IFNAME},
	    {"ip", required_argument, 0, O_IP},
	    {"gw", required_argument, 0, O_GW},
	    {"mtu", required_argument, 0, O_MTU},
	    {"pcap", required_argument, 0, O_PCAP},
	    {"log-level", required_argument, 0, O_LOG},
	    {"drop-data", required_argument, 0, O_DROP},
	    {"help", no_argument, 0, O_HELP},
	    {0, 0, 0, 0},
	};
	bool have_connect = false;
	int c;

	memset(o, 0, sizeof(*o));
	us_config_init(&o->cfg);
	o->cfg.dev_type = "tap";
	o->cfg.ip = htonl(0x0a070002); /* 10.7.0.2 */
	o->cfg.prefix_len = 24;
	o->mode = M_ECHO;
	o->request = 64;
	o->backlog = 1024;
	o->recv = -1;
	o->conns = 1;
	o->parallel = 1;
	o->seed = 1;
	o->timeout_ms = 60000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			o->listen = true;
			o->port = (uint16_t)parse_num(optarg, 1, 65535,
						      "--listen port");
			break;
		case O_CONNECT:
			parse_to(optarg, &o->to);
			have_connect = true;
			break;
		case O_MODE:
			if (!strcmp(optarg, "echo"))
				o->mode = M_ECHO;
			else if (!strcmp(optarg, "discard"))
				o->mode = M_DISCARD;
			else if (!strcmp(optarg, "sink"))
				o->mode = M_SINK;
			else if (!strcmp(optarg, "reply"))
				o->mode = M_REPLY;
			else
				bad_usage("bad --mode '%s' (echo|discard|sink|"
					  "reply)",
					  optarg);
			break;
		case O_REQUEST:
			o->request =
			    parse_num(optarg, 1, 1LL << 30, "--request");
			break;
		case O_MAXC:
			o->max_conns =
			    parse_num(optarg, 1, 1LL << 40, "--max-conns");
			break;
		case O_BACKLOG:
			o->backlog =
			    (int)parse_num(optarg, 1, 65535, "--backlog");
			break;
		case O_SEND:
			o->send = parse_num(optarg, 0, 1LL << 40, "--send");
			break;
		case O_SHUT:
			o->shut = true;
			break;
		case O_RECV:
			o->recv =
			    strcmp(optarg, "eof")
				? parse_num(optarg, 0, 1LL << 40, "--recv")
				: -1;
			break;
		case O_ECHO:
			o->expect_echo = true;
			break;
		case O_CONNS:
			o->conns = parse_num(optarg, 1, 10000000, "--conns");
			break;
		case O_PAR:
			o->parallel =
			    parse_num(optarg, 1, MAX_CONNS, "--parallel");
			break;
		case O_SEED:
			o->seed =
			    (uint64_t)parse_num(optarg, 0, INT64_MAX, "--seed");
			break;
		case O_TIMEOUT:
			o->timeout_ms =
			    parse_num(optarg, 1, 86400000, "--timeout-ms");
			break;
		case O_RANGE:
			parse_range(optarg, &o->cfg);
			break;
		case O_RCVBUF:
			o->rcvbuf =
			    (int)parse_num(optarg, 1, 1 << 30, "--rcvbuf");
			break;
		case O_SNDBUF:
			o->sndbuf =
			    (int)parse_num(optarg, 1, 1 << 30, "--sndbuf");
			break;
		case O_STATS:
			o->stats = true;
			break;
		case O_VERBOSE:
			o->verbose = true;
			break;
		case O_NOSHA:
			o->no_sha = true;
			break;
		case O_DEV:
			if (strcmp(optarg, "tap") && strcmp(optarg, "afpacket"))
				bad_usage("bad --dev '%s' (tap|afpacket)",
					  optarg);
			o->cfg.dev_type = optarg;
			break;
		case O_IFNAME:
			o->cfg.ifname = optarg;
			break;
		case O_IP:
			parse_cidr(optarg, &o->cfg);
			break;
		case O_GW:
			o->cfg.gw = parse_ip(optarg, "--gw");
			break;
		case O_MTU:
			o->cfg.mtu =
			    (uint32_t)parse_num(optarg, 576, 9000, "--mtu");
			break;
		case O_PCAP:
			o->cfg.pcap_file = optarg;
			break;
		case O_LOG:
			o->cfg.log_level =
			    (int)parse_num(optarg, 0, 3, "--log-level");
			break;
		case O_DROP:
			parse_drops(optarg, o);
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		case ':':
			bad_usage("%s needs a value", argv[optind - 1]);
		default:
			bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (o->listen == have_connect)
		bad_usage("give exactly one of --listen and --connect");
	if (!strcmp(o->cfg.dev_type, "afpacket") && !o->cfg.ifname)
		bad_usage("--dev afpacket needs --ifname");
	if (o->parallel > o->conns)
		o->parallel = o->conns;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static int set_opts(struct us_stack *st, int fd, const struct opts *o)
{
	if (o->rcvbuf && us_setsockopt(st, fd, SOL_SOCKET, SO_RCVBUF,
				       &o->rcvbuf, sizeof(o->rcvbuf)) < 0)
		return -1;
	if (o->sndbuf && us_setsockopt(st, fd, SOL_SOCKET, SO_SNDBUF,
				       &o->sndbuf, sizeof(o->sndbuf)) < 0)
		return -1;
	return 0;
}

static int set_nonblock(struct us_stack *st, int fd)
{
	int fl = us_fcntl(st, fd, F_GETFL);

	if (fl < 0)
		return -1;
	return us_fcntl(st, fd, F_SETFL, fl | O_NONBLOCK);
}

/* The seeded pattern: splitmix64 of the 8-byte word index, so any offset
 * can be made without the bytes before it. */
static void pattern(uint8_t *b, uint64_t off, uint32_t n, uint64_t seed)
{
	for (uint32_t i = 0; i < n;) {
		uint64_t w = (off + i) / 8;
		uint64_t z = seed + (w + 1) * 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		uint32_t k = (uint32_t)((off + i) % 8);
		for (; k < 8 && i < n; k++, i++)
			b[i] = (uint8_t)(z >> (8 * k));
	}
}

static void print_stats(struct us_stack *st)
{
	struct us_impair_stats is;

	for (int i = 0; i < us_stat_count(); i++) {
		uint64_t v = us_stat_get(st, i);
		if (v)
			printf("%s %llu\n", us_stat_name(i),
			       (unsigned long long)v);
	}
	/* The impair wrapper's drops (--drop-data), if there is one. */
	if (us_impair_stats(us_stack_dev(st), &is) == 0)
		printf("impair_exact %llu\n", (unsigned long long)is.exact);
}

/* ------------------------------------------------------------- server */

struct sconn {
	int fd;
	uint64_t id, rx, tx;
	struct sockaddr_in peer;
	uint8_t *pend; /* echo/reply: bytes not yet sent back */
	uint32_t npend, pend_off;
	bool eof, answered;
	struct sha256 h;
};

struct server {
	struct us_stack *st;
	const struct opts *o;
	int lfd;
	struct sconn *c;
	int n, cap;
	uint64_t accepted, done, errors, next_id;
	uint8_t buf[STAGE];
};

static void sconn_end(struct server *sv, int i, int err)
{
	struct sconn *c = &sv->c[i];
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->peer.sin_addr, a, sizeof(a));
	if (err) {
		printf("conn %llu peer %s:%u error %s after %llu bytes in, "
		       "%llu out\n",
		       (unsigned long long)c->id, a, ntohs(c->peer.sin_port),
		       ename(err), (unsigned long long)c->rx,
		       (unsigned long long)c->tx);
		sv->errors++;
	} else if (sv->o->mode == M_SINK) {
		char hex[65];
		sha256_hex(&c->h, hex);
		printf("conn %llu peer %s:%u bytes %llu sha256 %s\n",
		       (unsigned long long)c->id, a, ntohs(c->peer.sin_port),
		       (unsigned long long)c->rx, hex);
	} else if (sv->o->verbose) {
		printf("conn %llu peer %s:%u in %llu out %llu\n",
		       (unsigned long long)c->id, a, ntohs(c->peer.sin_port),
		       (unsigned long long)c->rx, (unsigned long long)c->tx);
	}
	if (us_close(sv->st, c->fd) < 0)
		printf("conn %llu: close: %s\n", (unsigned long long)c->id,
		       ename(errno));
	free(c->pend);
	sv->done++;
	sv->c[i] = sv->c[--sv->n];
}

/* Send what is pending; false on an error (errno set). */
static bool flush_pending(struct server *sv, struct sconn *c, uint64_t *work)
{
	while (c->pend_off < c->npend) {
		ssize_t r = us_send(sv->st, c->fd, c->pend + c->pend_off,
				    c->npend - c->pend_off, 0);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		c->pend_off += (uint32_t)r;
		c->tx += (uint64_t)r;
		*work += (uint64_t)r;
	}
	c->npend = c->pend_off = 0;
	return true;
}

/* Serve connection i; false when it is over (and removed). */
static bool serve(struct server *sv, int i, uint64_t *work)
{
	struct sconn *c = &sv->c[i];
	enum mode m = sv->o->mode;
	bool keeps = m == M_ECHO || m == M_REPLY;

	if (!flush_pending(sv, c, work)) {
		sconn_end(sv, i, errno);
		return false;
	}
	while (!c->eof && !c->npend) {
		size_t want = STAGE;
		if (m == M_REPLY) {
			if (c->answered || c->rx >= (uint64_t)sv->o->request)
				break;
			want = (size_t)((uint64_t)sv->o->request - c->rx);
			if (want > STAGE)
				want = STAGE;
		}
		ssize_t r =
		    us_recv(sv->st, c->fd, keeps ? c->pend : sv->buf, want, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			sconn_end(sv, i, errno);
			return false;
		}
		*work += 1 + (uint64_t)r;
		if (r == 0) {
			c->eof = true;
			break;
		}
		c->rx += (uint64_t)r;
		if (m == M_SINK && !sv->o->no_sha)
			sha256_update(&c->h, sv->buf, (size_t)r);
		if (keeps) {
			c->npend = (uint32_t)r;
			c->pend_off = 0;
			if (!flush_pending(sv, c, work)) {
				sconn_end(sv, i, errno);
				return false;
			}
		}
	}
	if (m == M_REPLY && !c->answered && c->rx >= (uint64_t)sv->o->request &&
	    !c->npend) {
		c->answered = true; /* all sent back: we close first */
		sconn_end(sv, i, 0);
		return false;
	}
	if (c->eof && !c->npend) {
		sconn_end(sv, i, 0);
		return false;
	}
	return true;
}

static void accept_all(struct server *sv, uint64_t *work)
{
	for (;;) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int fd =
		    us_accept(sv->st, sv->lfd, (struct sockaddr *)&peer, &len);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				printf("accept: %s\n", ename(errno));
			return;
		}
		(*work)++;
		if (set_nonblock(sv->st, fd) < 0 || sv->n == MAX_CONNS) {
			printf("accept: cannot serve fd %d: %s\n", fd,
			       sv->n == MAX_CONNS ? "too many" : ename(errno));
			us_close(sv->st, fd);
			sv->errors++;
			continue;
		}
		if (sv->n == sv->cap) {
			int cap = sv->cap ? sv->cap * 2 : 64;
			struct sconn *nc =
			    realloc(sv->c, (size_t)cap * sizeof(*nc));
			if (!nc)
				abort();
			sv->c = nc;
			sv->cap = cap;
		}
		struct sconn *c = &sv->c[sv->n++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->id = ++sv->next_id;
		c->peer = peer;
		sha256_init(&c->h);
		if (sv->o->mode == M_ECHO || sv->o->mode == M_REPLY) {
			c->pend = malloc(STAGE);
			if (!c->pend)
				abort();
		}
		sv->accepted++;
	}
}

static int run_server(struct us_stack *st, const struct opts *o)
{
	static struct server sv;
	struct sockaddr_in sin;
	int one = 1;

	sv.st = st;
	sv.o = o;
	sv.lfd = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (sv.lfd < 0) {
		printf("socket: %s\n", ename(errno));
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(o->port);
	if (us_setsockopt(st, sv.lfd, SOL_SOCKET, SO_REUSEADDR, &one,
			  sizeof(one)) < 0 ||
	    set_opts(st, sv.lfd, o) < 0 ||
	    us_bind(st, sv.lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    us_listen(st, sv.lfd, o->backlog) < 0) {
		printf("listen on port %u: %s\n", o->port, ename(errno));
		return 1;
	}
	printf("listening on port %u mode %s\n", o->port,
	       (const char *[]){"echo", "discard", "sink", "reply"}[o->mode]);
	int rc = 0;
	while (!stop_signal) {
		uint64_t work = 0;
		accept_all(&sv, &work);
		for (int i = 0; i < sv.n;)
			if (serve(&sv, i, &work))
				i++;
		if (o->max_conns && sv.done >= (uint64_t)o->max_conns)
			break;
		/* A bounded wait, so a signal is seen soon. */
		if (us_stack_poll(st, work ? 0 : 100) < 0 && errno != EINTR) {
			printf("device error: %s\n", ename(errno));
			rc = 1;
			break;
		}
	}
	/* Connections still open now were not finished by their peers. */
	int open = sv.n;
	for (int i = sv.n; i-- > 0;)
		sconn_end(&sv, i, 0);
	us_close(st, sv.lfd);
	printf("server: accepted %llu done %llu errors %llu open-at-exit %d\n",
	       (unsigned long long)sv.accepted, (unsigned long long)sv.done,
	       (unsigned long long)sv.errors, open);
	free(sv.c);
	return rc;
}

/* ------------------------------------------------------------- client */

enum cstate { C_FREE, C_CONNECTING, C_OPEN };

struct cconn {
	enum cstate state;
	int fd;
	uint64_t idx;
	uint64_t sent, rcvd;
	bool shut, eof;
	uint8_t stage[STAGE];
	uint32_t stage_off, stage_len;
	bool staged; /* --no-sha: the stage is filled once and reused */
	struct sha256 hs, hr;
};

struct client {
	struct us_stack *st;
	const struct opts *o;
	struct cconn *c;
	uint64_t started, ok, failed, echo_bad, tx, rx;
	uint8_t buf[STAGE];
	uint8_t *ports; /* ports seen (bitmap) */
	char last_sent[65], last_rcvd[65];
	uint64_t last_sent_n, last_rcvd_n;
};

static void cconn_fail(struct client *cl, struct cconn *c, const char *what,
		       int err)
{
	printf("conn %llu: %s: %s after %llu bytes sent, %llu received\n",
	       (unsigned long long)c->idx, what, ename(err),
	       (unsigned long long)c->sent, (unsigned long long)c->rcvd);
	us_close(cl->st, c->fd);
	cl->failed++;
	c->state = C_FREE;
}

static void cconn_start(struct client *cl, struct cconn *c)
{
	const struct opts *o = cl->o;

	memset(c, 0, offsetof(struct cconn, stage));
	c->idx = ++cl->started;
	sha256_init(&c->hs);
	sha256_init(&c->hr);
	c->fd = us_socket(cl->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		printf("conn %llu: socket: %s\n", (unsigned long long)c->idx,
		       ename(errno));
		cl->failed++;
		return;
	}
	c->state = C_CONNECTING;
	if (set_opts(cl->st, c->fd, o) < 0) {
		cconn_fail(cl, c, "setsockopt", errno);
		return;
	}
	if (us_connect(cl->st, c->fd, (const struct sockaddr *)&o->to,
		       sizeof(o->to)) < 0 &&
	    errno != EINPROGRESS)
		cconn_fail(cl, c, "connect", errno);
}

static void cconn_done(struct client *cl, struct cconn *c)
{
	char hs[65], hr[65];
	struct sockaddr_in me;
	socklen_t len = sizeof(me);

	sha256_hex(&c->hs, hs);
	sha256_hex(&c->hr, hr);
	if (us_getsockname(cl->st, c->fd, (struct sockaddr *)&me, &len) == 0)
		cl->ports[ntohs(me.sin_port) / 8] |=
		    (uint8_t)(1u << (ntohs(me.sin_port) % 8));
	if (cl->o->verbose)
		printf("conn %llu port %u sent %llu sha256 %s received %llu "
		       "sha256 %s\n",
		       (unsigned long long)c->idx, ntohs(me.sin_port),
		       (unsigned long long)c->sent, hs,
		       (unsigned long long)c->rcvd, hr);
	memcpy(cl->last_sent, hs, 65);
	memcpy(cl->last_rcvd, hr, 65);
	cl->last_sent_n = c->sent;
	cl->last_rcvd_n = c->rcvd;
	if (cl->o->expect_echo && (strcmp(hs, hr) || c->sent != c->rcvd)) {
		printf("conn %llu: echo differs: sent %llu bytes %s, received "
		       "%llu bytes %s\n",
		       (unsigned long long)c->idx, (unsigned long long)c->sent,
		       hs, (unsigned long long)c->rcvd, hr);
		cl->echo_bad++;
	}
	if (us_close(cl->st, c->fd) < 0)
		printf("conn %llu: close: %s\n", (unsigned long long)c->idx,
		       ename(errno));
	cl->ok++;
	c->state = C_FREE;
}

/* Drive one connection; returns work done. */
static uint64_t drive(struct client *cl, struct cconn *c)
{
	const struct opts *o = cl->o;
	uint64_t work = 0;

	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t elen = sizeof(err);
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		if (us_getsockopt(cl->st, c->fd, SOL_SOCKET, SO_ERROR, &err,
				  &elen) < 0)
			err = errno;
		if (err) {
			cconn_fail(cl, c, "connect", err);
			return 1;
		}
		if (us_getpeername(cl->st, c->fd, (struct sockaddr *)&peer,
				   &plen) < 0)
			return 0;
		c->state = C_OPEN;
		work++;
	}
	while (c->sent < (uint64_t)o->send) {
		if (c->stage_off == c->stage_len) {
			uint64_t left = (uint64_t)o->send - c->sent;
			c->stage_len = left < STAGE ? (uint32_t)left : STAGE;
			c->stage_off = 0;
			if (!o->no_sha || !c->staged)
				pattern(c->stage, c->sent, STAGE, o->seed);
			c->staged = true;
		}
		ssize_t r = us_send(cl->st, c->fd, c->stage + c->stage_off,
				    c->stage_len - c->stage_off, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			cconn_fail(cl, c, "send", errno);
			return work + 1;
		}
		if (!o->no_sha)
			sha256_update(&c->hs, c->stage + c->stage_off,
				      (size_t)r);
		c->stage_off += (uint32_t)r;
		c->sent += (uint64_t)r;
		cl->tx += (uint64_t)r;
		work += (uint64_t)r;
	}
	if (o->shut && !c->shut && c->sent == (uint64_t)o->send) {
		if (us_shutdown(cl->st, c->fd, SHUT_WR) < 0) {
			cconn_fail(cl, c, "shutdown", errno);
			return work + 1;
		}
		c->shut = true;
		work++;
	}
	/* With --recv N, N bytes are the answer: then shut our side down and
	 * read on to the peer's FIN, so that every connection ends with the
	 * whole closing handshake seen (none is left half-closed in the
	 * peer when this program exits). */
	if (o->recv >= 0 && c->rcvd >= (uint64_t)o->recv && !c->shut &&
	    c->sent == (uint64_t)o->send) {
		if (us_shutdown(cl->st, c->fd, SHUT_WR) < 0) {
			cconn_fail(cl, c, "shutdown", errno);
			return work + 1;
		}
		c->shut = true;
		work++;
	}
	while (!c->eof) {
		ssize_t r = us_recv(cl->st, c->fd, cl->buf, STAGE, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			cconn_fail(cl, c, "recv", errno);
			return work + 1;
		}
		work++;
		if (r == 0) {
			c->eof = true;
			break;
		}
		if (!o->no_sha)
			sha256_update(&c->hr, cl->buf, (size_t)r);
		c->rcvd += (uint64_t)r;
		cl->rx += (uint64_t)r;
		work += (uint64_t)r;
	}
	if (o->recv >= 0 && c->rcvd > (uint64_t)o->recv) {
		cconn_fail(cl, c, "more data than --recv", EPROTO);
		return work + 1;
	}
	bool sent_all = c->sent == (uint64_t)o->send && (!o->shut || c->shut);
	bool got_all = c->eof;
	if (o->recv >= 0 && c->eof && c->rcvd < (uint64_t)o->recv) {
		cconn_fail(cl, c, "early EOF", EPIPE);
		return work + 1;
	}
	if (sent_all && got_all) {
		cconn_done(cl, c);
		work++;
	}
	return work;
}

static int run_client(struct us_stack *st, const struct opts *o)
{
	static struct client cl;
	double t0 = now_s(), deadline = t0 + (double)o->timeout_ms / 1000;
	uint64_t active = 0;
	int rc = 0;

	cl.st = st;
	cl.o = o;
	cl.c = calloc((size_t)o->parallel, sizeof(*cl.c));
	cl.ports = calloc(65536 / 8, 1);
	if (!cl.c || !cl.ports)
		abort();
	for (;;) {
		uint64_t work = 0;
		active = 0;
		for (long long i = 0; i < o->parallel; i++) {
			struct cconn *c = &cl.c[i];
			if (c->state == C_FREE &&
			    cl.started < (uint64_t)o->conns) {
				cconn_start(&cl, c);
				work++;
			}
			if (c->state != C_FREE)
				work += drive(&cl, c);
			if (c->state != C_FREE)
				active++;
		}
		if (!active && cl.started >= (uint64_t)o->conns)
			break;
		if (stop_signal) {
			printf("interrupted\n");
			rc = 1;
			break;
		}
		if (now_s() > deadline) {
			printf("deadline of %lld ms passed: %llu of %lld "
			       "connections done, %llu active\n",
			       o->timeout_ms, (unsigned long long)cl.ok,
			       o->conns, (unsigned long long)active);
			for (long long i = 0; i < o->parallel; i++)
				if (cl.c[i].state != C_FREE)
					printf(
					    "conn %llu: state %s, sent %llu "
					    "received %llu\n",
					    (unsigned long long)cl.c[i].idx,
					    cl.c[i].state == C_CONNECTING
						? "connecting"
						: "open",
					    (unsigned long long)cl.c[i].sent,
					    (unsigned long long)cl.c[i].rcvd);
			rc = 1;
			break;
		}
		if (us_stack_poll(st, work ? 0 : 100) < 0 && errno != EINTR) {
			printf("device error: %s\n", ename(errno));
			rc = 1;
			break;
		}
	}
	for (long long i = 0; i < o->parallel; i++)
		if (cl.c[i].state != C_FREE)
			us_close(st, cl.c[i].fd);
	unsigned ports = 0;
	for (int i = 0; i < 65536 / 8; i++)
		ports += (unsigned)__builtin_popcount(cl.ports[i]);
	double el = now_s() - t0;
	if (cl.ok) {
		printf("sent %llu sha256 %s\n",
		       (unsigned long long)cl.last_sent_n, cl.last_sent);
		printf("received %llu sha256 %s\n",
		       (unsigned long long)cl.last_rcvd_n, cl.last_rcvd);
	}
	printf("connections %lld ok %llu failed %llu echo_bad %llu ports %u "
	       "seconds %.3f tx %llu rx %llu Mbit/s %.1f\n",
	       o->conns, (unsigned long long)cl.ok,
	       (unsigned long long)cl.failed, (unsigned long long)cl.echo_bad,
	       ports, el, (unsigned long long)cl.tx, (unsigned long long)cl.rx,
	       el > 0 ? (double)(cl.tx + cl.rx) * 8 / el / 1e6 : 0.0);
	if (cl.ok != (uint64_t)o->conns || cl.echo_bad)
		rc = 1;
	free(cl.c);
	free(cl.ports);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct us_stack *st;
	struct sigaction sa;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &o);
	st = us_stack_create(&o.cfg);
	if (!st) {
		printf("us_stack_create: %s (%s)\n", ename(errno),
		       strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = o.listen ? run_server(st, &o) : run_client(st, &o);
	if (o.stats)
		print_stats(st);
	us_stack_destroy(st);
	return rc;
}
