/* The parts of request handling that need no network and no parser
 * library (so unit tests can reach them): the request path made safe, the
 * /bytes/N benchmark bodies, content types, status lines and the response
 * header. */
#ifndef HTTPD_HTTP_REQ_H
#define HTTPD_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_BYTES_MAX (1ull << 30) /* largest /bytes/N: 1 GiB */
/* /bytes/N bodies repeat the bytes 0, 1, ..., 250: a prime period, so a
 * piece of the body put at the wrong offset (by MSS or page multiples)
 * cannot look right. */
#define HTTP_BYTES_PERIOD 251

/* Turn a request path (the path part of the target, without the query)
 * into a relative file path under the document root: percent-decoded,
 * "." and empty segments dropped, ".." resolved. out gets "" for the root
 * itself, never a leading '/'; *dir tells whether the path ended in '/'.
 * Returns 0, -EINVAL for a path that is not one (no leading '/', a bad
 * %-escape, a NUL or control byte: 400), -EACCES for ".." above the root
 * (403), -ENAMETOOLONG if it does not fit in cap (414). */
int http_path_clean(const char *path, size_t len, char *out, size_t cap,
		    bool *dir);

/* A /bytes/N path: 1 and *n = N (decimal digits, at most HTTP_BYTES_MAX);
 * 0 if the path is not under /bytes/; -1 if N is not a valid count
 * (400). */
int http_bytes_path(const char *path, size_t len, uint64_t *n);

/* Bytes [off, off + n) of a /bytes/N body. */
void http_bytes_fill(uint8_t *dst, uint64_t off, size_t n);

/* The Content-Type for a file name (by its extension, case-insensitive);
 * application/octet-stream when unknown. */
const char *http_mime_type(const char *name);

/* The reason phrase for a status code ("Not Found"). */
const char *http_reason(int status);

/* A response header: status line, Date (given, RFC 9110 5.6.7 form),
 * Server, Content-Type (NULL: none), Content-Length, Connection: close
 * unless keep_alive (HTTP/1.0 clients get keep-alive only when asked,
 * minor == 0 and keep_alive), `extra` lines (each ending in CRLF, may be
 * NULL) and the empty line. Returns the length, or 0 if cap is too small. */
size_t http_head(char *buf, size_t cap, int minor, int status,
		 const char *ctype, uint64_t clen, bool keep_alive,
		 const char *date, const char *extra);

/* An IMF-fixdate for t (seconds since the epoch): 29 bytes and a NUL. */
void http_date(char out[32], int64_t t);

#endif
