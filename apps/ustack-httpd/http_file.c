/* Files under the document root (http_file.h). */
#define _GNU_SOURCE
#include "http_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http_req.h"

/* openat2(2) with RESOLVE_BENEATH: the kernel refuses (EXDEV) any path
 * that would leave rootfd, through "..", an absolute symlink or a link
 * that climbs out, with no window between a check and the open. */
static int open_beneath(int rootfd, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd =
	    syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int status_of(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		return 404;
	case -ENAMETOOLONG:
		return 414;
	case -EACCES:
	case -EPERM:
	case -EXDEV: /* would leave the root */
	case -ELOOP:
		return 403;
	default:
		return 500;
	}
}

int http_file_open(int rootfd, const char *rel, struct http_file *f)
{
	struct stat sb;
	int fd = open_beneath(rootfd, rel);

	if (fd < 0)
		return status_of(fd);
	if (fstat(fd, &sb) < 0)
		goto fail500;
	if (S_ISDIR(sb.st_mode)) {
		char idx[4096 + 16];
		close(fd);
		if ((size_t)snprintf(idx, sizeof(idx), "%s%sindex.html", rel,
				     *rel ? "/" : "") >= sizeof(idx))
			return 414;
		fd = open_beneath(rootfd, idx);
		/* No listing: a directory without an index is not shown. */
		if (fd == -ENOENT)
			return 403;
		if (fd < 0)
			return status_of(fd);
		if (fstat(fd, &sb) < 0)
			goto fail500;
		f->ctype = http_mime_type("index.html");
	} else {
		f->ctype = http_mime_type(rel);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return 403;
	}
	f->fd = fd;
	f->size = (uint64_t)sb.st_size;
	return 0;
fail500:
	close(fd);
	return 500;
}
