/* Memory per idle established TCP socket: N connections, both ends in
 * this process, nothing sent on them; the memory the stack holds for them
 * divided by the 2N sockets (each connection has two ends). Prints one
 * JSON line; never pass/fail.
 *
 *   ustack:    two stacks on a pipe link. Memory is the heap in use
 *              (mallinfo2: uordblks + hblkhd; ustack takes all its memory
 *              from malloc) after the connections minus before them, the
 *              stacks, their packet pools and the listeners already made.
 *              The resident set (VmRSS) delta is printed beside it.
 *   --kernel:  the kernel over loopback in the caller's network namespace
 *              (the caller widens ip_local_port_range), the sockets held
 *              by child processes of up to 9,000 connections each
 *              (the descriptor limit, raised to its hard value, may be
 *              below 2N). Memory is the
 *              growth of the slab caches a socket lives in (/proc/slabinfo:
 *              TCP, sock_inode_cache, dentry, filp, the bind buckets,
 *              num_objs x objsize) plus the TCP buffer pages of
 *              /proc/net/sockstat. Slabs are machine-wide, so other
 *              processes' work adds noise; /proc/meminfo Slab is beside.
 *
 * ustack: connections go to several server ports (one per 60,000) since one
 * client address has at most 64,511 ephemeral ports per peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ustack.h"

#define BATCH 64
#define PER_PORT 60000
#define BASE_PORT 6000

static void die(const char *what)
{
	fprintf(stderr, "ustack-bench-mem: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static long long heap_bytes(void)
{
	struct mallinfo2 m = mallinfo2();
	return (long long)(m.uordblks + m.hblkhd);
}

static long long status_kb(const char *file, const char *key)
{
	FILE *f = fopen(file, "r");
	char line[256];
	long long v = -1;
	size_t kl = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl)) {
			v = atoll(line + kl);
			break;
		}
	fclose(f);
	return v;
}

static struct us_stack *mk(struct us_dev *d, const char *ip, int i)
{
	struct us_config c;
	us_config_init(&c);
	c.dev = d;
	inet_pton(AF_INET, ip, &c.ip);
	c.prefix_len = 24;
	c.seed = 0x5eed + (uint64_t)i;
	c.no_garp = 1;
	c.port_lo = 1024;
	c.port_hi = 65535;
	struct us_stack *st = us_stack_create(&c);
	if (!st)
		die("us_stack_create");
	return st;
}

static void turn(struct us_stack *a, struct us_stack *b)
{
	if (us_stack_poll(a, 0) < 0 || us_stack_poll(b, 0) < 0)
		die("us_stack_poll");
}

static int run_ustack(int n)
{
	struct us_dev *da, *db;
	if (us_pipe_create(&da, &db) < 0)
		die("us_pipe_create");
	struct us_stack *a = mk(da, "10.0.0.1", 0), *b = mk(db, "10.0.0.2", 1);
	int nports = (n + PER_PORT - 1) / PER_PORT;
	int ls[8];
	for (int p = 0; p < nports; p++) {
		struct sockaddr_in any = sin_of("0.0.0.0", BASE_PORT + p);
		ls[p] = us_socket(b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (ls[p] < 0 ||
		    us_bind(b, ls[p], (struct sockaddr *)&any, sizeof(any)) ||
		    us_listen(b, ls[p], 1024))
			die("listen");
	}
	turn(a, b);
	long long h0 = heap_bytes();
	long long r0 = status_kb("/proc/self/status", "VmRSS:");
	int made = 0;
	while (made < n) {
		int k = n - made < BATCH ? n - made : BATCH, got = 0;
		for (int i = 0; i < k; i++) {
			int p = (made + i) % nports;
			struct sockaddr_in to =
			    sin_of("10.0.0.2", BASE_PORT + p);
			int c = us_socket(a, AF_INET,
					  SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (c < 0 || (us_connect(a, c, (struct sockaddr *)&to,
						 sizeof(to)) < 0 &&
				      errno != EINPROGRESS))
				die("connect");
		}
		for (int t = 0; got < k; t++) {
			if (t > 100000) {
				errno = ETIMEDOUT;
				die("accept");
			}
			turn(a, b);
			for (int p = 0; p < nports; p++)
				while (us_accept(b, ls[p], NULL, NULL) >= 0)
					got++;
		}
		made += k;
	}
	for (int i = 0; i < 10; i++)
		turn(a, b);
	long long dh = heap_bytes() - h0;
	long long dr = (status_kb("/proc/self/status", "VmRSS:") - r0) * 1024;
	uint64_t est = us_stat_byname(a, "tcp_active_opens");
	printf("{\"figure\":\"mem_per_conn\",\"stack\":\"ustack\",\"conns\":%d,"
	       "\"sockets\":%d,\"bytes\":%lld,\"bytes_per_socket\":%.0f,"
	       "\"rss_bytes\":%lld,\"rss_per_socket\":%.0f,"
	       "\"active_opens\":%llu}\n",
	       n, 2 * n, dh, (double)dh / (2.0 * n), dr, (double)dr / (2.0 * n),
	       (unsigned long long)est);
	us_stack_destroy(a);
	us_stack_destroy(b);
	return est >= (uint64_t)n && dh > 0 ? 0 : 1;
}

/* Slab caches a kernel TCP socket and its descriptor live in. */
static const char *const k_caches[] = {
    "TCP",
    "sock_inode_cache",
    "dentry",
    "filp",
    "tcp_bind_bucket",
    "tcp_bind2_bucket",
    "request_sock_TCP",
    NULL,
};

