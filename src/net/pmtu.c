/* Path MTU cache (RFC 1191); see pmtu.h. */
#include <string.h>

#include "net/pmtu.h"

void pmtu_init(struct pmtu_cache *pc, uint64_t timeout_ns)
{
	memset(pc, 0, sizeof(*pc));
	pc->timeout_ns = timeout_ns;
}

static struct pmtu_entry *find(struct pmtu_cache *pc, uint32_t dst,
			       uint64_t now)
{
	for (int i = 0; i < PMTU_SLOTS; i++) {
		struct pmtu_entry *e = &pc->e[i];
		if (e->dst != dst)
			continue;
		if (now >= e->expires) {
			e->dst = 0; /* aged out: the link MTU again */
			return NULL;
		}
		return e;
	}
	return NULL;
}

uint32_t pmtu_lower(struct pmtu_cache *pc, uint32_t dst, uint32_t mtu,
		    uint32_t link_mtu, uint64_t now)
{
	struct pmtu_entry *e = find(pc, dst, now);
	uint32_t cur = e ? e->mtu : link_mtu;

	/* RFC 1191 4: 68 is the least any path carries; Linux refuses to
	 * go below min_pmtu, which protects against forged tiny values
	 * (RFC 5927 7.1). A value not below the current one says nothing
	 * (RFC 1191 6.3: never raise on an ICMP). */
	if (mtu < 68)
		return cur;
	if (mtu < PMTU_MIN)
		mtu = PMTU_MIN;
	if (mtu >= cur)
		return cur;
	if (!e) {
		struct pmtu_entry *old = &pc->e[0];
		for (int i = 0; i < PMTU_SLOTS && old->dst; i++)
			if (!pc->e[i].dst || pc->e[i].expires < old->expires)
				old = &pc->e[i];
		e = old;
		e->dst = dst;
	}
	e->mtu = mtu;
	e->expires = now + pc->timeout_ns;
	return mtu;
}

uint32_t pmtu_get(struct pmtu_cache *pc, uint32_t dst, uint32_t link_mtu,
		  uint64_t now)
{
	struct pmtu_entry *e = find(pc, dst, now);
	return e && e->mtu < link_mtu ? e->mtu : link_mtu;
}
