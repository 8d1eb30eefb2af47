/* The programs' shared command line and stack set-up (appcfg.h). */
#define _GNU_SOURCE
#include "appcfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_IF "ust0"
#define DEFAULT_STATS_MS 200

/* The common flags' ids: above any program's own. */
enum {
	O_DEV = 1000,
	O_IFNAME,
	O_IP,
	O_GW,
	O_HOST_IP,
	O_MAC,
	O_MTU,
	O_PCAP,
	O_LOG,
	O_STATS,
	O_STATS_NAME,
	O_STATS_MS,
	O_DROP_DATA,
	O_LOSS,
	O_IMPAIR_SEED,
	O_HELP,
};

static const struct app_flag common_flags[] = {
    {"dev", required_argument, O_DEV,
     "--dev tap|afpacket   device (default tap)"},
    {"ifname", required_argument, O_IFNAME,
     "--ifname NAME        interface (default " DEFAULT_IF " for tap;\n"
     "                       required for afpacket)"},
    {"ip", required_argument, O_IP,
     "--ip A.B.C.D/N       the stack's address (default 10.7.0.2/24)"},
    {"gw", required_argument, O_GW,
     "--gw A.B.C.D         default gateway (default none)"},
    {"host-ip", required_argument, O_HOST_IP,
     "--host-ip A.B.C.D    tap: the kernel side's address (default\n"
     "                       the first host of the stack's subnet)"},
    {"mac", required_argument, O_MAC,
     "--mac XX:XX:XX:XX:XX:XX  the stack's MAC (default: picked)"},
    {"mtu", required_argument, O_MTU,
     "--mtu N              MTU, 576..9000 (default: the device's)"},
    {"pcap", required_argument, O_PCAP,
     "--pcap FILE          write every frame to FILE"},
    {"log-level", required_argument, O_LOG,
     "--log-level error|warn|info|debug   (default warn)"},
    {"stats", no_argument, O_STATS,
     "--stats              print non-zero counters at exit"},
    {"stats-name", required_argument, O_STATS_NAME,
     "--stats-name NAME    publish counters and connections in\n"
     "                       /dev/shm/ustack-NAME (read with ustack-stat)"},
    {"stats-interval", required_argument, O_STATS_MS,
     "--stats-interval MS  how often to publish, 10..60000 (default 200)"},
    {"drop-data", required_argument, O_DROP_DATA,
     "--drop-data LIST     drop these TCP data segments the stack sends:\n"
     "                       comma-separated 1-based ordinals, e.g.\n"
     "                       20,22,24 (a test's impairment; --stats\n"
     "                       counts them as impair_exact)"},
    {"loss", required_argument, O_LOSS,
     "--loss P             drop each frame the stack sends with\n"
     "                       probability P, 0..1 (impair_loss)"},
    {"impair-seed", required_argument, O_IMPAIR_SEED,
     "--impair-seed N      seed of --loss's random choices (default 0)"},
    {"help", no_argument, O_HELP, "--help               this text"},
    {NULL, 0, 0, NULL},
};

void app_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

bool app_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool app_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			return false;
		}
		if (end[1])
			return false;
	}
	if (v > (max >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

bool app_parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = a.s_addr;
	return true;
}

bool app_parse_list(const char *s, uint32_t *out, int *n)
{
	char buf[16];
	int k = 0;

	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		if (k == APP_MAX_DROPS || len == 0 || len >= sizeof(buf))
			return false;
		memcpy(buf, s, len);
		buf[len] = 0;
		if (!app_parse_u32(buf, 1, UINT32_MAX, &out[k++]))
			return false;
		if (!comma)
			break;
		s = comma + 1;
	}
	*n = k;
	return true;
}

static bool parse_prob(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || *s == ' ')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0 && v <= 1)) /* NaN fails too */
		return false;
	*out = v;
	return true;
}

