/* Opening a file under the document root, never outside it. */
#ifndef HTTPD_HTTP_FILE_H
#define HTTPD_HTTP_FILE_H

#include <stdbool.h>
#include <stdint.h>

struct http_file {
	int fd;
	uint64_t size;
	const char *ctype;
};

/* Open rel (from http_path_clean: relative, normalised) under the root
 * directory rootfd; a directory serves its index.html. Symbolic links are
 * followed only while they stay inside the root (openat2 RESOLVE_BENEATH).
 * Returns 0, or the HTTP status to answer: 404 (no such file), 403 (not a
 * regular file, not readable, a directory without index.html, a link out
 * of the root), 414 (name too long), 500. */
int http_file_open(int rootfd, const char *rel, struct http_file *f);

#endif
