package tracker

import (
	"testing"
	"time"
)

// TestAConnectionFrozenAsItIsReplacedIsNotReusedForItsSuccessor: a new
// SYN on a 4-tuple whose previous connection still waits out TIME_WAIT
// ends that connection, which the store may freeze at once (it is the
// oldest kept whole, and quiet); the new connection must not be made in
// its memory while the tracker still reads the old one to name it in the
// port_reuse finding, nor overwrite what the report shows of it.
func TestAConnectionFrozenAsItIsReplacedIsNotReusedForItsSuccessor(t *testing.T) {
	const s = int64(time.Second)
	start := int64(1_700_000_000) * s
	for _, maxFull := range []int{1, 2} {
		tr := New(Config{MaxFull: maxFull})
		for i := range maxFull + 1 {
			seg := Segment{Src: source(i), SrcPort: uint16(1024 + i), Dst: target, DstPort: 80, Window: 1000, WScale: -1}
			closeOne(tr, seg, start+int64(i)*s, time.Microsecond)
		}
		syn := Segment{Time: start + 10*s, Src: source(0), SrcPort: 1024, Dst: target, DstPort: 80,
			Flags: SYN, Seq: 90_000, Window: 1000, WScale: -1}
		tr.Observe(&syn)
		tr.Finish()
		var prev []any
		for _, a := range tr.Anomalies() {
			if a.Kind == PortReuse {
				prev = append(prev, a.Fields["previous_connection"])
			}
		}
		if len(prev) != 1 || prev[0] != uint64(1) {
			t.Errorf("MaxFull %d: port_reuse findings name previous connections %v, want [1]", maxFull, prev)
		}
		ids := map[uint64]bool{}
		for _, r := range tr.Records() {
			ids[r.ID] = true
		}
		if n := uint64(maxFull + 2); len(ids) != int(n) || !ids[1] || !ids[n] {
			t.Errorf("MaxFull %d: the report has connections %v, want 1 to %d", maxFull, ids, n)
		}
	}
}

// TestNewConnectionsReuseFrozenOnes: once the call that froze a connection
// has returned, a connection that begins later is made in its memory.
func TestNewConnectionsReuseFrozenOnes(t *testing.T) {
	const s = int64(time.Second)
	start := int64(1_700_000_000) * s
	tr := New(Config{MaxFull: 1})
	seen := map[*Conn]uint64{}
	reused := 0
	for i := range 20 {
		seg := Segment{Src: source(i), SrcPort: uint16(1024 + i), Dst: target, DstPort: 80, Window: 1000, WScale: -1}
		closeOne(tr, seg, start+int64(i)*10*s, time.Microsecond)
		c := tr.conns[len(tr.conns)-1]
		if id, ok := seen[c]; ok && id != c.ID {
			reused++
		}
		seen[c] = c.ID
	}
	if reused == 0 || tr.Frozen() == 0 {
		t.Errorf("%d frozen, %d of 20 connections made in a frozen one's memory; want some of each", tr.Frozen(), reused)
	}
}
