/* The TCP engine's own view: the connection block, the per-stack tables
 * and the functions the engine's files call in each other. Users of the
 * engine include tcp.h only. */
#ifndef US_TCP_CONN_H
#define US_TCP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/stack.h"
#include "net/inaddr.h"
#include "net/pmtu.h"
#include "tcp/tcp.h"
#include "wire/tcp.h"

/* RFC 9293 3.4: sequence numbers compare modulo 2^32. */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return seq_lt(a, b) ? a : b;
}

#define TCP_DEFAULT_MSS 536	 /* RFC 9293 3.7.1: no MSS option */
#define TCP_MIN_MSS 48		 /* floor for a peer or PMTU MSS (Linux) */
#define TCP_IW_SEGS 10		 /* RFC 6928 */
#define TCP_QUICKACKS 16	 /* immediate ACKs at connection start */
#define TCP_CHALLENGE_PER_S 100 /* RFC 5961 7: per connection */
#define TCP_OOW_ACK_MS 500 /* ACKs to out-of-window segments (Linux) */
#define TCP_MAX_BACKLOG 4096	 /* SOMAXCONN */
#define TCP_SACK_SB 16		 /* scoreboard ranges kept */

/* What the retransmission timer is doing now (one timer per block). */
enum tcp_rtx_mode {
	TCP_TM_NONE = 0,
	TCP_TM_RTX,	 /* data, SYN or FIN outstanding */
	TCP_TM_PERSIST,	 /* zero window: probing */
	TCP_TM_TIMEWAIT, /* 2*MSL */
	TCP_TM_FINWAIT2, /* closed socket waiting for the peer's FIN */
};

struct tcp_conn;

enum { TCP_HT_NONE = 0, TCP_HT_EHASH, TCP_HT_LHASH };

/* Congestion control (RFC 5681 and successors) as a table of operations,
 * so an algorithm can be added without touching input or output. Loss
 * recovery itself (NewReno, RFC 6582) is the engine's; these decide the
 * window. acked is in bytes. */
struct tcp_cc_ops {
	const char *name;
	void (*init)(struct tcp_conn *c);
	/* New data acknowledged outside recovery: grow cwnd. */
	void (*on_ack)(struct tcp_conn *c, uint32_t acked, uint64_t now);
	/* Third duplicate ACK: set ssthresh (and cwnd for the retransmit). */
	void (*enter_recovery)(struct tcp_conn *c);
	/* Recovery complete (full ACK): deflate cwnd. */
	void (*exit_recovery)(struct tcp_conn *c);
	/* Retransmission timeout: ssthresh and the loss window. */
	void (*on_rto)(struct tcp_conn *c);
};
extern const struct tcp_cc_ops tcp_newreno;
extern const struct tcp_cc_ops tcp_cubic; /* tcp_cubic.c, RFC 9438 */
/* tcp_cc.c: a module by name (not NUL-terminated); NULL if unknown. */
const struct tcp_cc_ops *tcp_cc_find(const char *name, size_t len);

/* A listener's queue of children (SYN queue or accept queue). */
struct tcp_lq {
	struct tcp_conn *head, *tail;
	uint32_t n;
};

struct tcp_conn {
	enum tcp_state state;
	/* Tables: the 4-tuple hash (connections) or the listener hash;
	 * the bind hash by local port; the stack's list of all blocks. */
	struct tcp_conn *hnext, **hpprev;
	struct tcp_conn *bnext, **bpprev;
	struct tcp_conn *anext, **apprev;
	uint32_t hash;
	uint8_t htab; /* TCP_HT_*: the table hnext links into */

	struct inaddr laddr, raddr;
	uint16_t lport, rport;

