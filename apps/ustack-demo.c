/* ustack-demo: a stack on a TAP device (or an AF_PACKET interface) that
 * answers ping, echoes UDP and TCP on port 7, discards TCP on port 9 and
 * serves HTTP on port 80 (ustack-httpd's server: /bytes/N, and files with
 * --http-root). Built on the public API only.
 *
 *   ustack-demo                      TAP ust0, host side 10.7.0.1/24,
 *                                    the stack at 10.7.0.2/24
 *   ustack-demo --dev afpacket --ifname veth0 --ip 10.8.0.2/24
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcfg.h"
#include "udp_echo.h"
#include "ustack.h"
#include "ustack-demo/tcp_services.h"
#include "ustack-httpd/httpd.h"

#define ECHO_PORT 7
#define DISCARD_PORT 9
#define HTTP_PORT 80

enum { F_ECHO_PORT = 1, F_BUSY, F_HTTP_PORT, F_HTTP_ROOT };

struct demo_opts {
	uint32_t echo_port, http_port;
	const char *http_root;
	bool busy_poll;
};

static const struct app_flag flags[] = {
    {"echo-port", required_argument, F_ECHO_PORT,
     "--echo-port N        UDP and TCP echo port (default 7)"},
    {"http-port", required_argument, F_HTTP_PORT,
     "--http-port N        HTTP port (default 80; 0: no HTTP)"},
    {"http-root", required_argument, F_HTTP_ROOT,
     "--http-root DIR      serve the files under DIR over HTTP"},
    {"busy-poll", no_argument, F_BUSY,
     "--busy-poll          never sleep: poll the device in a loop (lowest\n"
     "                       latency, one core at 100%)"},
    {NULL, 0, 0, NULL},
};

static void on_flag(void *ctx, int id, const char *arg)
{
	struct demo_opts *o = ctx;

	switch (id) {
	case F_ECHO_PORT:
		if (!app_parse_u32(arg, 1, 65535, &o->echo_port))
			app_usage_error("--echo-port: '%s' is not a port", arg);
		break;
	case F_HTTP_PORT:
		if (!app_parse_u32(arg, 0, 65535, &o->http_port))
			app_usage_error("--http-port: '%s' is not a port", arg);
		break;
	case F_HTTP_ROOT:
		if (!*arg)
			app_usage_error("--http-root: empty directory name");
		o->http_root = arg;
		break;
	case F_BUSY:
		o->busy_poll = true;
		break;
	}
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

static void print_try(const struct app_cfg *cfg, const struct demo_opts *o,
		      bool have_tcp, bool have_http)
{
	char ipbuf[INET_ADDRSTRLEN], hbuf[INET_ADDRSTRLEN];
	uint32_t host = app_host_ip(cfg);

	inet_ntop(AF_INET, &cfg->ip, ipbuf, sizeof(ipbuf));
	inet_ntop(AF_INET, &host, hbuf, sizeof(hbuf));
	if (!strcmp(cfg->dev, "tap"))
		printf("  host side %s; try:\n", hbuf);
	else
		printf("  try, from a host on that link:\n");
	printf("    ping %s\n", ipbuf);
	printf("    echo hi | nc -u -w1 %s %u\n", ipbuf, o->echo_port);
	if (have_tcp) {
		printf("    echo hi | nc -N %s %u          # TCP echo\n", ipbuf,
		       o->echo_port);
		printf(
		    "    head -c 10M /dev/zero | nc -N %s %u   # TCP discard\n",
		    ipbuf, DISCARD_PORT);
	}
	if (have_http) {
		char hp[32];
		if (o->http_port == 80)
			snprintf(hp, sizeof(hp), "%s", ipbuf);
		else
			snprintf(hp, sizeof(hp), "%s:%u", ipbuf, o->http_port);
		printf("    curl http://%s/\n", hp);
		printf("    curl -o /dev/null http://%s/bytes/100000000\n", hp);
	}
	printf("  Ctrl-C to stop.\n");
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	struct demo_opts o = {.echo_port = ECHO_PORT, .http_port = HTTP_PORT};
	struct app_cfg cfg;
	struct us_stack *st;
	struct httpd *http = NULL;
	int fd, sfd, argi, rc = 0;

	argi =
	    app_parse(&cfg, argc, argv,
		      "usage: ustack-demo [options]\n"
		      "A stack that answers ping, echoes UDP and TCP (port 7),"
		      " discards TCP (9)\nand serves HTTP (80).\n",
		      flags, on_flag, &o);
	if (argi < argc)
		app_usage_error("unexpected argument '%s'", argv[argi]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	sfd = app_signalfd();
	if (sfd < 0) {
		perror("ustack-demo: signalfd");
		return 1;
	}
	st = app_stack_start(&cfg);
	if (!st)
		return 1;

	fd = echo_socket(st, (uint16_t)o.echo_port);
	if (fd < 0) {
		fprintf(stderr, "ustack-demo: UDP port %u: %s\n", o.echo_port,
			strerror(errno));
		app_stack_stop(&cfg, st);
		return 1;
	}

	/* TCP echo on the same port as UDP echo, discard on 9. */
	struct tcp_services tcp;
	bool have_tcp = tcp_services_init(&tcp, st, (uint16_t)o.echo_port,
					  DISCARD_PORT) == 0;
	if (!have_tcp)
		fprintf(stderr, "ustack-demo: no TCP services: %s\n",
			strerror(errno));
	if (o.http_port) {
		struct httpd_params hp = {.port = (uint16_t)o.http_port,
					  .root = o.http_root};
		const char *what = "";
		http = httpd_start(st, &hp, &what);
		if (!http)
			fprintf(stderr, "ustack-demo: no HTTP: %s: %s\n", what,
				strerror(errno));
	}

	app_print_stack(&cfg, st);
	print_try(&cfg, &o, have_tcp, http != NULL);

	while (!app_signalled(sfd)) {
		/* Looks at the HTTP connections without sleeping: the wait
		 * below wakes for any frame, whichever service it is for.
		 * First, since it turns the stack too (us_epoll_wait): what
		 * that turn receives for UDP or TCP echo is served just
		 * below, not after the wait's 500 ms. */
		if (http && httpd_run(http, 0) < 0) {
			fprintf(stderr, "ustack-demo: device error: %s\n",
				strerror(errno));
			rc = 1;
			break;
		}
		uint64_t drops = 0;
		app_udp_echo(st, fd, buf, sizeof(buf), -1,
			     cfg.log_level >= US_LOG_INFO ? "ustack-demo" : NULL,
			     &drops);
		if (have_tcp)
			tcp_services_poll(&tcp, st);
		/* A bounded wait: SIGINT/SIGTERM are read from a descriptor
		 * this loop checks between waits. */
		if (us_stack_poll(st, o.busy_poll ? 0 : 500) < 0 &&
		    errno != EINTR) {
			fprintf(stderr, "ustack-demo: device error: %s\n",
				strerror(errno));
			rc = 1;
			break;
		}
	}

	httpd_stop(http);
	if (have_tcp)
		tcp_services_fini(&tcp, st);
	us_close(st, fd);
	app_stack_stop(&cfg, st);
	return rc;
}
