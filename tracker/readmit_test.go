package tracker

import (
	"strconv"
	"testing"
	"time"
)

// connIn reports whether the connection of ID id is among t.conns.
func connIn(tr *Tracker, id uint64) bool {
	for _, c := range tr.conns {
		if c != nil && c.ID == id {
			return true
		}
	}
	return false
}

// TestReadmittedConnectionIsNotFrozenMakingRoom: a readmitted connection
// evicts another to make room; keeping that one freezes the oldest whole
// connection -- the one being readmitted.
func TestReadmittedConnectionIsNotFrozenMakingRoom(t *testing.T) {
	tr := New(Config{MaxConns: 1, MaxFull: 1})
	now := int64(1_700_000_000) * int64(time.Second)
	a := steppedConn(tr, &now, review3Pair.host, 40000)
	b := steppedConn(tr, &now, review3Pair.host, 40001)
	openStepped(a)
	idA := tr.nextID
	openStepped(b) // evicts A
	if ev := tr.Evicted(); ev.Established != 1 {
		t.Fatalf("evicted %+v", ev)
	}
	now += int64(10 * time.Second)
	a(true, ACK|PSH, 101, 901) // readmits A, evicts B, keep(B) freezes A
	t.Logf("evicted %+v, open %d, frozen %d, A in conns %v", tr.Evicted(), tr.Open(), tr.Frozen(), connIn(tr, idA))
	if tr.Open() == 1 && !connIn(tr, idA) {
		t.Errorf("A is in the flow table but no longer among the connections (frozen: %d records)", tr.Frozen())
	}
	c := steppedConn(tr, &now, review3Pair.host, 40002)
	openStepped(c)
	d := steppedConn(tr, &now, review3Pair.host, 40003)
	openStepped(d)
	t.Logf("after two more: open %d (cap 1), evicted %+v", tr.Open(), tr.Evicted())
	if tr.Open() > 1 {
		t.Errorf("flow table holds %d connections, cap 1", tr.Open())
	}
	tr.Finish()
}

// TestHandshakeHeldAsTheFloodIsFoundIsEmbryonic: the flood on target:80 is
// found inside holdEvictedSYN (its settle rolls the second), so evictEmbryo
// counts the handshake it just held as the flood's (Flood++), not
// Embryonic++; at Finish settleEvictedSYNs(true) takes it off Embryonic all
// the same, and the end-of-input loop counts it in Flood again.
func TestHandshakeHeldAsTheFloodIsFoundIsEmbryonic(t *testing.T) {
	tr := New(Config{MaxConns: 50})
	start := int64(1_700_000_000) * int64(time.Second)
	for i := range 15000 {
		now := start + int64(i)*int64(100*time.Microsecond)
		a, p := AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), uint16(1024+i%60000)
		before, held, waiting := tr.Evicted(), tr.evictedSYNs.next, len(tr.evictedSYNs.waiting)
		tr.Observe(&Segment{Time: now, Src: a, SrcPort: p, Dst: target, DstPort: 80, Flags: SYN, Seq: 100, Window: 1000, WScale: -1})
		after := tr.Evicted()
		// Each waiting handshake that ran out now may be counted as the
		// flood's (settleEvictedSYNs); one more is the one just held.
		settled := waiting + int(tr.evictedSYNs.next-held) - len(tr.evictedSYNs.waiting)
		if after.Flood > before.Flood+uint64(settled) && tr.evictedSYNs.q.len() > 0 {
			last := tr.evictedSYNs.q.at(tr.evictedSYNs.q.len() - 1)
			if w, ok := tr.evictedSYNs.waiting[last.key]; ok && w.seq == last.seq && last.seq > held { // held by this SYN
				t.Errorf("SYN %d: the handshake held waiting just now was counted as the flood's (%+v -> %+v)", i, before, after)
			}
		}
	}
	tr.Finish()
	// Every handshake is counted once: the flood's own (Flood), or listed
	// (some of them evicted, Embryonic, and kept).
	ev := tr.Evicted()
	t.Logf("evicted %+v, %d listed", ev, len(tr.Records()))
	if n := ev.Flood + uint64(len(tr.Records())); n != 15000 || ev.Flood == 0 || ev.Embryonic > uint64(len(tr.Records())) {
		t.Errorf("evicted embryonic %d, flood %d, %d listed: %d handshakes of 15,000", ev.Embryonic, ev.Flood, len(tr.Records()), n)
	}
}

// TestReadmittedHandshakeCanBeEvictedAgain: a handshake evicted while an
// established connection heads the LRU keeps its LRU entry (lruGone unset);
// idlest pops that entry while it is held; brought back, it is in no LRU
// queue, and once established never evictable.
func TestReadmittedHandshakeCanBeEvictedAgain(t *testing.T) {
	tr := New(Config{MaxConns: 2})
	now := int64(1_700_000_000) * int64(time.Second)
	p := func(port uint16) func(bool, Flags, uint32, uint32) {
		return steppedConn(tr, &now, review3Pair.host, port)
	}
	e1, t1, x1, x2, x3, y := p(40000), p(40001), p(40002), p(40003), p(40004), p(40005)
	openStepped(e1)
	t1(true, SYN, 100, 0)
	dumpTr(t, tr, "t1")
	x1(true, SYN, 100, 0) // evicts T1 (held); E1's LRU entry refreshed
	dumpTr(t, tr, "x1")
	x2(true, SYN, 100, 0) // evicts X1 (held), its LRU entry left
	e1(true, ACK|PSH, 101, 901)
	dumpTr(t, tr, "after x2")
	x3(true, SYN, 100, 0) // idlest pops X1's entry (held), evicts X2
	dumpTr(t, tr, "after x3")
	dumpTr(t, tr, "before x1")
	x1(false, SYN|ACK, 900, 101)
	dumpTr(t, tr, "x1 back")
	x1(true, ACK, 101, 901)
	e1(true, ACK|PSH, 101, 901)
	x3(false, SYN|ACK, 900, 101)
	x3(true, ACK, 101, 901)
	t.Logf("after readmissions: open %d evicted %+v held %d lru %d", tr.Open(), tr.Evicted(), tr.evictedSYNs.q.len(), tr.lru.len())
	y(true, SYN, 100, 0)
	t.Logf("after y: open %d evicted %+v", tr.Open(), tr.Evicted())
	if tr.Open() > 2 {
		t.Errorf("flow table holds %d connections, cap 2", tr.Open())
	}
}