static long long slab_bytes(char *detail, size_t dn)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[64];
	long long total = 0;
	unsigned long act, num, size;
	if (!f)
		die("/proc/slabinfo");
	detail[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lu %lu %lu", name, &act, &num, &size) !=
		    4)
			continue;
		for (int i = 0; k_caches[i]; i++)
			if (!strcmp(name, k_caches[i])) {
				total += (long long)num * (long long)size;
				size_t l = strlen(detail);
				snprintf(detail + l, dn - l, "%s\"%s\":%lld",
					 l ? "," : "", name,
					 (long long)num * (long long)size);
			}
	}
	fclose(f);
	return total;
}

static long long sockstat_tcp_pages(void)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	char line[256];
	long long mem = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *m = strstr(line, " mem ");
		if (!strncmp(line, "TCP:", 4) && m)
			mem = atoll(m + 5);
	}
	fclose(f);
	return mem;
}

/* "name":delta for every cache, from two detail strings of slab_bytes. */
static void detail_delta(const char *d0, const char *d1, char *out, size_t n)
{
	out[0] = 0;
	for (int i = 0; k_caches[i]; i++) {
		char key[80];
		snprintf(key, sizeof(key), "\"%s\":", k_caches[i]);
		const char *p0 = strstr(d0, key), *p1 = strstr(d1, key);
		if (!p0 || !p1)
			continue;
		long long v = atoll(p1 + strlen(key)) - atoll(p0 + strlen(key));
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s%lld", l ? "," : "", key, v);
	}
}

/* Connections first..first+k-1 over loopback to the listener, both ends
 * kept open. Each client binds its own address and port (127.0.X.1, port
 * 1024 + i % PER_PORT): the kernel's search for a free ephemeral port
 * grows with the ports in use, which would make 100,000 connects take
 * minutes. */
static void k_open(int l, int first, int k)
{
	struct sockaddr_in to = sin_of("127.0.0.1", BASE_PORT);
	for (int made = 0; made < k;) {
		int b = k - made < BATCH ? k - made : BATCH;
		for (int i = 0; i < b; i++) {
			int id = first + made + i;
			char ip[32];
			snprintf(ip, sizeof(ip), "127.0.%d.1",
				 1 + id / PER_PORT);
			struct sockaddr_in from =
			    sin_of(ip, (uint16_t)(1024 + id % PER_PORT));
			int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (c < 0 ||
			    bind(c, (struct sockaddr *)&from, sizeof(from)))
				die("kernel bind");
			if (connect(c, (struct sockaddr *)&to, sizeof(to)) <
				0 &&
			    errno != EINPROGRESS)
				die("kernel connect");
		}
		for (int i = 0; i < b; i++)
			if (accept(l, NULL, NULL) < 0)
				die("kernel accept");
		made += b;
	}
}

