/* ustack-httpd's server and connection state, shared by the main loop
 * (ustack-httpd.c) and the per-connection protocol (http_conn.c). */
#ifndef HTTPD_HTTPD_H
#define HTTPD_HTTPD_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ustack.h"

#define IN_CAP 16384  /* bytes read, not yet parsed */
#define OUT_CAP 65536 /* response bytes not yet sent */
/* Parse the next (pipelined) request only while less than this is
 * waiting to be sent: responses batch, but memory stays bounded. */
#define OUT_LOW 16384
#define URL_MAX 8192  /* request-target; longer: 414 */
#define HDR_MAX 16384 /* header field bytes; more: 431 */
#define PATTERN_LEN (65536 + 256)

struct hconn;

struct hconn_list {
	struct hconn *head, *tail;
};

struct httpd {
	struct us_stack *st;
	int ep, lfd, rootfd;
	struct hconn **conns; /* by ustack descriptor */
	size_t nconns;
	/* Connections by deadline: one list per timeout, so appending at
	 * the tail keeps each sorted. */
	struct hconn_list active, linger;
	uint64_t keepalive_ns, linger_ns;
	http_parser_settings ps;
	bool verbose;
	int64_t date_sec;
	char date[32];
	uint8_t pattern[PATTERN_LEN]; /* /bytes/N body from offset 0 */
	uint64_t accepted, requests, status_class[6], bad_requests;
	uint32_t open;
};

enum body_kind { BODY_NONE, BODY_FILE, BODY_BYTES };

struct hconn {
	int fd;
	struct httpd *h;
	http_parser p;
	uint32_t events;  /* current epoll interest */
	bool rd_eof;	  /* the peer sent FIN */
	bool close_after; /* close when the output has gone */
	bool wr_shut;	  /* shut down our side: lingering */
	/* The request being parsed. */
	int err_status; /* set by a callback that refused it */
	uint32_t url_len, hdr_bytes;
	bool ready; /* complete; the parser is paused */
	bool head;  /* HEAD: the response has no body */
	char url[URL_MAX];
	/* Input and output. */
	uint32_t in_off, in_len;
	uint32_t out_off, out_len;
	enum body_kind body;
	int body_fd;
	uint64_t body_off, body_left;
	/* Timeout list (h->active or h->linger). */
	struct hconn *prev, *next;
	struct hconn_list *list;
	uint64_t deadline;
	char in[IN_CAP];
	char out[OUT_CAP];
};

/* httpd.c: the server. */
struct httpd_params {
	uint16_t port;
	int backlog;	      /* 0: 1024 */
	const char *root;     /* NULL: no files, only /bytes/N and / */
	uint32_t keepalive_s; /* idle connections close after it; 0: 60 */
	bool verbose;	      /* a line per request on stdout */
};
/* Listen on st. NULL and errno on failure, *what saying what failed. */
struct httpd *httpd_start(struct us_stack *st, const struct httpd_params *p,
			  const char **what);
/* Also wait for a kernel descriptor (a signalfd) in httpd_run. */
int httpd_watch_kernel(struct httpd *h, int kfd);
/* One wait of the event loop (timeout_ms: -1 forever, 0 just look) and
 * the work it brought. Returns 1 if the watched kernel descriptor is
 * readable, 0 if not, -1 and errno if the wait failed. */
int httpd_run(struct httpd *h, int timeout_ms);
/* "httpd: connections N open-at-exit K requests R 2xx ..." */
void httpd_summary(const struct httpd *h, FILE *f);
/* Close every connection and the listener; free h. */
void httpd_stop(struct httpd *h);

/* http_conn.c */
void httpd_settings(http_parser_settings *ps);
struct hconn *hconn_new(struct httpd *h, int fd);
/* Move whatever can move; false: close the connection now. */
bool hconn_run(struct hconn *c, uint64_t now);
void hconn_free(struct hconn *c);

/* Timeout lists (httpd.c). */
void hconn_touch(struct hconn *c, struct hconn_list *l, uint64_t deadline);

#endif
