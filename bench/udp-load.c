/* UDP echo load on the kernel's sockets, for the bench suite.
 *
 *   udp-load --server PORT            echo every datagram back (RFC 862)
 *   udp-load --client A.B.C.D:PORT [--window W] [--size B] [--seconds S]
 *            keep W datagrams in flight, count the echoes that come back;
 *            prints one JSON line with echoes per second.
 *
 * A datagram lost on the way is noticed by 10 ms without an echo, and the
 * window is then refilled, so loss slows the figure but never stalls it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "udp-load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static _Noreturn void serve(int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	printf("listening %d\n", port);
	fflush(stdout);
	char buf[65536];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvfrom");
		}
		sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int client(const char *dst, int window, int size, double secs)
{
	char host[64];
	int port;
	if (sscanf(dst, "%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "udp-load: bad address '%s'\n", dst);
		return 2;
	}
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
		fprintf(stderr, "udp-load: bad address '%s'\n", dst);
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)))
		die("connect");
	char buf[65536];
	memset(buf, 'u', sizeof(buf));
	long long echoes = 0, sent = 0, refills = 0;
	int inflight = 0;
	double t0 = now_s(), t;
	while ((t = now_s() - t0) < secs) {
		while (inflight < window && send(s, buf, (size_t)size, 0) > 0) {
			inflight++;
			sent++;
		}
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (poll(&p, 1, 10) == 0) {
			inflight = 0; /* lost: refill the window */
			refills++;
			continue;
		}
		while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
			echoes++;
			if (inflight > 0)
				inflight--;
		}
	}
	printf("{\"figure\":\"udp_echo\",\"sent\":%lld,\"echoes\":%lld,"
	       "\"seconds\":%.3f,\"pps\":%.0f,\"window\":%d,\"size\":%d,"
	       "\"refills\":%lld}\n",
	       sent, echoes, t, (double)echoes / t, window, size, refills);
	return echoes > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int server = 0, window = 32, size = 64;
	double secs = 5;
	const char *dst = NULL;
	static const struct option opts[] = {
	    {"server", required_argument, 0, 'S'},
	    {"client", required_argument, 0, 'c'},
	    {"window", required_argument, 0, 'w'},
	    {"size", required_argument, 0, 'z'},
	    {"seconds", required_argument, 0, 's'},
	    {0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'S':
			server = atoi(optarg);
			break;
		case 'c':
			dst = optarg;
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'z':
			size = atoi(optarg);
			break;
		case 's':
			secs = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (server > 0)
		serve(server);
	if (!dst || window < 1 || size < 0 || size > 65507 || secs <= 0) {
		fprintf(stderr, "usage: udp-load --server PORT | --client "
				"A.B.C.D:PORT [--window W] [--size B] "
				"[--seconds S]\n");
		return 2;
	}
	return client(dst, window, size, secs);
}
