/* ustack-demo: a stack on a TAP device (or an AF_PACKET interface) that
 * answers ping and echoes UDP on port 7. Built on the public API only.
 *
 *   ustack-demo                      TAP ust0, host side 10.7.0.1/24,
 *                                    the stack at 10.7.0.2/24
 *   ustack-demo --dev afpacket --ifname veth0 --ip 10.8.0.2/24
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ustack.h"
#include "ustack-demo/tcp_services.h"

#define ECHO_PORT 7
#define DISCARD_PORT 9
#define DEFAULT_IF "ust0"

struct opts {
	const char *dev;        /* "tap" or "afpacket" */
	const char *ifname;
	uint32_t ip, gw;        /* network order */
	uint8_t prefix;
	uint32_t host_ip;       /* TAP: the kernel's side (0: derived) */
	uint8_t mac[6];
	uint32_t mtu;
	const char *pcap;
	int log_level;
	bool stats;
	bool busy_poll;
	uint16_t echo_port;
};

/* Set from the signal handler; the loop polls it. The one piece of
 * process-wide state, and it belongs to the program, not the stack. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ustack-demo [options]\n"
		"  --dev tap|afpacket   device (default tap)\n"
		"  --ifname NAME        interface (default " DEFAULT_IF
		" for tap;\n"
		"                       required for afpacket)\n"
		"  --ip A.B.C.D/N       the stack's address (default "
		"10.7.0.2/24)\n"
		"  --gw A.B.C.D         default gateway (default none)\n"
		"  --host-ip A.B.C.D    tap: the kernel side's address (default\n"
		"                       the first host of the stack's subnet)\n"
		"  --mac XX:XX:XX:XX:XX:XX  the stack's MAC (default: picked)\n"
		"  --mtu N              MTU, 576..9000 (default: the device's)\n"
		"  --pcap FILE          write every frame to FILE\n"
		"  --echo-port N        UDP echo port (default 7)\n"
		"  --log-level error|warn|info|debug   (default warn)\n"
		"  --busy-poll          never sleep: poll the device in a loop (lowest\n"
		"                       latency, one core at 100%%)\n"
		"  --stats              print non-zero counters at exit\n"
		"  --help               this text\n");
}

/* A usage error: one line on stderr, status 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("ustack-demo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = a.s_addr;
	return true;
}

static void parse_cidr(const char *s, struct opts *o)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	uint32_t prefix = 24;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf))
		bad_usage("--ip: '%s' is not A.B.C.D/N", s);
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!parse_ip(buf, &o->ip) || o->ip == 0 ||
	    (slash && !parse_u32(slash + 1, 1, 32, &prefix)))
		bad_usage("--ip: '%s' is not A.B.C.D/N", s);
	o->prefix = (uint8_t)prefix;
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &tail) != 6)
		bad_usage("--mac: '%s' is not XX:XX:XX:XX:XX:XX", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		bad_usage("--mac: '%s' is a group (multicast) address", s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		bad_usage("--mac: the all-zero address is not usable");
}

static int parse_level(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	bad_usage("--log-level: '%s' is not error, warn, info or debug", s);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_DEV = 256, O_IFNAME, O_IP, O_GW, O_HOST_IP, O_MAC, O_MTU,
	       O_PCAP, O_LOG, O_STATS, O_HELP, O_ECHO_PORT, O_BUSY };
	static const struct option longopts[] = {
		{"dev", required_argument, NULL, O_DEV},
		{"ifname", required_argument, NULL, O_IFNAME},
		{"ip", required_argument, NULL, O_IP},
		{"gw", required_argument, NULL, O_GW},
		{"host-ip", required_argument, NULL, O_HOST_IP},
		{"mac", required_argument, NULL, O_MAC},
		{"mtu", required_argument, NULL, O_MTU},
		{"pcap", required_argument, NULL, O_PCAP},
		{"echo-port", required_argument, NULL, O_ECHO_PORT},
		{"log-level", required_argument, NULL, O_LOG},
		{"stats", no_argument, NULL, O_STATS},
		{"busy-poll", no_argument, NULL, O_BUSY},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	uint32_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->dev = "tap";
	o->log_level = US_LOG_WARN;
	o->echo_port = ECHO_PORT;
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case O_DEV:
			if (strcmp(optarg, "tap") && strcmp(optarg, "afpacket"))
				bad_usage("--dev: '%s' is not tap or afpacket",
					  optarg);
			o->dev = optarg;
			break;
		case O_IFNAME:
			if (!*optarg || strlen(optarg) >= IFNAMSIZ ||
			    strchr(optarg, '/') || strchr(optarg, ' '))
				bad_usage("--ifname: '%s' is not an interface "
					  "name",
					  optarg);
			o->ifname = optarg;
			break;
		case O_IP:
			parse_cidr(optarg, o);
			break;
		case O_GW:
			if (!parse_ip(optarg, &o->gw) || !o->gw)
				bad_usage("--gw: '%s' is not A.B.C.D", optarg);
			break;
		case O_HOST_IP:
			if (!parse_ip(optarg, &o->host_ip) || !o->host_ip)
				bad_usage("--host-ip: '%s' is not A.B.C.D",
					  optarg);
			break;
		case O_MAC:
			parse_mac(optarg, o->mac);
			break;
		case O_MTU:
			if (!parse_u32(optarg, 576, 9000, &o->mtu))
				bad_usage("--mtu: '%s' is not a number in "
					  "576..9000",
					  optarg);
			break;
		case O_PCAP:
			if (!*optarg)
				bad_usage("--pcap: empty file name");
			o->pcap = optarg;
			break;
		case O_ECHO_PORT:
			if (!parse_u32(optarg, 1, 65535, &v))
				bad_usage("--echo-port: '%s' is not a port",
					  optarg);
			o->echo_port = (uint16_t)v;
			break;
		case O_LOG:
			o->log_level = parse_level(optarg);
			break;
		case O_STATS:
			o->stats = true;
			break;
		case O_BUSY:
			o->busy_poll = true;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		case ':':
			bad_usage("%s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				bad_usage("unknown option '-%c'", optopt);
			bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!strcmp(o->dev, "afpacket") && !o->ifname)
		bad_usage("--dev afpacket needs --ifname");
	if (!o->ifname)
		o->ifname = DEFAULT_IF;
	if (!o->ip) {
		parse_ip("10.7.0.2", &o->ip);
		o->prefix = 24;
	}
}

static uint32_t prefix_mask(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

/* The kernel's side of the TAP: the first host of the stack's subnet, or
 * the second if the stack took the first. */
