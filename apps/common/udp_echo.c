/* The UDP echo service (RFC 862) the demo and ustack-echo both run. */
#include "udp_echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

uint64_t app_udp_echo(struct us_stack *st, int fd, uint8_t *buf, size_t cap,
		      int max, const char *log_prog, uint64_t *drops)
{
	uint64_t echoed = 0;

	for (int i = 0; max < 0 || i < max; i++) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = us_recvfrom(st, fd, buf, cap, 0,
					(struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			if (log_prog)
				fprintf(stderr, "%s: recvfrom: %s\n", log_prog,
					strerror(errno));
			continue; /* a pending ICMP error was reported: go on */
		}
		/* RFC 1122 3.2.1.3: 0.0.0.0 ("this host", a booting host's
		 * source to a broadcast) is never a destination. Sending to
		 * it reaches ourselves, so a datagram from 0.0.0.0:7 would
		 * echo to our own port 7, forever. */
		if (from.sin_addr.s_addr == htonl(INADDR_ANY)) {
			if (log_prog)
				fprintf(stderr, "%s: not echoing to 0.0.0.0\n",
					log_prog);
			(*drops)++;
			continue;
		}
		if (us_sendto(st, fd, buf, (size_t)n, 0,
			      (struct sockaddr *)&from, flen) < 0) {
			if (log_prog)
				fprintf(stderr, "%s: echo to %s: %s\n",
					log_prog, inet_ntoa(from.sin_addr),
					strerror(errno));
			(*drops)++;
		} else {
			echoed++;
		}
	}
	return echoed;
}
