/* --so_flags: a comma-separated list of key=value, e.g.
 * local_ip=192.168.0.1,remote_ip=192.0.2.1,ip_version=4,mtu=1500
 * (packetdrill's defaults; any may be left out). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packetdrill/pd.h"
#include "wire/ip4.h"

static int parse_ip(const char *key, const char *v, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1) {
		fprintf(stderr,
			"ustack-packetdrill: %s=%s is not an IPv4 "
			"address\n",
			key, v);
		return -EINVAL;
	}
	*out = a.s_addr;
	return 0;
}

static int parse_uint(const char *key, const char *v, unsigned long lo,
		      unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		fprintf(stderr, "ustack-packetdrill: %s=%s: want %lu..%lu\n",
			key, v, lo, hi);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static int parse_one(struct pd *pd, char *item)
{
	char *eq = strchr(item, '=');
	unsigned long n;
	int rc;

	if (!eq) {
		fprintf(stderr,
			"ustack-packetdrill: flag '%s' is not key=value\n",
			item);
		return -EINVAL;
	}
	*eq = '\0';
	const char *k = item, *v = eq + 1;
	if (!strcmp(k, "local_ip")) {
		if ((rc = parse_ip(k, v, &pd->local_ip)) < 0)
			return rc;
		/* The stack's own address: one a host can hold (RFC 1122
		 * 3.2.1.3). Checked here, since us_stack_create refuses some
		 * before it has taken the device, which would then leak. */
		if (!pd->local_ip || ip4_addr_is_mcast(pd->local_ip) ||
		    ip4_addr_is_reserved(pd->local_ip) ||
		    ip4_addr_is_loopback(pd->local_ip)) {
			fprintf(stderr,
				"ustack-packetdrill: local_ip=%s cannot be a "
				"host's address\n",
				v);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(k, "remote_ip"))
		return parse_ip(k, v, &pd->remote_ip);
	if (!strcmp(k, "mtu")) {
		/* The stack's own bounds (us_stack_create). */
		if ((rc = parse_uint(k, v, 576, 9000, &n)) < 0)
			return rc;
		pd->mtu = (uint32_t)n;
		return 0;
	}
	if (!strcmp(k, "ip_version")) {
		if ((rc = parse_uint(k, v, 0, 255, &n)) < 0)
			return rc;
		if (n != 4) {
			fprintf(stderr,
				"ustack-packetdrill: ip_version=%lu: "
				"ustack speaks IPv4 only\n",
				n);
			return -EAFNOSUPPORT;
		}
		return 0;
	}
	fprintf(stderr,
		"ustack-packetdrill: unknown flag '%s' (known: "
		"local_ip, remote_ip, ip_version, mtu)\n",
		k);
	return -EINVAL;
}

int pd_parse_flags(struct pd *pd, const char *flags)
{
	char *copy, *save = NULL, *item;
	int rc = 0;

	inet_pton(AF_INET, "192.168.0.1", &pd->local_ip);
	inet_pton(AF_INET, "192.0.2.1", &pd->remote_ip);
	pd->mtu = 1500;
	if (!flags || !*flags)
		return 0;
	if (!(copy = strdup(flags)))
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save))
		rc = parse_one(pd, item);
	free(copy);
	return rc;
}
