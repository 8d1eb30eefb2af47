/* ustack-stat: a running stack's counters (like nstat) and its TCP
 * connections (like ss), read from the shared-memory segment the stack
 * publishes (--stats-name NAME on any ustack program, or
 * us_stack_publish_stats). Reading never calls into the stack, so it works
 * while the stack is saturated or wedged (it then shows the last snapshot
 * and says how old it is).
 *
 *   ustack-stat NAME            non-zero counters
 *   ustack-stat -a NAME         every counter
 *   ustack-stat -c NAME         the connection table
 *   ustack-stat -w 1 NAME       refresh every second (counters: with rates)
 *   ustack-stat -l              list the published stacks
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "appcfg.h"
#include "ustack.h"
#include "ustack-stat/shm_read.h"

struct opts {
	bool all, conns, list;
	double watch;	/* seconds; 0: once */
	uint32_t count; /* refreshes with --watch (0: until a signal) */
	const char *name;
};

static void usage(void)
{
	printf("usage: ustack-stat [options] NAME\n"
	       "       ustack-stat -l\n"
	       "Shows the counters or the TCP connections of a stack that "
	       "publishes its\nstatistics as NAME (--stats-name NAME), from "
	       "/dev/shm/ustack-NAME.\n"
	       "  -a, --all          counters: the zero ones too; connections:"
	       " CLOSED too\n"
	       "  -c, --conns        the connection table (state, addresses, "
	       "queues,\n"
	       "                     RTT, cwnd), like ss -ti\n"
	       "  -w, --watch SEC    refresh every SEC seconds (counters show"
	       " a rate)\n"
	       "  -n, --count N      with --watch: stop after N refreshes\n"
	       "  -l, --list         list the published stacks\n"
	       "  -h, --help         this text\n");
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"conns", no_argument, NULL, 'c'},
	    {"watch", required_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'n'},
	    {"list", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":acw:n:lh", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'c':
			o->conns = true;
			break;
		case 'w':
			errno = 0;
			o->watch = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !(o->watch >= 0.05) || o->watch > 86400)
				app_usage_error("--watch: '%s' is not a number "
						"of seconds in 0.05..86400",
						optarg);
			break;
		case 'n':
			if (!app_parse_u32(optarg, 1, UINT32_MAX, &o->count))
				app_usage_error(
				    "--count: '%s' is not a positive "
				    "number",
				    optarg);
			break;
		case 'l':
			o->list = true;
			break;
		case 'h':
			usage();
			exit(0);
		case ':':
			app_usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				app_usage_error("unknown option '-%c'", optopt);
			app_usage_error("unknown option '%s'",
					argv[optind - 1]);
		}
	}
	if (o->list) {
		if (optind < argc)
			app_usage_error("unexpected argument '%s'",
					argv[optind]);
		return;
	}
	if (optind >= argc)
		app_usage_error("which stack? give the NAME it publishes as");
	if (optind + 1 < argc)
		app_usage_error("unexpected argument '%s'", argv[optind + 1]);
	o->name = argv[optind];
	if (!*o->name || strchr(o->name, '/'))
		app_usage_error("'%s' is not a statistics name", o->name);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line about the publisher: who, where, and how fresh. */
static void print_header(const struct shm_snap *sn, const char *name)
{
	const struct us_shm_hdr *h = &sn->hdr;
	char ip[INET_ADDRSTRLEN];
	double age = wall_now() - (double)h->wall_ns / 1e9;

	inet_ntop(AF_INET, &h->ip, ip, sizeof(ip));
	printf("# %s: pid %d, %s/%u on %.16s %.16s, snapshot %.1f s old\n",
	       name, h->pid, ip, h->prefix_len, h->dev, h->ifname,
	       age < 0 ? 0.0 : age);
	if (!shm_publisher_alive(sn))
		printf("# the publisher (pid %d) has exited: its last "
		       "snapshot\n",
		       h->pid);
	else if (age * 1000 > 5.0 * h->interval_ms + 1000)
		printf("# no update for %.1f s (every %u ms expected): the "
		       "stack is busy or wedged\n",
		       age, h->interval_ms);
}

static void print_counters(const struct shm_snap *sn,
			   const struct shm_snap *prev, double dt, bool all)
{
	for (uint32_t i = 0; i < sn->hdr.nstats; i++) {
		uint64_t v = sn->stats[i];
		uint64_t d = prev && i < prev->hdr.nstats && v >= prev->stats[i]
				 ? v - prev->stats[i]
				 : 0;
		if (!v && !all)
			continue;
		if (prev && dt > 0)
			printf("%-32s %20llu %14.1f/s\n", shm_stat_name(sn, i),
			       (unsigned long long)v, (double)d / dt);
		else
			printf("%-32s %20llu\n", shm_stat_name(sn, i),
			       (unsigned long long)v);
	}
}

static void fmt_addr(char *out, size_t n, const uint8_t a[16], uint16_t port,
		     bool any_port)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	char ip[INET6_ADDRSTRLEN];

	if (!memcmp(a, mapped, 12))
		inet_ntop(AF_INET, a + 12, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
	if (any_port)
		snprintf(out, n, "%s:*", ip);
	else
		snprintf(out, n, "%s:%u", ip, port);
}

static const char *state_name(const struct shm_snap *sn, uint8_t s)
{
	static char buf[16];
	if (s < US_SHM_STATES && memchr(sn->hdr.state_names[s], 0, 16) &&
	    sn->hdr.state_names[s][0])
		return sn->hdr.state_names[s];
	snprintf(buf, sizeof(buf), "state%u", s);
	return buf;
}

