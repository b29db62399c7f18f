package tracker

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

var target = AddrFrom4([4]byte{198, 18, 0, 2})

// source returns a distinct address in 198.18.0.0/15 for i.
func source(i int) Addr {
	return AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// flood feeds n SYNs from n sources to target:80 over the given span; the
// server answers each with a SYN-ACK if synack, and every k-th client
// completes the handshake if complete > 0.
func flood(tr *Tracker, start int64, n int, span time.Duration, synack bool, complete int) {
	gap := int64(span) / int64(n)
	for i := 0; i < n; i++ {
		now := start + int64(i)*gap
		syn := Segment{Time: now, Src: source(i), SrcPort: uint16(1024 + i%60000), Dst: target, DstPort: 80,
			Seq: seqnum.Value(i * 7919), Flags: SYN, Window: 64240, WScale: 7}
		tr.Observe(&syn)
		if synack {
			sa := Segment{Time: now + 1000, Src: target, SrcPort: 80, Dst: syn.Src, DstPort: syn.SrcPort,
				Seq: seqnum.Value(i * 104729), Ack: syn.Seq + 1, Flags: SYN | ACK, Window: 65160, WScale: 7}
			tr.Observe(&sa)
			if complete > 0 && i%complete == 0 {
				ack := Segment{Time: now + 2000, Src: syn.Src, SrcPort: syn.SrcPort, Dst: target, DstPort: 80,
					Seq: syn.Seq + 1, Ack: sa.Seq + 1, Flags: ACK, Window: 502, WScale: -1}
				tr.Observe(&ack)
			}
		}
	}
}

func TestSynFlood(t *testing.T) {
	// Half a second into a second: the flood's first second on the clock is
	// a partial one, and the finding still starts at its first SYN.
	start := int64(1_700_000_000)*int64(time.Second) + int64(500*time.Millisecond)
	tests := []struct {
		name      string
		n         int
		span      time.Duration
		synack    bool
		complete  int
		wantFlood bool
	}{
		{"unanswered burst: 600 SYNs/s from 1200 sources", 1200, 2 * time.Second, false, 0, true},
		{"answered but never completed", 1200, 2 * time.Second, true, 0, true},
		{"busy healthy server: 2000 handshakes/s", 4000, 2 * time.Second, true, 1, false},
		{"slow trickle of failures: 50/s", 500, 10 * time.Second, false, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{})
			flood(tr, start, tc.n, tc.span, tc.synack, tc.complete)
			tr.Advance(start + int64(tc.span) + int64(10*time.Second))
			tr.Finish()
			counts := tr.AnomalyCounts()
			if got := counts[SynFlood] == 1; got != tc.wantFlood {
				t.Fatalf("syn_flood found: %v, want %v (counts %v)", got, tc.wantFlood, counts)
			}
			if tc.wantFlood {
				for k, n := range counts {
					if k != SynFlood {
						t.Errorf("%d %v findings beside the flood: one per spoofed source", n, k)
					}
				}
				a := tr.Anomalies()[0]
				t.Logf("%s", a.Detail)
				// Answered once and never again: SYN cookies; not answered: dropped.
				answer := "dropped"
				if tc.synack {
					answer = "syn_cookies"
				}
				if a.Fields[answer] != tc.n || a.Fields["syns"] != tc.n || a.Fields["all_syns"] != tc.n || a.Fields["half_open_at_end"] != 0 {
					t.Errorf("fields %v: want all %d %s, none half-open at the end", a.Fields, tc.n, answer)
				}
				if first := start; a.Time != first {
					t.Errorf("finding at %d, want the first SYN's time %d", a.Time, first)
				}
				if a.Target.String() != "198.18.0.2:80" || a.Conn != 0 {
					t.Errorf("finding names %v / connection %d", a.Target, a.Conn)
				}
			}
		})
	}
}

