/* The TCP header and its options (RFC 9293 3.1, 3.2; RFC 7323 2.2, 3.2):
 * parse, emit and checksum. No state, no I/O.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |       Destination Port        |
 *  |                        Sequence Number                        |
 *  |                    Acknowledgment Number                      |
 *  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *  |           Checksum            |         Urgent Pointer        |
 *  |                    Options                    |    Padding    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#ifndef US_WIRE_TCP_H
#define US_WIRE_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "wire/csum.h"

#define TCP_HLEN 20
#define TCP_MAX_HLEN 60
#define TCP_PROTO 6

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* Option kinds (RFC 9293 3.2, RFC 7323, RFC 2018). */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

#define TCP_MAX_WSCALE 14 /* RFC 7323 2.3 */

/* Ports, numbers, window and urgent pointer in host order; doff in bytes;
 * csum as stored (memcpy). */
struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff;
	uint8_t flags;
	uint16_t wnd;
	uint16_t csum;
	uint16_t urp;
};

/* Why tcp_parse refused a header (returned negated), one per counter. */
enum tcp_parse_err {
	TCP_ERR_SHORT = 1, /* fewer than 20 bytes */
	TCP_ERR_OFF,	   /* data offset < 5 or beyond the bytes received */
};

/* Parse and length-check: on 0 the whole header (h->doff bytes, options
 * included) lies inside the n bytes at b. */
static inline int tcp_parse(const uint8_t *b, uint32_t n, struct tcp_hdr *h)
{
	if (n < TCP_HLEN)
		return -TCP_ERR_SHORT;
	h->sport = rd16(b);
	h->dport = rd16(b + 2);
	h->seq = rd32(b + 4);
	h->ack = rd32(b + 8);
	h->doff = (uint8_t)((b[12] >> 4) * 4);
	h->flags = b[13];
	h->wnd = rd16(b + 14);
	memcpy(&h->csum, b + 16, 2);
	h->urp = rd16(b + 18);
	/* RFC 9293 3.1: the offset counts 32-bit words, at least 5. */
	if (h->doff < TCP_HLEN || h->doff > n)
		return -TCP_ERR_OFF;
	return 0;
}

/* Write the fixed header; doff (bytes, a multiple of 4) must cover the
 * options the caller writes after it. The checksum is left 0. */
static inline void tcp_emit(uint8_t *b, const struct tcp_hdr *h)
{
	wr16(b, h->sport);
	wr16(b + 2, h->dport);
	wr32(b + 4, h->seq);
	wr32(b + 8, h->ack);
	b[12] = (uint8_t)((h->doff / 4) << 4);
	b[13] = h->flags;
	wr16(b + 14, h->wnd);
	b[16] = b[17] = 0;
	wr16(b + 18, h->urp);
}

/* The options we understand. */
#define TCP_OPT_MSS 0x01
#define TCP_OPT_WS 0x02
#define TCP_OPT_SACK_PERM 0x04
#define TCP_OPT_TS 0x08
#define TCP_OPT_SACK 0x10 /* RFC 2018 3: SACK blocks (nsack of them) */
#define TCP_OPT_BAD 0x80 /* a malformed option ended the parse */

struct tcp_opts {
	uint8_t present; /* TCP_OPT_* */
	uint8_t wscale;	 /* clamped to TCP_MAX_WSCALE */
	uint16_t mss;
	uint32_t tsval, tsecr;
	uint8_t nsack; /* RFC 2018 3: at most 4 blocks fit */
	struct {
		uint32_t start, end;
	} sack[4];
};

/* Parse the options in the n bytes at b (the header after its first 20
 * bytes). RFC 9293 3.1 (MUST-7): an illegal length must not crash us; we
 * stop at it, keep what came before and flag TCP_OPT_BAD. Options with a
 * wrong length for their kind are ignored (RFC 9293 3.2, RFC 7323 2.2). */
static inline void tcp_parse_opts(const uint8_t *b, uint32_t n,
				  struct tcp_opts *o)
{
	uint32_t i = 0;

	memset(o, 0, sizeof(*o));
	while (i < n) {
		uint8_t kind = b[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || b[i + 1] < 2 || i + b[i + 1] > n) {
			o->present |= TCP_OPT_BAD;
			break;
		}
		uint8_t len = b[i + 1];
		const uint8_t *v = b + i + 2;
		switch (kind) {
		case TCPOPT_MSS:
			if (len == 4) {
				o->present |= TCP_OPT_MSS;
				o->mss = rd16(v);
			}
			break;
		case TCPOPT_WS:
			if (len == 3) {
				o->present |= TCP_OPT_WS;
				/* RFC 7323 2.3: above 14, use 14 (and log). */
				o->wscale = v[0] > TCP_MAX_WSCALE
						? TCP_MAX_WSCALE
						: v[0];
			}
			break;
		case TCPOPT_SACK_PERM:
			if (len == 2)
				o->present |= TCP_OPT_SACK_PERM;
			break;
		case TCPOPT_SACK:
			/* RFC 2018 3: 2 + 8n bytes; n > 4 cannot fit. */
			if (len >= 10 && (len - 2) % 8 == 0 && !o->nsack) {
				o->present |= TCP_OPT_SACK;
				for (uint32_t k = 0; k < (len - 2u) / 8 && k < 4;
				     k++) {
					o->sack[k].start = rd32(v + 8 * k);
					o->sack[k].end = rd32(v + 8 * k + 4);
					o->nsack++;
				}
			}
			break;
		case TCPOPT_TS:
			if (len == 10) {
				o->present |= TCP_OPT_TS;
				o->tsval = rd32(v);
				o->tsecr = rd32(v + 4);
			}
			break;
		default:
			break; /* RFC 9293 3.2: unknown options are skipped */
		}
		i += len;
	}
}

/* Options of a SYN we send: MSS, and window scale when ws >= 0
 * (preceded by a NOP so the header stays 4-byte aligned). Returns the
 * bytes written (4 or 8). */
#define TCP_SYN_OPTS_MAX 8
static inline uint32_t tcp_emit_syn_opts(uint8_t *b, uint16_t mss, int ws)
{
	b[0] = TCPOPT_MSS;
	b[1] = 4;
	wr16(b + 2, mss);
	if (ws < 0)
		return 4;
	b[4] = TCPOPT_NOP;
	b[5] = TCPOPT_WS;
	b[6] = 3;
	b[7] = (uint8_t)ws;
	return 8;
}

/* The checksum over the IPv4 pseudo-header and len bytes of header and
 * data (RFC 9293 3.1 "Checksum"). A valid segment sums to 0. */
static inline uint16_t tcp_csum4(uint32_t src, uint32_t dst, const void *tcp,
				 uint32_t len)
{
	return csum_fold(
	    csum_add(csum_pseudo4(src, dst, TCP_PROTO, len), tcp, len));
}

/* Fill the checksum of a complete segment whose checksum field is 0. */
static inline void tcp_fill_csum4(uint32_t src, uint32_t dst, uint8_t *tcp,
				  uint32_t len)
{
	uint16_t c = tcp_csum4(src, dst, tcp, len);
	memcpy(tcp + 16, &c, 2);
}

#endif
