package tracker

import (
	"testing"
	"time"
)

// TestRestartedTimeWaitExpiresInItsTurn: the compact records of forgotten
// connections leave, and their TIME_WAITs are counted CLOSED, as each
// runs out, during the run: a TIME_WAIT restarted by its peer's FIN sent
// again waits 2×MSL from that FIN, and does not hold back the expiry of
// those parked after it.
func TestRestartedTimeWaitExpiresInItsTurn(t *testing.T) {
	const s = int64(time.Second)
	start := int64(1_700_000_000) * s
	// Three connections closed by their clients at about start, +16.7 s
	// and +33.3 s, the first two forgotten (MaxKept 1): their TIME_WAITs
	// (60 s) end at about +60 s, +76.7 s and +93.3 s; the first one's,
	// restarted by a FIN at +34.3 s, at +94.3 s.
	for _, tc := range []struct {
		name       string
		restart    bool  // the server sends its FIN again to the first client at +34.3 s
		at         int64 // seconds after start
		parked     int
		tw, closed uint64 // forgotten clients in TIME_WAIT, CLOSED
	}{
		{"before any expiry", true, 59, 3, 2, 0},
		{"in park order, without a restart", false, 80, 1, 0, 2},
		{"a restarted one does not hold back a later one", true, 80, 2, 1, 1},
		{"a restarted one waits 2×MSL from its FIN", true, 94, 1, 1, 1},
		{"all run out", true, 95, 0, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{MaxKept: 1})
			now := closeMany(tr, 3, start)
			if tc.restart {
				fin := Segment{Time: now + s, Src: target, SrcPort: 80, Dst: source(0), DstPort: 1024,
					Flags: FIN | ACK, Seq: 501, Ack: 102, Window: 1000, WScale: -1}
				tr.Observe(&fin)
				if tr.lateSegments != 1 {
					t.Fatalf("the FIN again: %d late segments, want 1 (judged on the compact record)", tr.lateSegments)
				}
			}
			tr.Advance(start + tc.at*s)
			st := tr.ForgottenStates()
			if tr.Parked() != tc.parked || st[Client][TimeWait] != tc.tw || st[Client][Closed] != tc.closed {
				t.Errorf("at +%ds: %d parked, forgotten clients %d TIME_WAIT and %d CLOSED; want %d, %d, %d",
					tc.at, tr.Parked(), st[Client][TimeWait], st[Client][Closed], tc.parked, tc.tw, tc.closed)
			}
		})
	}
}

// TestFINsSentAgainKeepTheParkOrderBounded: each FIN sent again requeues
// its record; the stale entries that leaves are dropped before they
// outnumber the records, so a peer sending its FIN over and over does not
// grow the tracker's memory.
func TestFINsSentAgainKeepTheParkOrderBounded(t *testing.T) {
	tr := New(Config{MaxKept: 1})
	now := closeMany(tr, 3, int64(1_700_000_000)*int64(time.Second))
	for i := range 20_000 {
		fin := Segment{Time: now + int64(i+1)*int64(time.Millisecond), Src: target, SrcPort: 80, Dst: source(0), DstPort: 1024,
			Flags: FIN | ACK, Seq: 501, Ack: 102, Window: 1000, WScale: -1}
		tr.Observe(&fin)
	}
	if n, max := tr.twRecs.order.len(), 2*tr.twRecs.len()+1024+1; tr.lateSegments != 20_000 || n > max {
		t.Errorf("%d late segments, park order of %d entries; want 20000 and at most %d", tr.lateSegments, n, max)
	}
	if r := tr.twRecs.oldest(); r == nil || r.id != 2 {
		t.Errorf("oldest record %+v: want the second connection's (the first's was restarted)", r)
	}
}