// TestFloodMemoryBounded floods a small table: it never holds more than
// MaxConns connections, evicts the embryonic ones and counts them, and the
// flood is still found.
func TestFloodMemoryBounded(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{MaxConns: 1000})
	// An established connection that must survive the flood.
	steady := []Segment{
		{Time: start, Src: cAddr, SrcPort: 40000, Dst: target, DstPort: 80, Seq: 1, Flags: SYN, WScale: -1},
		{Time: start + 1, Src: target, SrcPort: 80, Dst: cAddr, DstPort: 40000, Seq: 9, Ack: 2, Flags: SYN | ACK, WScale: -1},
		{Time: start + 2, Src: cAddr, SrcPort: 40000, Dst: target, DstPort: 80, Seq: 2, Ack: 10, Flags: ACK, WScale: -1},
	}
	for i := range steady {
		tr.Observe(&steady[i])
	}
	n := 100_000
	gap := int64(time.Second) / 20_000
	for i := 0; i < n; i++ {
		syn := Segment{Time: start + 10 + int64(i)*gap, Src: source(i), SrcPort: uint16(1024 + i%60000), Dst: target, DstPort: 80,
			Seq: seqnum.Value(i), Flags: SYN, Window: 64240, WScale: 7}
		tr.Observe(&syn)
		if tr.Active() > 1000 {
			t.Fatalf("table holds %d connections, cap 1000", tr.Active())
		}
	}
	tr.Finish()
	ev := tr.Evicted()
	// Evicted before the flood was found, embryonic; after, the flood's own.
	if ev.Embryonic+ev.Flood < uint64(n-1000) || ev.Flood < uint64(n/2) || ev.Established != 0 {
		t.Errorf("evicted %+v, want ≥ %d embryonic or the flood's, most of them the flood's, and no established", ev, n-1000)
	}
	if len(tr.Conns()) > 1001 {
		t.Errorf("report keeps %d connections", len(tr.Conns()))
	}
	if tr.Conns()[0].State(Server) != Established {
		t.Errorf("the established connection was evicted")
	}
	if tr.AnomalyCounts()[SynFlood] != 1 {
		t.Errorf("flood not found: %v", tr.AnomalyCounts())
	}
}

// TestEndedConnectionsForgotten: with MaxKept 10, a stream of 1,000 short
// connections keeps at most 10 ended ones (plus those still in the table)
// and counts the rest.
func TestEndedConnectionsForgotten(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{MaxKept: 10, MSL: time.Second})
	now := start
	for i := 0; i < 1000; i++ {
		src, sp := source(i), uint16(1024+i%60000)
		seq := func(from Addr, fp uint16, to Addr, tp uint16, f Flags, s, a uint32) {
			now += int64(time.Millisecond)
			seg := Segment{Time: now, Src: from, SrcPort: fp, Dst: to, DstPort: tp, Flags: f,
				Seq: seqnum.Value(s), Ack: seqnum.Value(a), Window: 1000, WScale: -1}
			tr.Observe(&seg)
		}
		seq(src, sp, target, 80, SYN, 100, 0)
		seq(target, 80, src, sp, SYN|ACK, 500, 101)
		seq(src, sp, target, 80, ACK, 101, 501)
		seq(target, 80, src, sp, FIN|ACK, 501, 101)
		seq(src, sp, target, 80, FIN|ACK, 101, 502)
		seq(target, 80, src, sp, ACK, 502, 102)
	}
	tr.Finish()
	ev := tr.Evicted()
	if kept := len(tr.Conns()); kept > 10+tr.Active() || ev.Forgotten == 0 {
		t.Fatalf("kept %d (active %d), forgotten %d", kept, tr.Active(), ev.Forgotten)
	}
	if got := uint64(len(tr.Conns())) + ev.Forgotten; got != 1000 {
		t.Errorf("kept + forgotten = %d, want 1000", got)
	}
}

// TestHostileFloodsBounded: spoofed ACKs (each a new mid-stream connection)
// and SYNs on one 4-tuple with a new ISN each time (each superseding the
// last) keep the table and the report within their caps.
func TestHostileFloodsBounded(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	for _, flags := range []Flags{ACK, SYN | ACK, RST, PSH | ACK, SYN} {
		t.Run(flags.String(), func(t *testing.T) {
			tr := New(Config{MaxConns: 1000, MaxKept: 1000})
			for i := 0; i < 100_000; i++ {
				seg := Segment{Time: start + int64(i)*1000, Src: source(i), SrcPort: uint16(1024 + i%60000), Dst: target, DstPort: 80,
					Flags: flags, Seq: seqnum.Value(i * 7919), Ack: seqnum.Value(i), Window: 512, WScale: -1}
				if flags == SYN { // one 4-tuple, a new ISN every time
					seg.Src, seg.SrcPort = cAddr, 40000
				}
				tr.Observe(&seg)
				if tr.Active()-tr.Parked() > 1000 || tr.Parked() > 10*1000 || len(tr.conns)-tr.holes > 2100 {
					t.Fatalf("after %d segments: %d in the table, %d kept", i+1, tr.Active(), len(tr.conns)-tr.holes)
				}
			}
			tr.Finish()
			if n := len(tr.Conns()); n > 2000 {
				t.Errorf("report keeps %d connections", n)
			}
		})
	}
}