	/* Ownership: the user holds it (until tcp_close), or a listener
	 * does (a child not yet accepted), or nobody (orphan: the engine
	 * finishes the close and frees it). */
	bool user;
	bool reuseaddr, nodelay;
	bool bound;	      /* lport chosen (bind, listen or connect) */
	bool user_bound;      /* by an explicit bind: kept after close */
	bool shut_rd;	      /* SHUT_RD: reads end */
	bool fin_queued;      /* SHUT_WR/close: FIN after snd_end */
	bool fin_rcvd;	      /* the peer's FIN is in sequence: EOF */
	bool was_established; /* reached a synchronized state */
	bool ws_ok;	      /* both sides sent window scale */
	bool in_recovery;     /* NewReno fast recovery */
	bool partial_seen;    /* a partial ACK in this recovery */
	bool rtt_timing;      /* rtt_seq is being timed (Karn) */
	bool syn_retransmitted;
	bool syn_acked; /* SND.UNA passed the ISS once (tcp_ack.c new_ack) */
	bool ooo_fin;	   /* a FIN arrived out of order at ooo_fin_seq */
	bool ack_now;	   /* an ACK is owed before input returns */
	bool sws_override; /* persist fired: send a small segment */
	uint8_t rtx_mode;  /* enum tcp_rtx_mode */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t quickack; /* immediate ACKs left */
	uint8_t backoff;  /* RTO doublings so far */
	uint8_t retries;  /* consecutive timeouts without progress */
	uint8_t dupacks;
	int err;      /* pending error, positive errno */
	int soft_err; /* last ICMP soft error (reported on timeout) */

	/* Send sequence space (RFC 9293 3.3.1). snd_max is the highest
	 * sequence sent so far (snd_nxt goes back on a timeout); snd_end is
	 * the sequence after the last byte the user queued. */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_end;
	uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t snd_sml; /* end of the last short segment (Nagle) */
	/* Receive sequence space. rcv_adv is the right edge we advertised. */
	uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent;
	uint16_t mss;	      /* effective send MSS */
	uint16_t rcv_mss;     /* MSS we advertise (and expect) */
	uint16_t peer_mss;    /* from the peer's SYN (536 if none) */
	uint16_t user_mss;    /* TCP_MAXSEG (0: none) */
	uint16_t rcv_mss_est; /* largest segment received (ACK policy) */
	uint32_t ooo_fin_seq;

	/* Send buffer: the bytes [snd_end - sndq_len, snd_end), in buffers
	 * filled front to back (data from head, no headroom needed: segments
	 * are built by copying). A cursor remembers where snd_nxt was found
	 * last so sending is not a walk from the head each time. */
	struct pbuf_queue sndq;
	uint32_t sndq_len;     /* payload bytes in sndq */
	uint32_t sndq_off;     /* bytes of sndq.head already acked */
	struct us_pbuf *cur_p; /* cursor: buffer holding cur_seq (or NULL) */
	uint32_t cur_seq, cur_off;
	uint32_t sndbuf; /* bound on sndq.bytes (truesize) */

	/* Receive side: in-order data (data at the next byte to read), and
	 * out-of-order segments sorted by sequence (->user holds it). */
	struct pbuf_queue rcvq;
	uint32_t rcvq_len; /* payload bytes in rcvq */
	struct pbuf_queue ooo;
	uint32_t rcvbuf; /* bound on rcvq.bytes + ooo.bytes */

	/* RFC 6298 state, in microseconds; rto in ms. */
	uint32_t srtt_us, rttvar_us, rto_ms;
	uint32_t rtt_seq;
	uint64_t rtt_time; /* ns */

	/* Congestion (RFC 5681, 3465, 6582). */
	const struct tcp_cc_ops *cc;
	uint32_t cwnd, ssthresh, bytes_acked, recover;
	uint64_t cc_priv[4]; /* the algorithm's own state */

	/* Timers: retransmit/persist/TIME_WAIT/FIN_WAIT_2 share one, since
	 * they never run together; the delayed ACK has its own. */
	struct us_timer rtx_timer, delack_timer;
	uint64_t idle_since; /* last time data was sent (ns) */
	/* RFC 5961 7: challenge ACKs sent in the current second. Counted
	 * per connection: a counter shared by the stack would let an
	 * off-path attacker learn of other connections' ACKs (the side
	 * channel of CVE-2016-5696). */
	uint64_t chal_sec;
	uint32_t chal_count;
	/* The last ACK answering an out-of-window or PAWS drop (ns; 0:
	 * none), for their rate limit (tcp_send_oow_ack). */
	uint64_t oow_ack_time;

