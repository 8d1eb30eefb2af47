/* TCP_INFO: the connection's state in Linux's struct tcp_info, so tools
 * and tests written for Linux read it unchanged. Fields we do not track
 * are 0. Times are microseconds, windows in segments, as Linux. */
#include <linux/tcp.h>
#include <string.h>

#include "tcp/tcp_conn.h"

/* Linux's state numbers (include/net/tcp_states.h). */
static uint8_t linux_state(enum tcp_state s)
{
	static const uint8_t map[] = {
	    [TCP_CLOSED] = 7,	    [TCP_LISTEN] = 10,	   [TCP_SYN_SENT] = 2,
	    [TCP_SYN_RECEIVED] = 3, [TCP_ESTABLISHED] = 1, [TCP_FIN_WAIT_1] = 4,
	    [TCP_FIN_WAIT_2] = 5,   [TCP_CLOSE_WAIT] = 8,  [TCP_CLOSING] = 11,
	    [TCP_LAST_ACK] = 9,	    [TCP_TIME_WAIT] = 6,
	};
	return (unsigned)s < US_ARRAY_SIZE(map) ? map[s] : 7;
}

static uint32_t ms_ago(uint64_t now, uint64_t t)
{
	return t && now > t ? (uint32_t)((now - t) / US_NS_PER_MS) : 0;
}

int tcp_get_info(struct us_stack *st, const struct tcp_conn *c, void *val,
		 socklen_t *len)
{
	struct tcp_info ti;
	uint32_t mss = c->mss ? c->mss : TCP_DEFAULT_MSS;

	memset(&ti, 0, sizeof(ti));
	ti.tcpi_state = linux_state(c->state);
	/* TCP_CA_Open 0, Recovery 3, Loss 4. */
	ti.tcpi_ca_state = c->in_recovery ? 3 : c->backoff ? 4 : 0;
	ti.tcpi_retransmits = c->retries;
	ti.tcpi_backoff = c->backoff;
	if (c->sack_ok)
		ti.tcpi_options |= TCPI_OPT_SACK;
	if (c->ts_ok)
		ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (c->ws_ok) {
		ti.tcpi_options |= TCPI_OPT_WSCALE;
		ti.tcpi_snd_wscale = c->snd_wscale & 0xf;
		ti.tcpi_rcv_wscale = c->rcv_wscale & 0xf;
	}
	ti.tcpi_rto = c->rto_ms * 1000u;
	ti.tcpi_ato = tcp_of(st)->delack_ms * 1000u;
	ti.tcpi_snd_mss = mss;
	ti.tcpi_rcv_mss = c->rcv_mss_est ? c->rcv_mss_est : TCP_DEFAULT_MSS;
	ti.tcpi_unacked = (tcp_flight(c) + mss - 1) / mss;
	ti.tcpi_last_data_sent = ms_ago(st->now, c->info.last_data_sent);
	ti.tcpi_last_data_recv = ms_ago(st->now, c->info.last_data_recv);
	ti.tcpi_last_ack_recv = ms_ago(st->now, c->info.last_ack_recv);
	ti.tcpi_pmtu = tcp_path_mtu(st, c);
	ti.tcpi_rtt = c->srtt_us;
	ti.tcpi_rttvar = c->rttvar_us;
	ti.tcpi_snd_ssthresh =
	    c->ssthresh >= UINT32_MAX / 2 ? 0x7fffffff : c->ssthresh / mss;
	ti.tcpi_snd_cwnd = c->cwnd / mss;
	ti.tcpi_advmss = c->rcv_mss;
	ti.tcpi_rcv_space = tcp_rcv_space(c);
	ti.tcpi_total_retrans = c->info.total_retrans;
	ti.tcpi_bytes_acked = c->info.bytes_acked;
	ti.tcpi_bytes_received = c->info.bytes_received;
	ti.tcpi_segs_out = c->info.segs_out;
	ti.tcpi_segs_in = c->info.segs_in;
	ti.tcpi_notsent_bytes = tcp_unsent(c);
	ti.tcpi_data_segs_in = c->info.data_segs_in;
	ti.tcpi_data_segs_out = c->info.data_segs_out;
	ti.tcpi_bytes_sent = c->info.bytes_sent;
	ti.tcpi_bytes_retrans = c->info.bytes_retrans;
	ti.tcpi_snd_wnd = c->snd_wnd;

	socklen_t n = *len < (socklen_t)sizeof(ti) ? *len : sizeof(ti);
	memcpy(val, &ti, n);
	*len = n;
	return 0;
}