/* The descriptor limit may be below 2N and not raisable here, so the
 * sockets are held by children of at most per_child() connections each,
 * made one child after another (they share the listeners). */
#define PER_CHILD 9000

/* Connections one child can hold: the soft descriptor limit is raised to
 * the hard one, and each connection takes two descriptors (a systemd
 * service or CI runner often starts with a soft limit of 1024). */
static int per_child(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r))
		die("getrlimit");
	if (r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
		getrlimit(RLIMIT_NOFILE, &r);
	}
	if (r.rlim_cur < 2 * 100 + 64) {
		errno = EMFILE;
		die("descriptor limit");
	}
	rlim_t k = (r.rlim_cur - 64) / 2;
	return k < PER_CHILD ? (int)k : PER_CHILD;
}

static int run_kernel(int n)
{
	int ready[2], hold[2], one = 1;
	struct sockaddr_in la = sin_of("127.0.0.1", BASE_PORT);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&la, sizeof(la)) || listen(l, 1024))
		die("kernel listen");
	if (pipe(ready) || pipe(hold))
		die("pipe");
	char d0[1024], d1[1024], dd[1024];
	long long s0 = slab_bytes(d0, sizeof(d0)), p0 = sockstat_tcp_pages();
	long long m0 = status_kb("/proc/meminfo", "Slab:");
	int kids = 0, pc = per_child();
	for (int made = 0; made < n; made += pc, kids++) {
		int k = n - made < pc ? n - made : pc;
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(hold[1]);
			k_open(l, made, k);
			char x = 1, y;
			if (write(ready[1], &x, 1) != 1)
				_exit(1);
			while (read(hold[0], &y, 1) > 0)
				;
			_exit(0);
		}
		char x;
		if (read(ready[0], &x, 1) != 1) {
			errno = ECHILD;
			die("a child could not open its connections");
		}
	}
	long long ds = slab_bytes(d1, sizeof(d1)) - s0;
	long long dp = (sockstat_tcp_pages() - p0) * sysconf(_SC_PAGESIZE);
	long long dm = (status_kb("/proc/meminfo", "Slab:") - m0) * 1024;
	detail_delta(d0, d1, dd, sizeof(dd));
	close(hold[1]);
	for (int i = 0; i < kids; i++)
		wait(NULL);
	printf("{\"figure\":\"mem_per_conn\",\"stack\":\"kernel\",\"conns\":%d,"
	       "\"sockets\":%d,\"bytes\":%lld,\"bytes_per_socket\":%.0f,"
	       "\"slab_meminfo_bytes\":%lld,\"tcp_mem_bytes\":%lld,"
	       "\"caches\":{%s}}\n",
	       n, 2 * n, ds + dp, (double)(ds + dp) / (2.0 * n), dm, dp, dd);
	return ds + dp > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int n = 10000;
	bool kernel = false;
	static const struct option opts[] = {
	    {"conns", required_argument, 0, 'n'},
	    {"kernel", no_argument, 0, 'k'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			n = atoi(optarg);
			if (n < 1 || n > 8 * PER_PORT) {
				fprintf(stderr, "bad --conns '%s'\n", optarg);
				return 2;
			}
			break;
		case 'k':
			kernel = true;
			break;
		case 'h':
			printf(
			    "usage: ustack-bench-mem [--conns N] [--kernel]\n"
			    "Memory per idle established TCP socket (JSON).\n");
			return 0;
		default:
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return kernel ? run_kernel(n) : run_ustack(n);
}