static void print_conns(const struct shm_snap *sn, bool all)
{
	char la[64], ra[64];
	uint32_t shown = 0;

	printf("%-12s %8s %8s %-22s %-22s\n", "State", "Recv-Q", "Send-Q",
	       "Local Address:Port", "Peer Address:Port");
	for (uint32_t i = 0; i < sn->hdr.conn_count; i++) {
		const struct us_shm_conn *c = &sn->conns[i];
		const char *state = state_name(sn, c->state);
		bool listen = c->flags & US_SHM_CONN_LISTEN;

		if (!all && !strcmp(state, "CLOSED"))
			continue;
		shown++;
		fmt_addr(la, sizeof(la), c->laddr, c->lport, false);
		fmt_addr(ra, sizeof(ra), c->raddr, c->rport, listen);
		printf("%-12s %8u %8u %-22s %-22s\n", state, c->rcvq, c->sndq,
		       la, ra);
		if (listen) {
			printf("\t synq:%u%s\n", c->synq,
			       c->flags & US_SHM_CONN_ORPHAN ? " orphan" : "");
			continue;
		}
		printf("\t rtt:%.3f/%.3f rto:%u mss:%u cwnd:%u ssthresh:%u "
		       "unacked:%u snd_wnd:%u rcv_wnd:%u retrans:%u "
		       "bytes_acked:%llu bytes_received:%llu%s\n",
		       c->srtt_us / 1000.0, c->rttvar_us / 1000.0, c->rto_ms,
		       c->mss, c->cwnd, c->ssthresh, c->unacked, c->snd_wnd,
		       c->rcv_wnd, c->retrans,
		       (unsigned long long)c->bytes_acked,
		       (unsigned long long)c->bytes_received,
		       c->flags & US_SHM_CONN_ORPHAN ? " orphan" : "");
	}
	printf("# %u shown, %u in the table%s\n", shown, sn->hdr.conn_count,
	       sn->hdr.truncated ? " (truncated: the stack has more)" : "");
}

static int list_stacks(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d) {
		fprintf(stderr, "ustack-stat: /dev/shm: %s\n", strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		struct shm_seg seg;
		struct shm_snap sn;
		const char *name = e->d_name + 7;

		if (strncmp(e->d_name, "ustack-", 7) || !*name)
			continue;
		if (shm_seg_open(&seg, name) < 0)
			continue;
		if (shm_snapshot(&seg, &sn) == 0) {
			printf("%-24s pid %-8d %s\n", name, sn.hdr.pid,
			       shm_publisher_alive(&sn) ? "running" : "exited");
			shm_snap_free(&sn);
			n++;
		}
		shm_seg_close(&seg);
	}
	closedir(d);
	if (!n)
		printf("no stack publishes statistics (start one with "
		       "--stats-name NAME)\n");
	return 0;
}

static int open_seg(struct shm_seg *seg, const char *name)
{
	int rc = shm_seg_open(seg, name);
	if (rc == -ENOENT)
		fprintf(stderr,
			"ustack-stat: no stack publishes as '%s' "
			"(/dev/shm/ustack-%s; see ustack-stat -l)\n",
			name, name);
	else if (rc == -EPROTO)
		fprintf(stderr,
			"ustack-stat: /dev/shm/ustack-%s is not a "
			"ustack statistics segment of version %d\n",
			name, US_SHM_VERSION);
	else if (rc < 0)
		fprintf(stderr, "ustack-stat: /dev/shm/ustack-%s: %s\n", name,
			strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct shm_seg seg;
	struct shm_snap sn, prev;
	bool have_prev = false;
	double t_prev = 0;
	int sfd, rc;

	parse(argc, argv, &o);
	if (o.list)
		return list_stacks();
	if (open_seg(&seg, o.name) < 0)
		return 1;
	sfd = app_signalfd();
	memset(&prev, 0, sizeof(prev));
	for (uint32_t n = 0;; n++) {
		rc = shm_snapshot(&seg, &sn);
		if (rc < 0) {
			fprintf(stderr, "ustack-stat: %s: %s\n", o.name,
				rc == -EAGAIN ? "the writer never finished an "
						"update (did it die?)"
					      : strerror(-rc));
			return 1;
		}
		double t = wall_now();
		if (o.watch && isatty(STDOUT_FILENO))
			fputs("\033[H\033[J", stdout);
		print_header(&sn, o.name);
		if (o.conns)
			print_conns(&sn, o.all);
		else
			print_counters(&sn, have_prev ? &prev : NULL,
				       t - t_prev, o.all);
		fflush(stdout);
		shm_snap_free(&prev);
		prev = sn;
		have_prev = true;
		t_prev = t;
		if (!o.watch || (o.count && n + 1 >= o.count))
			break;
		struct pollfd pfd = {.fd = sfd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(o.watch * 1000)) > 0)
			break;
		/* A new publisher under the same name: follow it. */
		if (shm_seg_replaced(&seg)) {
			struct shm_seg fresh;
			if (shm_seg_open(&fresh, o.name) == 0) {
				shm_seg_close(&seg);
				seg = fresh;
				have_prev = false;
			}
		}
		if (!o.conns)
			printf("\n");
	}
	shm_snap_free(&prev);
	shm_seg_close(&seg);
	return 0;
}