	/* Listener. */
	struct tcp_conn *parent;	/* a child's listener */
	struct tcp_conn *qnext, *qprev; /* in parent's synq or accq */
	bool in_accq;
	struct tcp_lq synq, accq;
	int backlog;
	uint32_t max_syn;

	tcp_notify_fn notify;
	void *notify_arg;

	/* For TCP_INFO (RFC 4898 names). */
	struct {
		uint64_t bytes_sent, bytes_retrans, bytes_acked, bytes_received;
		uint32_t segs_out, segs_in, data_segs_out, data_segs_in;
		uint32_t total_retrans;
		uint64_t last_data_sent, last_data_recv, last_ack_recv; /* ns */
	} info;

	/* Keepalive and user timeout (tcp_keepalive.c); 0: the default. */
	bool keepalive;
	uint8_t keep_cnt, keep_probes;
	uint16_t keep_idle_s, keep_intvl_s;
	uint32_t user_timeout_ms;
	uint64_t last_rcv;  /* ns: the last segment from the peer */
	uint64_t ut_start;  /* ns: user timeout counted from here */
	struct us_timer keep_timer;

	/* Timestamps (tcp_ts.c, RFC 7323). */
	bool ts_ok;	  /* negotiated */
	bool ts_off_set;  /* ts_offset computed */
	uint32_t ts_offset, ts_recent;
	uint64_t ts_recent_age; /* ns: when ts_recent was taken */
	uint8_t cookie_tsbits;	/* a cookie SYN-ACK's TSval low bits */
	uint64_t cookie_last;	/* listener: last SYN cookie sent (ns) */

	/* SACK (tcp_sack.c, RFC 2018, 2883, 6675). */
	bool sack_ok;	    /* negotiated */
	bool sack_rec;	    /* in_recovery is RFC 6675's, not NewReno's */
	bool dsack_pending; /* report [dsack_start, dsack_end) once */
	uint8_t nsb;	    /* ranges in the scoreboard */
	uint32_t dsack_start, dsack_end;
	uint32_t rcv_last_ooo; /* latest out-of-order arrival */
	uint32_t high_rxt;     /* RFC 6675 HighRxt */
	struct {
		uint32_t start, end;
	} sb[TCP_SACK_SB]; /* SACKed by the peer, sorted, above SND.UNA */
};

struct tcp_stack {
	struct tcp_conn **ehash; /* connections by 4-tuple */
	uint32_t ehash_mask, ecount;
	struct tcp_conn **lhash; /* listeners by local port */
	struct tcp_conn **bhash; /* every bound block by local port */
	struct tcp_conn *all;	 /* every block, for fini */
	uint32_t port_seq;	 /* RFC 6056 3.3.3 per-stack increment */
	/* Test and fuzz hook: a fixed initial sequence number. */
	bool isn_fixed;
	uint32_t isn;
	/* Configuration with defaults applied. */
	uint64_t msl_ns, fin_timeout_ns;
	uint32_t rto_min_ms, rto_max_ms, rto_init_ms, delack_ms;
	uint32_t syn_retries, synack_retries, retries, max_syn_backlog;
	uint32_t rcvbuf, sndbuf;
	const struct tcp_cc_ops *cc_default; /* us_config.tcp_congestion */
	bool no_sack;			     /* us_config.tcp_no_sack */
	struct pmtu_cache pmtu;		     /* RFC 1191, by destination */
};

#define TCP_LHASH_SIZE 256u
#define TCP_BHASH_SIZE 4096u

static inline struct tcp_stack *tcp_of(struct us_stack *st)
{
	return st->tcp;
}

