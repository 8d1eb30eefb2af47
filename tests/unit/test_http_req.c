/* ustack-httpd's request logic that needs no network: the request path
 * made safe (no way out of the root, escapes decoded once, dot segments
 * resolved), /bytes/N parsing and bodies, content types, the response
 * header. Built with apps/ustack-httpd/http_req.c (CMakeLists.txt). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ustack-httpd/http_req.h"

static int clean(const char *path, char *out, size_t cap, bool *dir)
{
	return http_path_clean(path, strlen(path), out, cap, dir);
}

static void expect_clean(const char *path, const char *want, bool want_dir)
{
	char out[256];
	bool dir = !want_dir;
	int rc = clean(path, out, sizeof(out), &dir);
	if (rc != 0)
		print_error("path '%s': rc %d\n", path, rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
	assert_int_equal(dir, want_dir);
}

static void expect_refused(const char *path, int want)
{
	char out[256];
	bool dir;
	int rc = clean(path, out, sizeof(out), &dir);
	if (rc != want)
		print_error("path '%s': rc %d, want %d\n", path, rc, want);
	assert_int_equal(rc, want);
}

static void test_path_plain(void **state)
{
	(void)state;
	expect_clean("/", "", true);
	expect_clean("/index.html", "index.html", false);
	expect_clean("/a/b/c.txt", "a/b/c.txt", false);
	expect_clean("/a/b/", "a/b", true);
	expect_clean("//a///b", "a/b", false);
	expect_clean("/a/./b/.", "a/b", true);
}

static void test_path_dotdot_inside(void **state)
{
	(void)state;
	expect_clean("/a/../b", "b", false);
	expect_clean("/a/b/../../c", "c", false);
	expect_clean("/a/..", "", true);
	expect_clean("/a/b/..", "a", true);
}

static void test_path_traversal(void **state)
{
	(void)state;
	expect_refused("/..", -EACCES);
	expect_refused("/../etc/passwd", -EACCES);
	expect_refused("/a/../../etc/passwd", -EACCES);
	/* Escaped dots are dots after decoding. */
	expect_refused("/%2e%2e/etc/passwd", -EACCES);
	expect_refused("/%2E%2e/x", -EACCES);
	expect_refused("/a/%2e%2e/%2e%2e/x", -EACCES);
	/* An escaped slash would hide a separator: refused. */
	expect_refused("/..%2fetc/passwd", -EINVAL);
	expect_refused("/a%2F..%2F..%2Fetc", -EINVAL);
	/* Hidden files. */
	expect_refused("/.git/config", -EACCES);
	expect_refused("/a/.htpasswd", -EACCES);
	expect_refused("/%2egit", -EACCES);
}

static void test_path_bad(void **state)
{
	(void)state;
	expect_refused("", -EINVAL);
	expect_refused("a/b", -EINVAL);
	expect_refused("/a%", -EINVAL);
	expect_refused("/a%4", -EINVAL);
	expect_refused("/a%zz", -EINVAL);
	expect_refused("/a%00b", -EINVAL); /* NUL */
	expect_refused("/a%0ab", -EINVAL); /* control */
	expect_refused("/a%7fb", -EINVAL);
	/* Decoded once: %25 is a literal '%'. */
	expect_clean("/a%2541", "a%41", false);
	expect_clean("/sp%20ace", "sp ace", false);
}

static void test_path_too_long(void **state)
{
	char out[16], path[64];
	bool dir;
	(void)state;
	memset(path, 'x', sizeof(path));
	path[0] = '/';
	assert_int_equal(
	    http_path_clean(path, sizeof(path), out, sizeof(out), &dir),
	    -ENAMETOOLONG);
	assert_int_equal(http_path_clean("/abc", 4, out, sizeof(out), &dir), 0);
	assert_string_equal(out, "abc");
}

static void test_bytes_path(void **state)
{
	uint64_t n = 7;
	(void)state;
#define BP(s) http_bytes_path(s, strlen(s), &n)
	assert_int_equal(BP("/bytes/0"), 1);
	assert_int_equal(n, 0);
	assert_int_equal(BP("/bytes/12345"), 1);
	assert_int_equal(n, 12345);
	assert_int_equal(BP("/bytes/1073741824"), 1);
	assert_int_equal(n, 1ull << 30);
	assert_int_equal(BP("/bytes/1073741825"), -1); /* over 1 GiB */
	assert_int_equal(BP("/bytes/99999999999"), -1);
	assert_int_equal(BP("/bytes/"), -1);
	assert_int_equal(BP("/bytes/12a"), -1);
	assert_int_equal(BP("/bytes/-1"), -1);
	assert_int_equal(BP("/bytes/1/2"), -1);
	assert_int_equal(BP("/bytes"), 0);
	assert_int_equal(BP("/bytesx/1"), 0);
	assert_int_equal(BP("/index.html"), 0);
#undef BP
}

static void test_bytes_fill(void **state)
{
	uint8_t a[1000], b[600];
	(void)state;
	http_bytes_fill(a, 0, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], i % HTTP_BYTES_PERIOD);
	/* Any offset continues the same sequence. */
	http_bytes_fill(b, 400, sizeof(b));
	assert_memory_equal(b, a + 400, sizeof(b));
	http_bytes_fill(b, (1ull << 30) - 3, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(b[i], ((1ull << 30) - 3 + i) % 251);
}

static void test_mime(void **state)
{
	(void)state;
	assert_string_equal(http_mime_type("index.html"),
			    "text/html; charset=utf-8");
	assert_string_equal(http_mime_type("a/B.PNG"), "image/png");
	assert_string_equal(http_mime_type("x.tar.gz"), "application/gzip");
	assert_string_equal(http_mime_type("dir.d/noext"),
			    "application/octet-stream");
	assert_string_equal(http_mime_type("trailingdot."),
			    "application/octet-stream");
	assert_string_equal(http_mime_type("app.js"),
			    "text/javascript; charset=utf-8");
}

static void test_head(void **state)
{
	char buf[512];
	const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";
	(void)state;
	size_t n = http_head(buf, sizeof(buf), 1, 200, "text/plain", 5, true,
			     date, NULL);
	assert_true(n > 0);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\n"
				 "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
				 "Server: ustack-httpd\r\n"
				 "Content-Type: text/plain\r\n"
				 "Content-Length: 5\r\n\r\n");
	/* HTTP/1.0 keep-alive is said explicitly; close is always said. */
	n = http_head(buf, sizeof(buf), 0, 404, NULL, 0, true, date, NULL);
	assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
	n = http_head(buf, sizeof(buf), 1, 405, NULL, 0, false, date,
		      "Allow: GET, HEAD\r\n");
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\nAllow: GET, HEAD\r\n"
				    "\r\n"));
	/* Too small a buffer: 0, not a truncated header. */
	assert_int_equal(http_head(buf, 40, 1, 200, NULL, 0, true, date, NULL),
			 0);
}

static void test_date(void **state)
{
	char d[32];
	(void)state;
	http_date(d, 784111777); /* RFC 9110 5.6.7's example */
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_string_equal(http_reason(431),
			    "Request Header Fields Too Large");
	assert_string_equal(http_reason(505), "HTTP Version Not Supported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_plain),
	    cmocka_unit_test(test_path_dotdot_inside),
	    cmocka_unit_test(test_path_traversal),
	    cmocka_unit_test(test_path_bad),
	    cmocka_unit_test(test_path_too_long),
	    cmocka_unit_test(test_bytes_path),
	    cmocka_unit_test(test_bytes_fill),
	    cmocka_unit_test(test_mime),
	    cmocka_unit_test(test_head),
	    cmocka_unit_test(test_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