bool app_parse_ipport(const char *s, uint32_t *ip, uint16_t *port)
{
	char buf[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	uint32_t p;
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!app_parse_ip(buf, ip) || !*ip ||
	    !app_parse_u32(colon + 1, 1, 65535, &p))
		return false;
	*port = (uint16_t)p;
	return true;
}

static void parse_cidr(const char *s, struct app_cfg *c)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	uint32_t prefix = 24;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf))
		app_usage_error("--ip: '%s' is not A.B.C.D/N", s);
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!app_parse_ip(buf, &c->ip) || c->ip == 0 ||
	    (slash && !app_parse_u32(slash + 1, 1, 32, &prefix)))
		app_usage_error("--ip: '%s' is not A.B.C.D/N", s);
	c->prefix = (uint8_t)prefix;
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &tail) != 6)
		app_usage_error("--mac: '%s' is not XX:XX:XX:XX:XX:XX", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		app_usage_error("--mac: '%s' is a group (multicast) address",
				s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		app_usage_error("--mac: the all-zero address is not usable");
}

static int parse_level(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	app_usage_error("--log-level: '%s' is not error, warn, info or debug",
			s);
}

/* The characters a shared-memory name may hold: it becomes a file name. */
static bool good_stats_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

static void common_flag(struct app_cfg *c, int id, const char *arg)
{
	if (id != O_STATS && id != O_STATS_NAME && id != O_STATS_MS &&
	    id != O_LOG)
		c->dev_given = true;
	switch (id) {
	case O_DEV:
		if (strcmp(arg, "tap") && strcmp(arg, "afpacket"))
			app_usage_error("--dev: '%s' is not tap or afpacket",
					arg);
		c->dev = arg;
		break;
	case O_IFNAME:
		if (!*arg || strlen(arg) >= IFNAMSIZ || strchr(arg, '/') ||
		    strchr(arg, ' '))
			app_usage_error(
			    "--ifname: '%s' is not an interface name", arg);
		c->ifname = arg;
		break;
	case O_IP:
		parse_cidr(arg, c);
		break;
	case O_GW:
		if (!app_parse_ip(arg, &c->gw) || !c->gw)
			app_usage_error("--gw: '%s' is not A.B.C.D", arg);
		break;
	case O_HOST_IP:
		if (!app_parse_ip(arg, &c->host_ip) || !c->host_ip)
			app_usage_error("--host-ip: '%s' is not A.B.C.D", arg);
		break;
	case O_MAC:
		parse_mac(arg, c->mac);
		break;
	case O_MTU:
		if (!app_parse_u32(arg, 576, 9000, &c->mtu))
			app_usage_error("--mtu: '%s' is not a number in "
					"576..9000",
					arg);
		break;
	case O_PCAP:
		if (!*arg)
			app_usage_error("--pcap: empty file name");
		c->pcap = arg;
		break;
	case O_LOG:
		c->log_level = parse_level(arg);
		break;
	case O_STATS:
		c->stats = true;
		break;
	case O_STATS_NAME:
		if (!good_stats_name(arg))
			app_usage_error("--stats-name: '%s' is not 1..64 of "
					"A-Z a-z 0-9 . _ -",
					arg);
		c->stats_name = arg;
		break;
	case O_DROP_DATA:
		if (!app_parse_list(arg, c->drop_data, &c->ndrop))
			app_usage_error("--drop-data: '%s' is not a list of up "
					"to %d numbers 1.. separated by commas",
					arg, APP_MAX_DROPS);
		break;
	case O_LOSS:
		if (!parse_prob(arg, &c->loss))
			app_usage_error("--loss: '%s' is not a probability "
					"0..1",
					arg);
		break;
	case O_IMPAIR_SEED: {
		char *end;
		errno = 0;
		c->impair_seed = strtoull(arg, &end, 10);
		if (!*arg || *arg < '0' || *arg > '9' || errno || *end)
			app_usage_error("--impair-seed: '%s' is not a number",
					arg);
		break;
	}
	case O_STATS_MS:
		if (!app_parse_u32(arg, 10, 60000, &c->stats_ms))
			app_usage_error(
			    "--stats-interval: '%s' is not a number "
			    "in 10..60000",
			    arg);
		break;
	}
}

static void usage(const char *about, const struct app_flag *flags)
{
	fputs(about, stdout);
	for (const struct app_flag *f = flags; f && f->name; f++)
		printf("  %s\n", f->help);
	printf("device and common options:\n");
	for (const struct app_flag *f = common_flags; f->name; f++) {
		/* Continuation lines of a help text keep their indent. */
		printf("  ");
		for (const char *p = f->help; *p; p++) {
			putchar(*p);
			if (*p == '\n')
				printf("  ");
		}
		putchar('\n');
	}
}

static size_t count_flags(const struct app_flag *f)
{
	size_t n = 0;
	while (f && f[n].name)
		n++;
	return n;
}

int app_parse(struct app_cfg *cfg, int argc, char **argv, const char *about,
	      const struct app_flag *flags, app_flag_fn fn, void *ctx)
{
	size_t np = count_flags(flags), nc = count_flags(common_flags);
	struct option *lo = calloc(np + nc + 1, sizeof(*lo));
	int c;

	if (!lo) {
		fprintf(stderr, "%s: out of memory\n",
			program_invocation_short_name);
		exit(1);
	}
	for (size_t i = 0; i < np; i++)
		lo[i] = (struct option){flags[i].name, flags[i].has_arg, NULL,
					flags[i].id};
	for (size_t i = 0; i < nc; i++)
		lo[np + i] = (struct option){common_flags[i].name,
					     common_flags[i].has_arg, NULL,
					     common_flags[i].id};

	memset(cfg, 0, sizeof(*cfg));
	cfg->dev = "tap";
	cfg->log_level = US_LOG_WARN;
	cfg->stats_ms = DEFAULT_STATS_MS;
	opterr = 0; /* our own one-line messages */
	/* "+": stop at the first positional, as its meaning is the program's.
	 */
	while ((c = getopt_long(argc, argv, "+:", lo, NULL)) != -1) {
		if (c == O_HELP) {
			usage(about, flags);
			exit(0);
		}
		if (c == ':')
			app_usage_error("%s needs a value", argv[optind - 1]);
		if (c == '?') {
			if (optopt)
				app_usage_error("unknown option '-%c'", optopt);
			app_usage_error("unknown option '%s'",
					argv[optind - 1]);
		}
		if (c >= O_DEV)
			common_flag(cfg, c, optarg);
		else
			fn(ctx, c, optarg);
	}
	free(lo);
	if (!strcmp(cfg->dev, "afpacket") && !cfg->ifname)
		app_usage_error("--dev afpacket needs --ifname");
	if (!cfg->ifname)
		cfg->ifname = DEFAULT_IF;
	if (!cfg->ip) {
		app_parse_ip("10.7.0.2", &cfg->ip);
		cfg->prefix = 24;
	}
	return optind;
}

static uint32_t prefix_mask(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

uint32_t app_host_ip(const struct app_cfg *c)
{
	if (c->host_ip)
		return c->host_ip;
	/* The first host of the stack's subnet, or the second if the stack
	 * took the first. */
	uint32_t net = ntohl(c->ip & prefix_mask(c->prefix));
	uint32_t h = htonl(net + 1);
	return h == c->ip ? htonl(net + 2) : h;
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

struct us_stack *app_stack_start(const struct app_cfg *c)
{
	const char *prog = program_invocation_short_name;
	bool is_tap = !strcmp(c->dev, "tap"), existed = false;
	struct us_config cfg;
	struct us_impair imp;
	struct us_stack *st;
	int ks = -1;

	us_config_init(&cfg);
	cfg.dev_type = c->dev;
	cfg.ifname = c->ifname;
	cfg.ip = c->ip;
	cfg.prefix_len = c->prefix;
	cfg.gw = c->gw;
	memcpy(cfg.mac, c->mac, 6);
	cfg.mtu = c->mtu;
	cfg.pcap_file = c->pcap;
	cfg.log_level = c->log_level;
	if (c->ndrop || c->loss > 0) {
		memset(&imp, 0, sizeof(imp));
		imp.seed = c->impair_seed;
		imp.loss = c->loss;
		imp.drop_class = US_IMPAIR_TCP_DATA;
		imp.drop_list = c->drop_data;
		imp.drop_count = c->ndrop;
		cfg.impair = &imp; /* copied by us_stack_create */
	}

	if (is_tap) {
		ks = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (ks < 0) {
			fprintf(stderr, "%s: socket: %s\n", prog,
				strerror(errno));
			return NULL;
		}
		existed = if_nametoindex(c->ifname) != 0;
	}
	st = us_stack_create(&cfg);
	if (!st) {
		fprintf(stderr, "%s: cannot start the stack on %s %s: %s\n",
			prog, c->dev, c->ifname, strerror(errno));
		goto fail;
	}
	/* Only a TAP we made, or one nobody addressed: never re-address an
	 * interface someone configured on purpose. */
	if (is_tap && (!existed || !if_has_ipv4(ks, c->ifname))) {
		uint32_t host = app_host_ip(c);
		if (configure_host_side(ks, c->ifname, host,
					prefix_mask(c->prefix)) < 0) {
			char hb[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &host, hb, sizeof(hb));
			fprintf(stderr,
				"%s: cannot give %s the address %s/%u: "
				"%s\n",
				prog, c->ifname, hb, c->prefix,
				strerror(errno));
			goto fail;
		}
	}
	if (c->stats_name &&
	    us_stack_publish_stats(st, c->stats_name, c->stats_ms) < 0) {
		fprintf(stderr, "%s: cannot publish statistics as '%s': %s\n",
			prog, c->stats_name, strerror(errno));
		goto fail;
	}
	if (ks >= 0)
		close(ks);
	return st;
fail:
	if (st)
		us_stack_destroy(st);
	if (ks >= 0)
		close(ks);
	return NULL;
}

void app_print_stack(const struct app_cfg *c, struct us_stack *st)
{
	char ip[INET_ADDRSTRLEN];
	uint8_t m[6];

	inet_ntop(AF_INET, &c->ip, ip, sizeof(ip));
	us_stack_mac(st, m);
	printf("%s: %s/%u on %s %s, MAC %02x:%02x:%02x:%02x:%02x:%02x\n",
	       program_invocation_short_name, ip, c->prefix, c->dev, c->ifname,
	       m[0], m[1], m[2], m[3], m[4], m[5]);
	if (c->stats_name)
		printf("  statistics: ustack-stat %s (ustack-stat -c %s)\n",
		       c->stats_name, c->stats_name);
}

/* The impair wrapper's own drops, beside the stack's counters. */
static void print_impair(struct us_stack *st)
{
	struct us_impair_stats is;

	if (us_impair_stats(us_stack_dev(st), &is) < 0)
		return;
	printf("impair_exact %llu\nimpair_loss %llu\n",
	       (unsigned long long)is.exact, (unsigned long long)is.loss);
}

void app_stack_stop(const struct app_cfg *c, struct us_stack *st)
{
	if (!st)
		return;
	if (c->stats) {
		for (int i = 0; i < us_stat_count(); i++) {
			uint64_t v = us_stat_get(st, i);
			if (v)
				printf("%s %llu\n", us_stat_name(i),
				       (unsigned long long)v);
		}
		print_impair(st);
		fflush(stdout);
	}
	us_stack_destroy(st);
}

int app_signalfd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

bool app_signalled(int sfd)
{
	struct signalfd_siginfo si;
	return read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

uint64_t app_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
