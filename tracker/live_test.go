package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// Live mode: the sweep judges connections against the wall clock between
// packets, so it must wait as long as the wire may still answer (the next
// retransmission surely due) before it heals a path or calls a peer gone.

// liveFeed plays segments at explicit times, with sweeps between them.
type liveFeed struct {
	tr    *Tracker
	now   int64
	times []int64 // of each segment fed, for findings' steps
}

func newLive() *liveFeed {
	return &liveFeed{tr: New(Config{}), now: int64(1_700_000_000) * int64(time.Second)}
}

// seg feeds a segment at a time after the start; sequence numbers are
// relative to the ISNs 1000 (client) and 5000 (server).
func (l *liveFeed) seg(at time.Duration, from Side, flags Flags, seq, ack, pl uint32) {
	s := Segment{Flags: flags, Seq: 1000 + seqnum.Value(seq), Ack: 5000 + seqnum.Value(ack), Payload: pl, Window: 1000, WScale: -1}
	s.Src, s.SrcPort, s.Dst, s.DstPort = cAddr, 40000, sAddr, 80
	if from == Server {
		s.Seq, s.Ack = 5000+seqnum.Value(seq), 1000+seqnum.Value(ack)
		s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, cAddr, 40000
	}
	s.Time = l.now + int64(at)
	l.times = append(l.times, s.Time)
	l.tr.Observe(&s)
}

// handshake opens the connection: SYN, SYN-ACK and ACK at 0, 1 and 2 ms.
func (l *liveFeed) handshake() {
	ms := time.Millisecond
	l.seg(0, Client, S, 0, 0, 0)
	l.seg(ms, Server, SA, 0, 1, 0)
	l.seg(2*ms, Client, A, 1, 1, 0)
}

func (l *liveFeed) sweep(at time.Duration) { l.tr.Advance(l.now + int64(at)); l.tr.Sweep() }

// expect checks the connection's states and every finding made so far
// (steps count the segments fed).
func (l *liveFeed) expect(t *testing.T, when string, client, server State, want ...finding) {
	t.Helper()
	c := l.tr.Conns()[0]
	if c.State(Client) != client || c.State(Server) != server {
		t.Errorf("%s: %v/%v, want %v/%v", when, c.State(Client), c.State(Server), client, server)
		dump(t, l.tr)
	}
	checkFindings(t, l.tr, l.times, want)
}

// TestLiveSweepDoesNotHealBeforeNextSynAckDue: the third ACK is
// black-holed; the server retransmits its SYN-ACK at 1, 3 and 7 s (Linux's
// 1, 2, 4 s backoff). The next one is due at 15 s, and Linux's timers fire
// a little late: a sweep 2 ms after that must not heal the path, and the
// retransmission 3 ms later proves it still black-holed. The sweep, past
// the handshake timeout, judges the handshake half open since the first
// SYN-ACK.
func TestLiveSweepDoesNotHealBeforeNextSynAckDue(t *testing.T) {
	l := newLive()
	ms := time.Millisecond
	l.handshake()
	for _, at := range []time.Duration{1001, 3001, 7001} {
		l.seg(at*ms, Server, SA, 0, 1, 0)
		l.seg((at+1)*ms, Client, A, 1, 1, 0)
	}
	l.sweep(15003 * ms)
	l.expect(t, "sweep 2 ms after twice the backoff", Established, SynRcvd, finding{HalfOpen, 1, Server, 2})
	l.seg(15006*ms, Server, SA, 0, 1, 0)
	l.seg(15007*ms, Client, A, 1, 1, 0)
	l.expect(t, "after the next retransmission", Established, SynRcvd, finding{HalfOpen, 1, Server, 2})
}

// TestLiveSweepWithKernelBackoffGapsKeepsSynRcvd: the SYN-ACK
// retransmission times of testdata/pcaps/black-hole-healed.pcap (gaps
// 1.017 s, 2.016 s, 4.128 s: the timer wheel rounds longer timers up more)
// with a black hole that never heals, and a live sweep 28 ms before the
// third retransmission. The kernel: SYN_RCVD after it; the handshake, past
// its timeout at the sweep, is half open since the first SYN-ACK.
func TestLiveSweepWithKernelBackoffGapsKeepsSynRcvd(t *testing.T) {
	l := newLive()
	ms := time.Millisecond
	l.seg(0, Client, S, 0, 0, 0)
	l.seg(0, Server, SA, 0, 1, 0)
	l.seg(0, Client, A, 1, 1, 0)
	at := time.Duration(0)
	for i, gap := range []time.Duration{1017 * ms, 2016 * ms, 4128 * ms} {
		at += gap
		if i == 2 {
			l.sweep(at - 28*ms)
		}
		l.seg(at, Server, SA, 0, 1, 0)
		l.seg(at+ms/10, Client, A, 1, 1, 0)
	}
	l.expect(t, "after the third retransmission", Established, SynRcvd, finding{HalfOpen, 1, Server, 2})
}

// TestLiveSilenceWaitsForLateRetransmission: data retransmitted at 0.2,
// 0.6 and 1.4 s (gap 0.8 s), the next at 3.03 s, 30 ms late, which is
// answered. File mode finds nothing; neither may a live sweep at 3.02 s.
func TestLiveSilenceWaitsForLateRetransmission(t *testing.T) {
	l := newLive()
	ms := time.Millisecond
	l.handshake()
	for _, at := range []time.Duration{10, 210, 610, 1410} {
		l.seg(at*ms, Client, PA, 1, 1, 100)
	}
	l.sweep(3020 * ms)
	l.expect(t, "sweep at 3.02 s", Established, Established)
	l.seg(3040*ms, Client, PA, 1, 1, 100)
	l.seg(3041*ms, Server, A, 1, 101, 0)
	l.tr.Finish()
	l.expect(t, "end", Established, Established)
}

// TestLiveSweepWaitsForNextDataRetransmission: sweeps every 250 ms between
// the third and the fourth retransmission of data (Linux's backoff: 0.2,
// 0.6, 1.4, 3.0 s), which is answered: a loss burst that recovered, not a
// peer gone, as in file mode.
func TestLiveSweepWaitsForNextDataRetransmission(t *testing.T) {
	l := newLive()
	ms := time.Millisecond
	l.handshake()
	base := 10 * ms
	for _, at := range []time.Duration{0, 200, 600, 1400} {
		l.seg(base+at*ms, Client, PA, 1, 1, 100)
	}
	for at := 1400 * ms; at <= 3000*ms; at += 250 * ms {
		l.sweep(base + at)
	}
	l.expect(t, "sweeps up to 3.0 s", Established, Established)
	l.seg(base+3000*ms, Client, PA, 1, 1, 100)
	l.seg(base+3001*ms, Server, A, 1, 101, 0)
	l.tr.Finish()
	l.expect(t, "end", Established, Established)
}
