/* Plays scripted exchanges through libustack-packetdrill.so the way
 * packetdrill does: dlopen with RTLD_DEEPBIND, packetdrill_interface_init,
 * then system calls, injected IPv4/TCP packets and sniffed ones. */
#ifndef PD_HARNESS_H
#define PD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packetdrill/packetdrill.h"

#define PH_LOCAL "192.168.0.1"
#define PH_REMOTE "192.0.2.1"
#define PH_RPORT 40000

#define PH_FIN 0x01
#define PH_SYN 0x02
#define PH_RST 0x04
#define PH_PSH 0x08
#define PH_ACK 0x10

struct ph {
	struct packetdrill_interface ifc;
	void *ud;
	uint32_t local, remote; /* network order */
};

/* A TCP segment as sniffed. */
struct ph_seg {
	uint32_t src, dst; /* network order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss; /* 0: no MSS option */
	uint8_t payload[2048];
	uint32_t plen;
	long long time_us;
	bool csum_ok; /* IPv4 and TCP checksums both right */
};

void ph_open(struct ph *h, const char *flags);
void ph_close(struct ph *h);
/* The script's clock, in microseconds. */
long long ph_now(struct ph *h);
/* Build the IPv4/TCP packet ph_inject sends (an MSS option on a SYN) into
 * b; returns its length. */
size_t ph_build(struct ph *h, uint8_t *b, size_t cap, uint16_t sport,
		uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		const void *data, uint32_t len);
/* Inject a segment from remote:sport to local:dport. */
void ph_inject(struct ph *h, uint16_t sport, uint16_t dport, uint32_t seq,
	       uint32_t ack, uint8_t flags, const void *data, uint32_t len);
/* The next packet the stack sends, calling netdev_receive until it gives
 * one, at most max_calls times. false if it never did. */
bool ph_sniff(struct ph *h, struct ph_seg *s, int max_calls);
/* A listener on local:port, fd returned. */
int ph_listen(struct ph *h, uint16_t port);
/* The passive handshake on a listener (SYN in with ISN 0, SYN-ACK checked,
 * ACK in); returns the stack's ISN. */
uint32_t ph_handshake(struct ph *h, uint16_t port);

#endif