/* A parsed incoming segment. */
struct tcp_seg {
	struct tcp_hdr h;
	struct tcp_opts opt;
	uint32_t seq, ack; /* = h.seq, h.ack */
	uint32_t len;	   /* payload bytes (p->data .. p->len) */
	uint32_t end;	   /* seq + len + SYN + FIN */
	uint8_t flags;
	uint32_t wnd; /* h.wnd, scaled when it applies */
	struct inaddr src, dst;
	struct us_pbuf *p; /* payload at p->data, p->len == len */
};

/* tcp_hash.c: keyed hashes of a 4-tuple; each use has its own key, an
 * offset into the stack's 32-byte secret. */
enum {
	TCP_KEY_HASH = 0,
	TCP_KEY_ISN = 8,
	TCP_KEY_PORT = 16,
	TCP_KEY_TS = 4,
	TCP_KEY_COOKIE = 12,
};
/* SipHash-2-4 of n bytes under the key at offset key. */
uint64_t tcp_keyed_hash(struct us_stack *st, int key, const void *m, size_t n);
uint64_t tcp_tuple_hash(struct us_stack *st, int key, const struct inaddr *la,
			uint16_t lp, const struct inaddr *ra, uint16_t rp);
uint32_t tcp_hash4(struct us_stack *st, const struct inaddr *la, uint16_t lp,
		   const struct inaddr *ra, uint16_t rp);
/* RFC 6528 initial sequence number for c's 4-tuple. */
uint32_t tcp_isn(struct us_stack *st, const struct inaddr *la, uint16_t lp,
		 const struct inaddr *ra, uint16_t rp);

static inline uint32_t tcp_port_bucket(uint16_t port, uint32_t size)
{
	return ((uint32_t)port * 0x9E3779B1u) >> 16 & (size - 1);
}

/* tcp_table.c: the tables, the life of a block. */
int tcp_table_init(struct us_stack *st);
void tcp_table_fini(struct us_stack *st);
struct tcp_conn *tcp_conn_alloc(struct us_stack *st);
void tcp_ehash_insert(struct us_stack *st, struct tcp_conn *c);
void tcp_ehash_remove(struct us_stack *st, struct tcp_conn *c);
struct tcp_conn *tcp_lookup(struct us_stack *st, const struct inaddr *la,
			    uint16_t lp, const struct inaddr *ra, uint16_t rp);
void tcp_lhash_insert(struct us_stack *st, struct tcp_conn *c);
void tcp_lhash_remove(struct us_stack *st, struct tcp_conn *c);
struct tcp_conn *tcp_lookup_listener(struct us_stack *st,
				     const struct inaddr *la, uint16_t lp);
void tcp_bhash_insert(struct us_stack *st, struct tcp_conn *c);
void tcp_bhash_remove(struct us_stack *st, struct tcp_conn *c);
/* tcp_port.c. Would binding c to la:lp conflict with another block? */
bool tcp_port_conflict(struct us_stack *st, const struct tcp_conn *c,
		       const struct inaddr *la, uint16_t lp, bool reuse);
bool tcp_listen_conflict(struct us_stack *st, const struct tcp_conn *c);
/* An ephemeral port for bind(0) (unused by any bound block). */
int tcp_pick_bind_port(struct us_stack *st, struct tcp_conn *c,
		       const struct inaddr *la);
/* An ephemeral port for connect: the 4-tuple is unused; a TIME_WAIT
 * block holding the only free one is reused. */
int tcp_pick_connect_port(struct us_stack *st, struct tcp_conn *c);
/* Free the block now: unlink from everything, release buffers. */
void tcp_conn_destroy(struct us_stack *st, struct tcp_conn *c);
/* Free c if nobody needs it any more (CLOSED, no user, no listener). */
void tcp_reap(struct us_stack *st, struct tcp_conn *c);

