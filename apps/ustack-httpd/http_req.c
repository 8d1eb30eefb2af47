/* Request handling without the network (http_req.h). */
#include "http_req.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One decoded segment into out at *o ("/seg"), or a step up for "..". */
static int put_segment(const char *seg, size_t n, char *out, size_t cap,
		       size_t *o)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		/* RFC 3986 5.2.4 would clamp at the root; a client that
		 * tries to climb out of it is refused instead. */
		if (*o == 0)
			return -EACCES;
		while (*o > 0 && out[--*o] != '/')
			;
		return 0;
	}
	/* Hidden files (.git, .htpasswd) stay private. */
	if (seg[0] == '.')
		return -EACCES;
	if (*o + 1 + n + 1 > cap)
		return -ENAMETOOLONG;
	out[(*o)++] = '/';
	memcpy(out + *o, seg, n);
	*o += n;
	return 0;
}

int http_path_clean(const char *path, size_t len, char *out, size_t cap,
		    bool *dir)
{
	char seg[256];
	size_t o = 0, sn = 0;
	int rc;

	if (cap < 2 || len == 0 || path[0] != '/')
		return -EINVAL;
	*dir = false;
	for (size_t i = 1; i <= len; i++) {
		int c;
		if (i == len || path[i] == '/') {
			/* RFC 3986 3.3: segments are separated by '/'. */
			rc = put_segment(seg, sn, out, cap, &o);
			if (rc < 0)
				return rc;
			if (i == len)
				*dir =
				    sn == 0 || (sn == 1 && seg[0] == '.') ||
				    (sn == 2 && seg[0] == '.' && seg[1] == '.');
			sn = 0;
			continue;
		}
		c = (unsigned char)path[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(path[i + 1])) < 0 ||
			    (lo = hexval(path[i + 2])) < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
			/* An escaped '/' is data, not a separator: a file
			 * name cannot hold it. */
			if (c == '/')
				return -EINVAL;
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (sn == sizeof(seg))
			return -ENAMETOOLONG;
		seg[sn++] = (char)c;
	}
	/* Without the leading '/': the path is relative to the root. */
	if (o > 0) {
		memmove(out, out + 1, o - 1);
		o--;
	}
	out[o] = 0;
	return 0;
}

int http_bytes_path(const char *path, size_t len, uint64_t *n)
{
	static const char pre[] = "/bytes/";
	const size_t plen = sizeof(pre) - 1;
	uint64_t v = 0;

	if (len < plen || memcmp(path, pre, plen))
		return 0;
	if (len == plen || len - plen > 10)
		return -1;
	for (size_t i = plen; i < len; i++) {
		if (path[i] < '0' || path[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(path[i] - '0');
	}
	if (v > HTTP_BYTES_MAX)
		return -1;
	*n = v;
	return 1;
}

void http_bytes_fill(uint8_t *dst, uint64_t off, size_t n)
{
	unsigned v = (unsigned)(off % HTTP_BYTES_PERIOD);
	for (size_t i = 0; i < n; i++) {
		dst[i] = (uint8_t)v;
		if (++v == HTTP_BYTES_PERIOD)
			v = 0;
	}
}

const char *http_mime_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"html", "text/html; charset=utf-8"},
	    {"htm", "text/html; charset=utf-8"},
	    {"txt", "text/plain; charset=utf-8"},
	    {"css", "text/css; charset=utf-8"},
	    {"js", "text/javascript; charset=utf-8"},
	    {"mjs", "text/javascript; charset=utf-8"},
	    {"json", "application/json"},
	    {"xml", "application/xml"},
	    {"csv", "text/csv; charset=utf-8"},
	    {"md", "text/markdown; charset=utf-8"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"svg", "image/svg+xml"},
	    {"ico", "image/vnd.microsoft.icon"},
	    {"webp", "image/webp"},
	    {"avif", "image/avif"},
	    {"pdf", "application/pdf"},
	    {"wasm", "application/wasm"},
	    {"woff", "font/woff"},
	    {"woff2", "font/woff2"},
	    {"mp4", "video/mp4"},
	    {"webm", "video/webm"},
	    {"mp3", "audio/mpeg"},
	    {"ogg", "audio/ogg"},
	    {"zip", "application/zip"},
	    {"gz", "application/gzip"},
	    {"tar", "application/x-tar"},
	};
	const char *base = strrchr(name, '/');
	const char *dot = strrchr(base ? base + 1 : name, '.');

	if (dot && dot[1])
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 301:
		return "Moved Permanently";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

size_t http_head(char *buf, size_t cap, int minor, int status,
		 const char *ctype, uint64_t clen, bool keep_alive,
		 const char *date, const char *extra)
{
	const char *conn = !keep_alive	? "Connection: close\r\n"
			   : minor == 0 ? "Connection: keep-alive\r\n"
					: "";
	int n;

	/* RFC 9110 6.2: we speak 1.1 whatever the request's minor. */
	n = snprintf(buf, cap,
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: ustack-httpd\r\n"
		     "%s%s%sContent-Length: %llu\r\n%s%s\r\n",
		     status, http_reason(status), date,
		     ctype ? "Content-Type: " : "", ctype ? ctype : "",
		     ctype ? "\r\n" : "", (unsigned long long)clen, conn,
		     extra ? extra : "");
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void http_date(char out[32], int64_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
					"Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	/* RFC 9110 5.6.7: IMF-fixdate, English names whatever the locale. */
	gmtime_r(&tt, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
