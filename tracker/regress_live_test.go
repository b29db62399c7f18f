package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

type liveFeed struct {
	tr  *Tracker
	now int64
}

func newLive() *liveFeed {
	return &liveFeed{tr: New(Config{}), now: int64(1_700_000_000) * int64(time.Second)}
}

func (l *liveFeed) seg(at time.Duration, from Side, flags Flags, seq, ack, pl uint32) {
	s := Segment{Flags: flags, Seq: 1000 + seqnum.Value(seq), Ack: 5000 + seqnum.Value(ack), Payload: pl, Window: 1000, WScale: -1}
	s.Src, s.SrcPort, s.Dst, s.DstPort = cAddr, 40000, sAddr, 80
	if from == Server {
		s.Seq, s.Ack = 5000+seqnum.Value(seq), 1000+seqnum.Value(ack)
		s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, cAddr, 40000
	}
	s.Time = l.now + int64(at)
	l.tr.Observe(&s)
}

func (l *liveFeed) sweep(at time.Duration) { l.tr.Advance(l.now + int64(at)); l.tr.Sweep() }

// R5b: the SYN-ACK retransmission times of testdata/pcaps/black-hole-healed.pcap
// (gaps 1.017 s, 2.016 s, 4.128 s: the timer wheel rounds longer timers up
// more), black hole never healing. A live sweep 4.1 s after the second
// retransmission heals; the third retransmission 28 ms later gives lostAcks 1,
// and the next repeat of the ACK is believed.
func TestR3LiveHealRealGaps(t *testing.T) {
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
	c := l.tr.Conns()[0]
	if c.State(Server) != SynRcvd {
		dump(t, l.tr)
		t.Errorf("server %v after its third SYN-ACK retransmission into a black hole; kernel: SYN_RCVD", c.State(Server))
	}
}

// R6: live half_open into silence: data retransmitted at 0.2, 0.6, 1.4 s
// (gap 0.8 s) and the fourth at 3.03 s (late by 30 ms), which is answered.
// File mode: no finding. Live: a sweep at 3.02 s says the peer is gone.
func TestR3LiveSilenceGraceZeroMargin(t *testing.T) {
	l := newLive()
	ms := time.Millisecond
	l.seg(0, Client, S, 0, 0, 0)
	l.seg(ms, Server, SA, 0, 1, 0)
	l.seg(2*ms, Client, A, 1, 1, 0)
	for _, at := range []time.Duration{10, 210, 610, 1410} {
		l.seg(at*ms, Client, PA, 1, 1, 100)
	}
	l.sweep(3020 * ms)
	l.seg(3040*ms, Client, PA, 1, 1, 100)
	l.seg(3041*ms, Server, A, 1, 101, 0)
	l.tr.Finish()
	if n := l.tr.AnomalyCounts()[HalfOpen]; n > 0 {
		dump(t, l.tr)
		t.Errorf("live: half_open for a path that answered the next retransmission (file mode: none)")
	}
}