/* tcp_state.c: transitions and their side effects. */
void tcp_set_state(struct us_stack *st, struct tcp_conn *c, enum tcp_state s);
/* The connection is over: CLOSED, unhashed, timers off, err set (0: a
 * normal end), the user told. Buffers are kept for a last read. */
void tcp_done(struct us_stack *st, struct tcp_conn *c, int err);
void tcp_enter_timewait(struct us_stack *st, struct tcp_conn *c);
void tcp_notify(struct us_stack *st, struct tcp_conn *c, uint32_t ev);
/* Set up the send side after the handshake: MSS, windows, cwnd. */
void tcp_init_xfer(struct us_stack *st, struct tcp_conn *c);
uint16_t tcp_mss_for_mtu(struct us_stack *st);
int tcp_choose_wscale(uint32_t rcvbuf);

/* tcp_input.c / tcp_input_sync.c: segment arrival (RFC 9293 3.10.7). */
void tcp_input(struct us_stack *st, struct us_pbuf *p);
void tcp_err(struct us_stack *st, int type, int code, uint32_t info,
	     const uint8_t *quote, uint32_t len);
void tcp_input_synsent(struct us_stack *st, struct tcp_conn *c,
		       struct tcp_seg *s);
/* Take MSS and window scale from the peer's SYN. */
void tcp_syn_options(struct tcp_conn *c, const struct tcp_seg *s);
void tcp_input_sync(struct us_stack *st, struct tcp_conn *c, struct tcp_seg *s);
/* tcp_ack.c: the ACK field in synchronized states (RFC 9293 3.10.7.4
 * fifth, RFC 5681, RFC 6582). Returns false if the segment is dropped. */
bool tcp_ack_process(struct us_stack *st, struct tcp_conn *c,
		     struct tcp_seg *s);
/* Drop acked bytes from the send buffer. */
void tcp_sndq_ack(struct us_stack *st, struct tcp_conn *c, uint32_t n);

/* tcp_rcv.c: the data and FIN (RFC 9293 3.10.7.4 seventh, eighth). */
void tcp_data_in(struct us_stack *st, struct tcp_conn *c, struct tcp_seg *s);
/* Append in-order data to rcvq (consumes p). */
void tcp_rcvq_append(struct us_stack *st, struct tcp_conn *c,
		     struct us_pbuf *p);
/* Receive window we can offer now (bytes, unscaled). */
uint32_t tcp_rcv_space(const struct tcp_conn *c);
/* tcp_ooo.c: out-of-order queue. Consumes p (data at the payload). */
void tcp_ooo_insert(struct us_stack *st, struct tcp_conn *c, struct us_pbuf *p,
		    uint32_t seq, bool fin);
/* Move what became in order to rcvq; returns bytes moved. */
uint32_t tcp_ooo_drain(struct us_stack *st, struct tcp_conn *c);
/* Merge small buffers of q into full ones; returns truesize freed. */
uint32_t tcp_collapse(struct us_stack *st, struct pbuf_queue *q, bool ooo);

/* tcp_output.c: building and sending segments. */
/* Send what the windows and Nagle allow (data, FIN, SYN). */
void tcp_output(struct us_stack *st, struct tcp_conn *c);
/* One segment from the send buffer at seq (retransmission). */
int tcp_xmit_at(struct us_stack *st, struct tcp_conn *c, uint32_t seq,
		uint32_t maxlen);
void tcp_send_ack(struct us_stack *st, struct tcp_conn *c);
/* ACK at the end of this input (now) or on the delayed-ACK timer
 * (RFC 9293 3.8.6.3, RFC 5681 4.2). */
void tcp_ack_later(struct us_stack *st, struct tcp_conn *c, bool now);
/* Send the ACK owed (ack_now) unless a segment carried it already. */
void tcp_ack_flush(struct us_stack *st, struct tcp_conn *c);
void tcp_send_syn(struct us_stack *st, struct tcp_conn *c);
/* RST on connection c (abort): <SEQ=SND.NXT><CTL=RST>. */
void tcp_send_rst_conn(struct us_stack *st, struct tcp_conn *c);
/* RST in answer to a segment with no connection (RFC 9293 3.10.7.1). */
void tcp_send_rst_reply(struct us_stack *st, const struct tcp_seg *s);
/* RFC 5961 7: a rate-limited ACK. */
void tcp_send_challenge_ack(struct us_stack *st, struct tcp_conn *c);
void tcp_send_oow_ack(struct us_stack *st, struct tcp_conn *c,
		      const struct tcp_seg *s);
