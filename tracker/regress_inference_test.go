package tracker

import (
	"maps"
	"strings"
	"testing"
	"time"
)

// These scenarios come from a second review of the inference rules: each
// once gave a wrong state, a false finding or a lost one.

// outcome is what a scenario must end with: the number of connections, the
// last one's states, and the findings counted by kind.
type outcome struct {
	conns          int
	client, server string
	counts         map[Kind]int
}

func expect(t *testing.T, tr *Tracker, want outcome) {
	t.Helper()
	cs := tr.Conns()
	c := cs[len(cs)-1]
	got := tr.AnomalyCounts()
	if want.counts == nil {
		want.counts = map[Kind]int{}
	}
	if len(cs) != want.conns || c.State(Client).String() != want.client || c.State(Server).String() != want.server || !maps.Equal(got, want.counts) {
		t.Errorf("got %d connections, last %v/%v, findings %v; want %d, %s/%s, %v",
			len(cs), c.State(Client), c.State(Server), got, want.conns, want.client, want.server, want.counts)
		dump(t, tr)
	}
}

func dump(t *testing.T, tr *Tracker) {
	t.Helper()
	for _, c := range tr.Conns() {
		t.Logf("conn #%d %v/%v pk %d/%d badseq=%d\n%s", c.ID, c.State(Client), c.State(Server), c.Half(0).Packets(), c.Half(1).Packets(), c.BadSeq, timeline(c))
	}
	for _, a := range tr.Anomalies() {
		t.Logf("  anomaly #%d %v %v: %s", a.Conn, a.Kind, a.Side, a.Detail)
	}
	t.Logf("counts %v", tr.AnomalyCounts())
}

func play(t *testing.T, steps []step, advance time.Duration) *Tracker {
	tr := run(t, Config{Thresholds: Thresholds{Stuck: 10 * time.Second}}, steps)
	if advance > 0 {
		tr.Advance(tr.Now() + int64(advance))
	}
	tr.Finish()
	return tr
}

var closed = with(established,
	step{from: Client, flags: FA, seq: 11, ack: 21},
	step{from: Server, flags: FA, seq: 21, ack: 12},
	step{from: Client, flags: A, seq: 12, ack: 22})

func TestAdvSameISNAfterTimeWait(t *testing.T) {
	// a full connection, then 5 s later the client's SYN with the old ISN (a stack with a fixed ISN / scanner)
	tr := play(t, with(closed,
		step{from: Client, flags: S, after: 5 * time.Second},
		step{from: Server, flags: SA, seq: 50000, ack: 1},
		step{from: Client, flags: A, seq: 1, ack: 50001},
		step{from: Client, flags: PA, seq: 1, ack: 50001, payload: 5},
	), 0)
	expect(t, tr, outcome{2, "ESTABLISHED", "ESTABLISHED", map[Kind]int{PortReuse: 1}})
}

func TestAdvSameISNAfterRSTAbort(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: RA, seq: 11, ack: 21},
		step{from: Client, flags: S, after: 5 * time.Second},
		step{from: Server, flags: SA, seq: 50000, ack: 1},
		step{from: Client, flags: A, seq: 1, ack: 50001},
	), 0)
	expect(t, tr, outcome{2, "ESTABLISHED", "ESTABLISHED", map[Kind]int{Reset: 1}})
}

// over-ack, then normal close, then 2xMSL passes: is bad_sequence still reported?
func TestAdvOverAckRetired(t *testing.T) {
	steps := with(established,
		step{from: Server, flags: A, seq: 21, ack: 5000}, // acks 5000 bytes never sent
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22})
	t.Run("end right away", func(t *testing.T) {
		tr := play(t, steps, 0)
		if tr.AnomalyCounts()[BadSequence] == 0 {
			t.Error("no bad_sequence")
		}
	})
	t.Run("capture goes on 2 min", func(t *testing.T) {
		tr := play(t, steps, 2*time.Minute)
		if tr.AnomalyCounts()[BadSequence] == 0 {
			t.Error("no bad_sequence after the connection was retired")
		}
	})
	t.Run("port reused", func(t *testing.T) {
		tr := play(t, with(steps, step{from: Client, flags: S, seq: 900000, after: 2 * time.Second}), 0)
		if tr.AnomalyCounts()[BadSequence] == 0 {
			t.Error("no bad_sequence after the connection was superseded")
		}
	})
}