func dumpTr(t *testing.T, tr *Tracker, label string) {
	t.Helper()
	s := ""
	for _, sl := range tr.table.slots {
		if c := sl.c; c != nil {
			s += " " + itoa(int(c.Key.APort)+int(c.Key.BPort)-80) + map[bool]string{true: "(gone)", false: ""}[c.lruGone] + map[bool]string{true: "E", false: "h"}[!c.embryonic()]
		}
	}
	l := ""
	for i := 0; i < tr.lru.len(); i++ {
		tm := tr.lru.at(i)
		if c := tr.storedConn(*tm); c != nil {
			l += " " + itoa(int(c.Key.APort)+int(c.Key.BPort)-80)
		} else {
			l += " -"
		}
	}
	t.Logf("%s: table%s | lru%s | ev %+v", label, s, l, tr.Evicted())
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestReadmittedTimeWaitLeavesTheCountOnce: a connection evicted with its
// client in TIME_WAIT (its peer CLOSING) leaves the build-up count at
// retire; brought back, its TIME_WAIT's end leaves it again, taking another
// connection's TIME_WAIT off the count.
func TestReadmittedTimeWaitLeavesTheCountOnce(t *testing.T) {
	tr := New(Config{MaxConns: 1})
	now := int64(1_700_000_000) * int64(time.Second)
	a := steppedConn(tr, &now, review3Pair.host, 40000)
	b := steppedConn(tr, &now, review3Pair.host, 40001)
	count := func() int {
		if p := tr.tw.pairs[review3Pair]; p != nil {
			return p.count
		}
		return 0
	}
	openStepped(a)
	a(true, FIN|ACK, 101, 901)
	a(false, FIN|ACK, 901, 101) // crossing: does not ack the client's FIN
	a(false, ACK, 902, 102)     // acks it: client TIME_WAIT, server CLOSING
	t.Logf("A: %v/%v, count %d", tr.conns[0].half[Client].state, tr.conns[0].half[Server].state, count())
	openStepped(b) // evicts A
	activeClose(b) // B's client in TIME_WAIT, parked
	t.Logf("after B: evicted %+v count %d", tr.Evicted(), count())
	a(true, ACK, 102, 902) // A back; its server's FIN acked: parked
	t.Logf("A back: evicted %+v count %d open %d parked %d", tr.Evicted(), count(), tr.Open(), tr.Parked())
	tr.Advance(now + int64(60*time.Second) - int64(5*time.Millisecond)) // A's TIME_WAIT over, B's not
	t.Logf("A expired: count %d", count())
	if got := count(); got != 1 {
		t.Errorf("TIME_WAITs counted for the pair: %d, want 1 (B's)", got)
	}
}

// TestReadmittedConnectionIsNotForgottenMakingRoom: the same with a store
// of one (forgetWhole), and the Conn frozen in place reused by the next
// connection while still in the table.
func TestReadmittedConnectionIsNotForgottenMakingRoom(t *testing.T) {
	for _, cfg := range []Config{{MaxConns: 1, MaxKept: 1}, {MaxConns: 1, MaxFull: 1}} {
		tr := New(cfg)
		now := int64(1_700_000_000) * int64(time.Second)
		a := steppedConn(tr, &now, review3Pair.host, 40000)
		openStepped(a)
		idA := tr.nextID
		openStepped(steppedConn(tr, &now, review3Pair.host, 40001))
		now += int64(10 * time.Second)
		a(true, ACK|PSH, 101, 901)
		var ptrs []*Conn
		for _, sl := range tr.table.slots {
			if sl.c != nil {
				ptrs = append(ptrs, sl.c)
			}
		}
		t.Logf("%+v: A in conns %v, evicted %+v, forgotten/frozen %d/%d", cfg, connIn(tr, idA), tr.Evicted(), tr.Evicted().Forgotten, tr.Frozen())
		openStepped(steppedConn(tr, &now, review3Pair.host, 40002))
		seen := map[*Conn]int{}
		for _, sl := range tr.table.slots {
			if sl.c != nil {
				seen[sl.c]++
			}
		}
		for c, n := range seen {
			if n > 1 {
				t.Errorf("%+v: one Conn (#%d, port %d) in %d table slots", cfg, c.ID, c.Key.APort+c.Key.BPort-80, n)
			}
		}
		if !connIn(tr, idA) && len(ptrs) == 1 && ptrs[0].ID == idA {
			t.Errorf("%+v: A (#%d) in the table, not among the connections", cfg, idA)
		}
	}
}