/* Zero-window probe (old sequence number, no data). */
void tcp_send_probe(struct us_stack *st, struct tcp_conn *c);
uint16_t tcp_wnd_field(struct tcp_conn *c, bool syn);

/* tcp_info.c: TCP_INFO, in Linux's struct tcp_info layout. */
int tcp_get_info(struct us_stack *st, const struct tcp_conn *c, void *val,
		 socklen_t *len);

/* tcp_opt.c: TCP_CONGESTION, keepalive and user-timeout options;
 * -ENOPROTOOPT for the others. */
int tcp_setopt_ext(struct us_stack *st, struct tcp_conn *c, int level,
		   int name, const void *val, socklen_t len);
int tcp_getopt_ext(struct us_stack *st, struct tcp_conn *c, int level,
		   int name, void *val, socklen_t *len);
/* tcp_ts.c: timestamps (RFC 7323). */
uint32_t tcp_ts_now(struct us_stack *st, struct tcp_conn *c);
uint32_t tcp_ts_optlen(const struct tcp_conn *c);
uint32_t tcp_ts_emit(struct us_stack *st, struct tcp_conn *c, uint8_t *b,
		     uint8_t flags);
void tcp_ts_syn(struct us_stack *st, struct tcp_conn *c,
		const struct tcp_seg *s);
bool tcp_ts_paws(struct us_stack *st, struct tcp_conn *c,
		 const struct tcp_seg *s);
void tcp_ts_update(struct us_stack *st, struct tcp_conn *c,
		   const struct tcp_seg *s);
void tcp_ts_ack(struct us_stack *st, struct tcp_conn *c,
		const struct tcp_seg *s);
/* tcp_sack.c: SACK (RFC 2018, 2883, 6675). */
void tcp_sack_syn(struct us_stack *st, struct tcp_conn *c,
		  const struct tcp_seg *s);
void tcp_sack_ooo_rcvd(struct tcp_conn *c, uint32_t seq);
void tcp_sack_dup_rcvd(struct tcp_conn *c, uint32_t start, uint32_t end);
uint32_t tcp_sack_emit(struct us_stack *st, struct tcp_conn *c, uint8_t *b,
		       uint32_t room, uint8_t flags, uint32_t len);
void tcp_sack_rcvd(struct us_stack *st, struct tcp_conn *c,
		   const struct tcp_seg *s);
/* SND.UNA moved: forget what it covers. */
void tcp_sack_acked(struct tcp_conn *c);
/* The window tcp_output may fill in SACK recovery (cwnd - pipe). */
uint32_t tcp_sack_wnd(const struct tcp_conn *c);
bool tcp_sack_dupack(struct us_stack *st, struct tcp_conn *c);
bool tcp_sack_partial(struct us_stack *st, struct tcp_conn *c);
/* tcp_icmp.c: path MTU (RFC 1191). */
uint32_t tcp_path_mtu(struct us_stack *st, const struct tcp_conn *c);
uint32_t tcp_path_mss(struct us_stack *st, const struct tcp_conn *c);
void tcp_icmp_frag_needed(struct us_stack *st, struct tcp_conn *c,
			  uint32_t mtu);
/* tcp_cookie.c: SYN cookies (RFC 4987). */
uint32_t tcp_cookie_make(struct us_stack *st, const struct tcp_seg *s,
			 uint16_t peer_mss);
uint16_t tcp_cookie_check(struct us_stack *st, const struct tcp_seg *s,
			  uint32_t cookie);