// RST outside the window (bad_sequence by client) then over-ack by client at the end: detail overwritten?
func TestAdvRefreshOverwritesOtherFinding(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: R, seq: 900000},
		step{from: Client, flags: A, seq: 11, ack: 9000},
	), 0)
	expect(t, tr, outcome{1, "ESTABLISHED", "ESTABLISHED", map[Kind]int{BadSequence: 1}})
	if d := tr.Anomalies()[0].Detail; !strings.Contains(d, "sent an RST") {
		t.Errorf("the RST's finding now says %q", d)
	}
}

// black hole proven twice, then the path heals: the ACK arrives and the server stops retransmitting.
func TestAdvBlackHoleHealed(t *testing.T) {
	tr := play(t, with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		// no more SYN-ACK retransmissions for 60 s: the ACK arrived (kernel: ESTABLISHED)
	), 60*time.Second)
	expect(t, tr, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// LAST_ACK: FIN retransmitted twice after the ACK, third ACK arrives; nothing else.
func TestAdvLastAckHealed(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 200 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 400 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22},
	), 30*time.Second)
	expect(t, tr, outcome{1, "TIME_WAIT", "CLOSED", nil})
}

// black hole: server then sends data (a SYN_RCVD socket cannot send data without TFO)
func TestAdvBlackHoleServerData(t *testing.T) {
	tr := play(t, with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: PA, seq: 1, ack: 1, payload: 10, after: 100 * time.Millisecond},
	), 0)
	expect(t, tr, outcome{1, "ESTABLISHED", "SYN_RCVD", map[Kind]int{HalfOpen: 1}})
}

// FIN "reordered" check: server over-acks (ack beyond client's data) then client sends data+FIN: FIN counted acked?
func TestAdvFINReorderOverAck(t *testing.T) {
	tr := play(t, with(established,
		step{from: Server, flags: A, seq: 21, ack: 100}, // bogus ack
		step{from: Client, flags: FA, seq: 11, ack: 21}, // client's FIN at 11
	), 0)
	// The over-acknowledgment does not acknowledge the FIN (it is not FIN+1);
	// the FIN, never retransmitted before the input ended, is taken as
	// acknowledged at the end, by silence alone.
	expect(t, tr, outcome{1, "FIN_WAIT_2", "CLOSE_WAIT", map[Kind]int{BadSequence: 1}})
	if last, _ := tr.Conns()[0].LastTransition(); last.Packet != 0 || !strings.Contains(last.Why, "never retransmitted") {
		t.Errorf("FIN_WAIT_2 from %q at packet %d; want the silence rule", last.Why, last.Packet)
	}
}

// TFO: SYN with data, SYN-ACK acking data missed by the capture, server acks the data.
func TestAdvTFOMissedSynAck(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S, payload: 100},
		// SYN-ACK (ack 101) not captured
		{from: Client, flags: A, seq: 101, ack: 1},
		{from: Server, flags: PA, seq: 1, ack: 101, payload: 50},
		{from: Client, flags: A, seq: 101, ack: 51},
	}, 0)
	expect(t, tr, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// Capture missed the SYN-ACK: server's ACKs acknowledge the client's data.
func TestAdvMissedSynAck(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S},
		{from: Client, flags: A, seq: 1, ack: 1},
		{from: Client, flags: PA, seq: 1, ack: 1, payload: 10},
		{from: Server, flags: PA, seq: 1, ack: 11, payload: 50},
		{from: Client, flags: FA, seq: 11, ack: 51},
		{from: Server, flags: FA, seq: 51, ack: 12},
		{from: Client, flags: A, seq: 12, ack: 52},
	}, 0)
	expect(t, tr, outcome{1, "TIME_WAIT", "CLOSED", nil})
}

// pendingSyn: new-ISN SYN on live conn, challenge ACK, conn continues; later a SYN-ACK
// from server with ack = pending+1 — e.g. server's retransmission? Here: the client restarted,
// the server RSTs nothing; client retransmits SYN; server still live replies challenge ACK again.
func TestAdvPendingSynChallenge(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: S, seq: 777777, after: time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11}, // challenge ACK
		step{from: Client, flags: R, seq: 11},          // client (restarted) RSTs the challenge ACK: seq = its ack
		step{from: Client, flags: S, seq: 777777, after: time.Second},
		step{from: Server, flags: SA, seq: 90000, ack: 777778},
		step{from: Client, flags: A, seq: 777778, ack: 90001},
	), 0)
	expect(t, tr, outcome{2, "ESTABLISHED", "ESTABLISHED", map[Kind]int{Reset: 1}})
}