// TestSynFloodLegitimateClients: during a flood, clients that complete
// their handshake are counted as through, and clients that try again (a
// SYN retransmitted after 1 s) and never complete as failed; spoofed
// sources, which send one SYN, are neither.
func TestSynFloodLegitimateClients(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 1})
	var segs []Segment
	for i := 0; i < 1200; i++ { // 600 spoofed SYNs a second, never answered
		segs = append(segs, Segment{Time: start + int64(i)*int64(2*time.Second)/1200, Src: source(i), SrcPort: uint16(1024 + i),
			Dst: target, DstPort: 80, Seq: seqnum.Value(i * 7919), Flags: SYN, Window: 64240, WScale: 7})
	}
	for i := 0; i < 15; i++ {
		at := start + int64(i)*int64(100*time.Millisecond) + 7
		syn := Segment{Time: at, Src: cli, SrcPort: uint16(50000 + i), Dst: target, DstPort: 80,
			Seq: seqnum.Value(1000 * i), Flags: SYN, Window: 64240, WScale: 7}
		segs = append(segs, syn)
		if i >= 10 { // dropped by the full queue, sent again after 1 s
			syn.Time += int64(time.Second)
			segs = append(segs, syn)
			continue
		}
		segs = append(segs,
			Segment{Time: at + 1000, Src: target, SrcPort: 80, Dst: cli, DstPort: syn.SrcPort,
				Seq: 77, Ack: syn.Seq + 1, Flags: SYN | ACK, Window: 65160, WScale: 7},
			Segment{Time: at + 2000, Src: cli, SrcPort: syn.SrcPort, Dst: target, DstPort: 80,
				Seq: syn.Seq + 1, Ack: 78, Flags: ACK, Window: 502, WScale: -1})
	}
	slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
	tr := New(Config{})
	for i := range segs {
		tr.Observe(&segs[i])
	}
	tr.Advance(start + int64(12*time.Second))
	tr.Finish()
	if len(tr.Anomalies()) != 1 {
		t.Fatalf("findings %v, want one syn_flood", tr.AnomalyCounts())
	}
	f := tr.Anomalies()[0].Fields
	if f["legit_completed"] != 10 || f["legit_failed"] != 5 || f["dropped"] != 1205 {
		t.Errorf("fields %v: want 10 legitimate clients through, 5 failed, 1205 SYNs dropped", f)
	}
}

// TestRefusalsAreNoSynFlood: a service that refuses SYNs at a flood's rate
// (an RST for each: the port is closed) answered every one of them and
// holds nothing; each refusal is a connection_refused finding, and there
// is no syn_flood.
func TestRefusalsAreNoSynFlood(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{})
	const n = 1200
	gap := int64(2*time.Second) / n
	for i := 0; i < n; i++ {
		now := start + int64(i)*gap
		syn := Segment{Time: now, Src: source(i), SrcPort: uint16(1024 + i%60000), Dst: target, DstPort: 80,
			Seq: seqnum.Value(i * 7919), Flags: SYN, Window: 64240, WScale: 7}
		tr.Observe(&syn)
		rst := Segment{Time: now + 1000, Src: target, SrcPort: 80, Dst: syn.Src, DstPort: syn.SrcPort,
			Ack: syn.Seq + 1, Flags: RST | ACK, WScale: -1}
		tr.Observe(&rst)
	}
	tr.Advance(start + int64(10*time.Second))
	tr.Finish()
	counts := tr.AnomalyCounts()
	if counts[SynFlood] != 0 || counts[ConnectionRefused] != n {
		t.Errorf("findings %v: want %d connection_refused and no syn_flood", counts, n)
	}
}

// TestSegmentsLinuxDropsAreNotTheFloodsHalfOpenConnections: in a SYN flood,
// a segment with SYN and RST (or FIN) set, which Linux drops, opens no
// half-open connection: it is not summarized by the flood's finding, nor
// counted with its connections, and its connection, with its invalid_flags
// finding, is listed.
func TestSegmentsLinuxDropsAreNotTheFloodsHalfOpenConnections(t *testing.T) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	odd := 0
	for i := range 3000 {
		now += int64(200 * time.Microsecond)
		f := SYN
		if i%250 == 7 {
			f, odd = SYN|RST, odd+1
		}
		tr.Observe(&Segment{Time: now, Src: source(i), SrcPort: uint16(1024 + i), Dst: target, DstPort: 80, Flags: f, Seq: 1, Window: 1000, WScale: -1})
	}
	tr.Advance(now + int64(10*time.Second))
	tr.Finish()
	if got, want := tr.Evicted().Flood, uint64(3000-odd); got != want {
		t.Errorf("%d connections summarized by the flood, want %d (the SYNs alone)", got, want)
	}
	listed := 0
	for _, r := range tr.Records() {
		if r.State(Client) == Closed && r.State(Server) == Closed {
			listed++
		}
	}
	if listed != odd {
		t.Errorf("%d connections of dropped segments listed, want %d", listed, odd)
	}
	if tr.AnomalyCounts()[SynFlood] != 1 || tr.AnomalyCounts()[InvalidFlags] != odd {
		t.Errorf("findings %v, want one syn_flood and %d invalid_flags", tr.AnomalyCounts(), odd)
	}
}
