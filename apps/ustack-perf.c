/* ustack-perf: bulk transfer and request/response over plain TCP, on
 * ustack or (--kernel) on the kernel's own sockets with the same protocol
 * and the same event loop, so one tool is either end of ustack-to-kernel,
 * kernel-to-ustack, ustack-to-ustack and kernel-to-kernel.
 *
 *   ustack-perf --server [--kernel]                     port 5201
 *   ustack-perf --client 10.8.0.1 --send --duration 10  ustack -> server
 *   ustack-perf --client 10.8.0.1 --recv                server -> ustack
 *   ustack-perf --client 10.8.0.1 --rr --req-size 64 --resp-size 1024 \
 *               --conns 16 --json
 *
 * Reports Gbit/s (bulk), transactions per second and latency percentiles
 * p50/p90/p99/p999 (rr). Exit status: 0 done, 1 a connection failed (or
 * bytes went missing), 2 bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcfg.h"
#include "ustack-perf/perf.h"

enum {
	F_SERVER = 1,
	F_CLIENT,
	F_PORT,
	F_SEND,
	F_RECV,
	F_RR,
	F_REQ,
	F_RESP,
	F_CONNS,
	F_DURATION,
	F_JSON,
	F_KERNEL,
	F_BUF,
	F_SOCKBUF,
	F_CONNECT_TIMEOUT,
	F_MAX_CONNS,
};

static const struct app_flag flags[] = {
    {"server", no_argument, F_SERVER,
     "--server             serve clients (any mode) until stopped"},
    {"client", required_argument, F_CLIENT,
     "--client A.B.C.D     run a test against the server there"},
    {"port", required_argument, F_PORT,
     "--port N             TCP port (default 5201)"},
    {"send", no_argument, F_SEND,
     "--send               bulk, client -> server (the default)"},
    {"recv", no_argument, F_RECV,
     "--recv               bulk, server -> client"},
    {"rr", no_argument, F_RR,
     "--rr                 request/response, one in flight per "
     "connection"},
    {"req-size", required_argument, F_REQ,
     "--req-size N         rr: request bytes (default 1; K, M suffixes)"},
    {"resp-size", required_argument, F_RESP,
     "--resp-size N        rr: response bytes (default 1)"},
    {"conns", required_argument, F_CONNS,
     "--conns N            parallel connections (default 1)"},
    {"duration", required_argument, F_DURATION,
     "--duration S         seconds to run (default 10)"},
    {"json", no_argument, F_JSON,
     "--json               one JSON object instead of text"},
    {"kernel", no_argument, F_KERNEL,
     "--kernel             use the kernel's TCP, not ustack (no device\n"
     "                       flags then)"},
    {"buffer", required_argument, F_BUF,
     "--buffer N           bytes per send/recv call (default 128K)"},
    {"sockbuf", required_argument, F_SOCKBUF,
     "--sockbuf N          SO_SNDBUF and SO_RCVBUF (default: the "
     "stack's)"},
    {"connect-timeout", required_argument, F_CONNECT_TIMEOUT,
     "--connect-timeout S  give up connecting after S seconds (default 5)"},
    {"max-conns", required_argument, F_MAX_CONNS,
     "--max-conns N        server: exit after N connections ended"},
    {NULL, 0, 0, NULL},
};

static double parse_secs(const char *flag, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		app_usage_error("%s: '%s' is not a number of seconds in "
				"%g..%g",
				flag, s, lo, hi);
	return v;
}

static uint32_t parse_bytes(const char *flag, const char *s, uint64_t lo,
			    uint64_t hi)
{
	uint64_t v;
	if (!app_parse_size(s, hi, &v) || v < lo)
		app_usage_error("%s: '%s' is not a byte count in %llu..%llu",
				flag, s, (unsigned long long)lo,
				(unsigned long long)hi);
	return (uint32_t)v;
}

static void on_flag(void *ctx, int id, const char *arg)
{
	struct perf_opts *o = ctx;
	uint32_t v;

	switch (id) {
	case F_SERVER:
		o->server = true;
		break;
	case F_CLIENT:
		if (!app_parse_ip(arg, &o->server_ip) || !o->server_ip)
			app_usage_error("--client: '%s' is not A.B.C.D", arg);
		break;
	case F_PORT:
		if (!app_parse_u32(arg, 1, 65535, &v))
			app_usage_error("--port: '%s' is not a port", arg);
		o->port = (uint16_t)v;
		break;
	case F_SEND:
	case F_RECV:
	case F_RR:
		if (o->mode)
			app_usage_error("--send, --recv and --rr: choose one");
		o->mode = id == F_SEND	 ? PERF_SEND
			  : id == F_RECV ? PERF_RECV
					 : PERF_RR;
		break;
	case F_REQ:
		o->req_size = parse_bytes("--req-size", arg, 1, PERF_SIZE_MAX);
		break;
	case F_RESP:
		o->resp_size =
		    parse_bytes("--resp-size", arg, 1, PERF_SIZE_MAX);
		break;
	case F_CONNS:
		if (!app_parse_u32(arg, 1, 10000, &o->conns))
			app_usage_error("--conns: '%s' is not in 1..10000",
					arg);
		break;
	case F_DURATION:
		o->duration = parse_secs("--duration", arg, 0.1, 86400);
		break;
	case F_JSON:
		o->json = true;
		break;
	case F_KERNEL:
		o->kernel = true;
		break;
	case F_BUF:
		o->buf = parse_bytes("--buffer", arg, 1, 16u << 20);
		break;
	case F_SOCKBUF:
		o->sockbuf = parse_bytes("--sockbuf", arg, 4096, 256u << 20);
		break;
	case F_CONNECT_TIMEOUT:
		o->connect_timeout =
		    parse_secs("--connect-timeout", arg, 0.1, 3600);
		break;
	case F_MAX_CONNS:
		if (!app_parse_u32(arg, 1, UINT32_MAX, &o->max_conns))
			app_usage_error("--max-conns: '%s' is not a positive "
					"number",
					arg);
		break;
	}
}

int main(int argc, char **argv)
{
	struct perf_opts o = {.port = PERF_DEFAULT_PORT,
			      .req_size = 1,
			      .resp_size = 1,
			      .conns = 1,
			      .duration = 10,
			      .buf = 128 << 10,
			      .connect_timeout = 5};
	struct app_cfg cfg;
	struct pnet n = {.st = NULL, .ep = -1};
	int rc = 1, argi, sfd;

	argi =
	    app_parse(&cfg, argc, argv,
		      "usage: ustack-perf --server [options]\n"
		      "       ustack-perf --client A.B.C.D [--send|--recv|--rr]"
		      " [options]\n"
		      "TCP throughput, transactions per second and latency, "
		      "on ustack or (--kernel)\nthe kernel, with one protocol,"
		      " so either end may be either stack.\n",
		      flags, on_flag, &o);
	if (argi < argc)
		app_usage_error("unexpected argument '%s'", argv[argi]);
	if (o.server == (o.server_ip != 0))
		app_usage_error("give one of --server or --client A.B.C.D");
	if (!o.mode)
		o.mode = PERF_SEND;
	if (o.kernel && (cfg.dev_given || cfg.stats_name))
		app_usage_error("--kernel uses the kernel's sockets: device "
				"and --stats-name flags do not apply");
	setvbuf(stdout, NULL, _IOLBF, 0);

	sfd = app_signalfd();
	if (sfd < 0) {
		perror("ustack-perf: signalfd");
		return 1;
	}
	if (!o.kernel) {
		n.st = app_stack_start(&cfg);
		if (!n.st)
			return 1;
		if (!o.json)
			app_print_stack(&cfg, n.st);
	}
	if (pn_ep_create(&n) < 0 ||
	    pn_ep_add_kernel(&n, sfd, PERF_TAG_SIGNAL) < 0) {
		fprintf(stderr, "ustack-perf: epoll: %s\n", strerror(errno));
		goto out;
	}
	rc = o.server ? perf_server(&n, &o, sfd) : perf_client(&n, &o, sfd);
out:
	if (n.st) {
		app_stack_stop(&cfg, n.st);
	} else {
		if (n.ep >= 0)
			close(n.ep);
		if (cfg.stats)
			printf(
			    "(--stats: the kernel's counters are in nstat)\n");
	}
	return rc;
}