// Simultaneous open where the capture sees: client SYN, server SYN, server SYN-ACK, client SYN-ACK, ACKs with data
func TestAdvSimOpenData(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S},
		{from: Server, flags: S},
		{from: Server, flags: SA, ack: 1},
		{from: Client, flags: SA, ack: 1},
		{from: Client, flags: PA, seq: 1, ack: 1, payload: 10},
		{from: Server, flags: A, seq: 1, ack: 11},
	}, 0)
	expect(t, tr, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// SYN retransmission by the client after SYN-ACK (the SYN-ACK was delayed, crossed), client's ACK carries data later.
func TestAdvSynRtxCrossedSynAck(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 1, after: 990 * time.Millisecond},
		{from: Client, flags: S, after: 10 * time.Millisecond}, // crossed
		{from: Server, flags: A, seq: 1, ack: 1},               // server answers the dup SYN in SYN_RCVD with... (Linux: SYN-ACK rtx); here a bare ACK
		{from: Client, flags: A, seq: 1, ack: 1},
	}, 0)
	expect(t, tr, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// scanner (masscan/zmap: ISN fixed per 4-tuple): SYN, SYN-ACK, RST from the scanner; retry with the same SYN.
func TestAdvScannerRetry(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 1},
		{from: Client, flags: R, seq: 1},
		{from: Client, flags: S, after: time.Second},
		{from: Server, flags: SA, seq: 70000, ack: 1},
		{from: Client, flags: R, seq: 1},
	}, 0)
	if n := len(tr.Conns()); n != 2 || tr.AnomalyCounts()[BadSequence] != 0 {
		t.Errorf("%d conns, %v", n, tr.AnomalyCounts())
	}
}

func TestAdvRefreshTimes(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: R, seq: 900000},
		step{from: Client, flags: A, seq: 11, ack: 9000, after: 5 * time.Second},
	), 0)
	expect(t, tr, outcome{1, "ESTABLISHED", "ESTABLISHED", map[Kind]int{BadSequence: 1}})
	if d := tr.Anomalies()[0].Detail; !strings.Contains(d, "sent an RST") {
		t.Errorf("the RST's finding now says %q", d)
	}
}

func TestAdvPendingSynDoubleCount(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: A, seq: 50, ack: 70},
		{from: Client, flags: S, seq: 900000, after: 10 * time.Second},
		{from: Server, flags: SA, seq: 300000, ack: 900001},
		{from: Client, flags: A, seq: 900001, ack: 300001},
	}, 0)
	expect(t, tr, outcome{2, "ESTABLISHED", "ESTABLISHED", nil})
	if old := tr.Conns()[0]; old.Half(Client).Packets() != 1 {
		t.Errorf("the SYN counted on the old connection too: %d packets", old.Half(Client).Packets())
	}
}

// pending SYN in the other direction matched by an unrelated SYN-ACK? A new-ISN SYN from the
// server side of a live conn (e.g. a bogus/injected SYN), then much later the client sends SYN-ACK
// acking it: role reversal accepted.
func TestAdvRSTInTimeWaitFromTWSide(t *testing.T) {
	tr := play(t, with(closed,
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 300 * time.Millisecond}, // LAST_ACK rtx
		step{from: Client, flags: R, seq: 12, after: time.Millisecond},
	), 0)
	expect(t, tr, outcome{1, "CLOSED", "CLOSED", nil})
}

// live: Sweep between the third and fourth retransmission (Linux backoff 0.2, 0.6, 1.4, 3.0 s)
func TestAdvLiveSweepHalfOpenTooEarly(t *testing.T) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	mk := func(from Side, flags Flags, seq, ack, pl uint32) Segment {
		return testSeg(isnPairs[0], from, flags, seq, ack, pl)
	}
	feed := func(at time.Duration, s Segment) { s.Time = now + int64(at); tr.Observe(&s) }
	feed(0, mk(Client, S, 0, 0, 0))
	feed(time.Millisecond, mk(Server, SA, 0, 1, 0))
	feed(2*time.Millisecond, mk(Client, A, 1, 1, 0))
	base := 10 * time.Millisecond
	for _, at := range []time.Duration{0, 200, 600, 1400} {
		feed(base+at*time.Millisecond, mk(Client, PA, 1, 1, 100))
	}
	for ms := 1400; ms <= 3000; ms += 250 {
		tr.Advance(now + int64(base+time.Duration(ms)*time.Millisecond))
		tr.Sweep()
	}
	feed(base+3000*time.Millisecond, mk(Client, PA, 1, 1, 100))
	feed(base+3001*time.Millisecond, mk(Server, A, 1, 101, 0))
	tr.Finish()
	dump(t, tr)
	if tr.AnomalyCounts()[HalfOpen] > 0 {
		t.Error("live sweep flagged half_open for a loss burst that recovered on the 4th retransmission; file mode would not")
	}
}