void tcp_cookie_send(struct us_stack *st, struct tcp_conn *l,
		     struct tcp_seg *s);
bool tcp_cookie_accept(struct us_stack *st, struct tcp_conn *l,
		       struct tcp_seg *s);
/* tcp_listen.c: a child takes the listener's settings; adopt also puts
 * it on the SYN queue. */
void tcp_child_inherit(struct tcp_conn *c, const struct tcp_conn *l);
/* A block for the connection a SYN to listener l asks for: l's settings,
 * the SYN's addresses and sequence number, our answer's options chosen
 * (RFC 7323, RFC 2018). NULL, counted, when memory is short. */
struct tcp_conn *tcp_child_from_syn(struct us_stack *st, struct tcp_conn *l,
				    struct tcp_seg *s);
void tcp_child_adopt(struct tcp_conn *l, struct tcp_conn *c);
/* tcp_keepalive.c */
void tcp_keepalive_init(struct tcp_conn *c);
void tcp_keepalive_stop(struct us_stack *st, struct tcp_conn *c);
/* (Re)start the keepalive timer if enabled and the state wants it. */
void tcp_keepalive_reset(struct us_stack *st, struct tcp_conn *c);
/* A segment arrived from the peer. */
void tcp_keepalive_rcvd(struct us_stack *st, struct tcp_conn *c);
int tcp_keep_idle_s(const struct tcp_conn *c);
int tcp_keep_intvl_s(const struct tcp_conn *c);
int tcp_keep_cnt(const struct tcp_conn *c);
/* On a retransmission timeout (retries already counted): give up? */
bool tcp_rtx_give_up(struct us_stack *st, struct tcp_conn *c);
void tcp_user_timeout_clamp(struct us_stack *st, struct tcp_conn *c,
			    uint64_t delay_ns);

/* tcp_timer.c */
void tcp_timers_init(struct tcp_conn *c);
void tcp_timers_stop(struct us_stack *st, struct tcp_conn *c);
void tcp_rtx_arm(struct us_stack *st, struct tcp_conn *c);
void tcp_rtx_stop(struct us_stack *st, struct tcp_conn *c);
void tcp_persist_arm(struct us_stack *st, struct tcp_conn *c);
void tcp_timer_arm_mode(struct us_stack *st, struct tcp_conn *c,
			enum tcp_rtx_mode m, uint64_t delay_ns);
void tcp_delack_arm(struct us_stack *st, struct tcp_conn *c);
void tcp_delack_stop(struct us_stack *st, struct tcp_conn *c);
/* RFC 6298 2.2-2.4: a new RTT measurement (us). */
void tcp_rtt_sample(struct us_stack *st, struct tcp_conn *c, uint32_t rtt_us);
uint32_t tcp_rto_base(struct us_stack *st, const struct tcp_conn *c);

/* tcp_listen.c: passive open (RFC 9293 3.10.7.2) and the queues. */
/* isn_floor: the ISN must lie beyond it (a SYN reusing a TIME_WAIT
 * 4-tuple, RFC 1122 4.2.2.13); NULL: no constraint. */
void tcp_listen_input(struct us_stack *st, struct tcp_conn *l,
		      struct tcp_seg *s, const uint32_t *isn_floor);
/* A child reached ESTABLISHED: move it to the accept queue. Returns
 * false if the accept queue is full (the ACK is then dropped). */
bool tcp_child_established(struct us_stack *st, struct tcp_conn *c);
void tcp_child_unlink(struct tcp_conn *c);
void tcp_listen_stop(struct us_stack *st, struct tcp_conn *l);

/* Bytes of the send buffer not yet sent. */
static inline uint32_t tcp_unsent(const struct tcp_conn *c)
{
	return seq_lt(c->snd_nxt, c->snd_end) ? c->snd_end - c->snd_nxt : 0;
}
static inline uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}
static inline bool tcp_synchronized(enum tcp_state s)
{
	return s >= TCP_ESTABLISHED || s == TCP_SYN_RECEIVED;
}

#endif