static uint32_t host_side_ip(const struct opts *o)
{
	uint32_t mask = prefix_mask(o->prefix);
	uint32_t net = ntohl(o->ip & mask);
	uint32_t h = htonl(net + 1);
	return h == o->ip ? htonl(net + 2) : h;
}

static int if_has_ipv4(int s, const char *ifname)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	ifr.ifr_addr.sa_family = AF_INET;
	return ioctl(s, SIOCGIFADDR, &ifr) == 0;
}

static int set_if_addr(int s, const char *ifname, unsigned long req,
		       uint32_t addr)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof(ifr));
	memset(&sin, 0, sizeof(sin));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr;
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

/* Give the kernel's side of the TAP its address and bring it up, the
 * equivalent of `ip addr add H/N dev IF; ip link set IF up`. */
static int configure_host_side(int s, const char *ifname, uint32_t addr,
			       uint32_t mask)
{
	struct ifreq ifr;

	if (set_if_addr(s, ifname, SIOCSIFADDR, addr) < 0 ||
	    set_if_addr(s, ifname, SIOCSIFNETMASK, mask) < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void print_stats(struct us_stack *st)
{
	for (int i = 0; i < us_stat_count(); i++) {
		uint64_t v = us_stat_get(st, i);
		if (v)
			printf("%s %llu\n", us_stat_name(i),
			       (unsigned long long)v);
	}
	fflush(stdout);
}

static int echo_socket(struct us_stack *st, uint16_t port)
{
	struct sockaddr_in sin;
	int fd = us_socket(st, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	/* Receive memory is counted by buffer truesize: a reassembled
	 * datagram sits in a 64 KiB buffer, so the default bound holds only a
	 * few. An echo server facing bursts of large datagrams wants more. */
	int rcvbuf = 2 * 1024 * 1024;
	us_setsockopt(st, fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (us_bind(st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = errno;
		us_close(st, fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Answer every datagram waiting on fd with its own bytes. */
static void echo_pending(struct us_stack *st, int fd, uint8_t *buf,
			 size_t cap, int log_level)
{
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;

	for (;;) {
		flen = sizeof(from);
		n = us_recvfrom(st, fd, buf, cap, 0, (struct sockaddr *)&from,
				&flen);
		if (n < 0) {
			if (errno != EAGAIN && log_level >= US_LOG_INFO)
				fprintf(stderr, "ustack-demo: recvfrom: %s\n",
					strerror(errno));
			if (errno == EAGAIN)
				return;
			continue; /* a pending error was reported: go on */
		}
		if (us_sendto(st, fd, buf, (size_t)n, 0,
			      (struct sockaddr *)&from, flen) < 0 &&
		    log_level >= US_LOG_INFO)
			fprintf(stderr, "ustack-demo: echo to %s: %s\n",
				inet_ntoa(from.sin_addr), strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	struct opts o;
	struct us_config cfg;
	struct us_stack *st;
	struct sigaction sa;
	bool is_tap, existed = false;
	int ks = -1, fd;
	char ipbuf[INET_ADDRSTRLEN], hbuf[INET_ADDRSTRLEN];

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	is_tap = !strcmp(o.dev, "tap");

	us_config_init(&cfg);
	cfg.dev_type = o.dev;
	cfg.ifname = o.ifname;
	cfg.ip = o.ip;
	cfg.prefix_len = o.prefix;
	cfg.gw = o.gw;
	memcpy(cfg.mac, o.mac, 6);
	cfg.mtu = o.mtu;
	cfg.pcap_file = o.pcap;
	cfg.log_level = o.log_level;

	if (is_tap) {
		ks = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (ks < 0) {
			perror("ustack-demo: socket");
			return 1;
		}
		existed = if_nametoindex(o.ifname) != 0;
	}
	st = us_stack_create(&cfg);
	if (!st) {
		fprintf(stderr, "ustack-demo: cannot start the stack on %s %s: "
				"%s\n",
			o.dev, o.ifname, strerror(errno));
		return 1;
	}

	uint32_t host = o.host_ip ? o.host_ip : host_side_ip(&o);
	inet_ntop(AF_INET, &o.ip, ipbuf, sizeof(ipbuf));
	inet_ntop(AF_INET, &host, hbuf, sizeof(hbuf));
	/* Only a TAP we made, or one nobody addressed: never re-address an
	 * interface someone configured on purpose. */
	if (is_tap && (!existed || !if_has_ipv4(ks, o.ifname))) {
		if (configure_host_side(ks, o.ifname, host,
					prefix_mask(o.prefix)) < 0) {
			fprintf(stderr, "ustack-demo: cannot give %s the "
					"address %s/%u: %s\n",
				o.ifname, hbuf, o.prefix, strerror(errno));
			us_stack_destroy(st);
			return 1;
		}
	}
	if (ks >= 0)
		close(ks);

	fd = echo_socket(st, o.echo_port);
	if (fd < 0) {
		fprintf(stderr, "ustack-demo: UDP port %u: %s\n", o.echo_port,
			strerror(errno));
		us_stack_destroy(st);
		return 1;
	}

	/* TCP echo on the same port as UDP echo, discard on 9. */
	struct tcp_services tcp;
	bool have_tcp = tcp_services_init(&tcp, st, o.echo_port,
					  DISCARD_PORT) == 0;
	if (!have_tcp)
		fprintf(stderr, "ustack-demo: no TCP services: %s\n",
			strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uint8_t mac[6];
	us_stack_mac(st, mac);
	printf("ustack-demo: %s/%u on %s %s, MAC "
	       "%02x:%02x:%02x:%02x:%02x:%02x\n",
	       ipbuf, o.prefix, o.dev, o.ifname, mac[0], mac[1], mac[2],
	       mac[3], mac[4], mac[5]);
	if (is_tap)
		printf("  host side %s; try:\n", hbuf);
	else
		printf("  try, from a host on that link:\n");
	printf("    ping %s\n", ipbuf);
	printf("    echo hi | nc -u -w1 %s %u\n", ipbuf, o.echo_port);
	if (have_tcp) {
		printf("    echo hi | nc -N %s %u          # TCP echo\n", ipbuf,
		       o.echo_port);
		printf("    head -c 10M /dev/zero | nc -N %s %u   # TCP discard\n",
		       ipbuf, DISCARD_PORT);
	}
	printf("  Ctrl-C to stop.\n");

	while (!stop_signal) {
		echo_pending(st, fd, buf, sizeof(buf), o.log_level);
		if (have_tcp)
			tcp_services_poll(&tcp, st);
		/* A bounded wait: a signal that lands between the check above
		 * and the sleep inside the poll would otherwise be noticed
		 * only at the next frame. */
		if (us_stack_poll(st, o.busy_poll ? 0 : 500) < 0 &&
		    errno != EINTR) {
			fprintf(stderr, "ustack-demo: device error: %s\n",
				strerror(errno));
			break;
		}
	}

	if (have_tcp)
		tcp_services_fini(&tcp, st);
	us_close(st, fd);
	if (o.stats)
		print_stats(st);
	us_stack_destroy(st);
	return stop_signal ? 0 : 1;
}
