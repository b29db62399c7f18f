package tracker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestCloseWaitForgottenBeforeItIsStuckIsStuckAtTheEnd: a server left in
// CLOSE_WAIT, evicted from a full table and forgotten beyond the store's
// cap before --stuck passes, is stuck by the end of input all the same:
// close_wait_stuck, with its client left in FIN_WAIT_2, as with a table
// large enough; whether the ACK of the client's FIN came before it was
// forgotten or after (which is applied to it, and is no segment of another
// connection to judge it as of).
func TestCloseWaitForgottenBeforeItIsStuckIsStuckAtTheEnd(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	for _, ackAt := range []int64{sec / 10, 3 * sec} {
		t.Run(fmt.Sprintf("FIN acknowledged after %s", time.Duration(ackAt)), func(t *testing.T) {
			segs := []Segment{
				{Time: start, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
				{Time: start + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
				{Time: start + 2000, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1},
				{Time: start + sec, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: FIN | ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1},
				{Time: start + sec + ackAt, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: ACK, Seq: 901, Ack: 9, Window: 1000, WScale: -1},
			}
			for i := range 200 { // others, open to the end, to evict it and push it out of the store
				at, port := start+sec+sec/20+int64(i)*sec/100, uint16(40000+i)
				segs = append(segs,
					Segment{Time: at, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
					Segment{Time: at + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
					Segment{Time: at + 2000, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			}
			segs = append(segs, Segment{Time: start + 10*sec, Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			stuck := func(cfg Config) (string, *Tracker) {
				cfg.Thresholds = Thresholds{Stuck: time.Second}
				tr := observeAll(cfg, segs)
				var out []string
				for _, a := range tr.Anomalies() {
					if a.Kind == CloseWaitStuck {
						out = append(out, fmt.Sprintf("%s %v %d %s %v", a.Side, a.Target, a.Time, a.Detail, a.Also))
					}
				}
				return fmt.Sprintf("%v; counted %v", out, tr.AnomalyCounts()), tr
			}
			want, _ := stuck(Config{})
			got, tr := stuck(Config{MaxConns: 10, MaxKept: 10})
			if fs := tr.ForgottenStates(); fs[Server][CloseWait] != 1 {
				t.Fatalf("forgotten %v: not the server in CLOSE_WAIT, the case tests nothing", fs)
			}
			if got != want {
				t.Errorf("--max-conns 10 --keep 10: %s\nwant, as with room: %s", got, want)
			}
		})
	}
}

// TestForgottenTimeWaitEndsOnTimeWhenItsRecordGoesFirst: a client in
// TIME_WAIT whose connection was forgotten beyond the store's cap, and
// whose compact record the full table of them drops before its TIME_WAIT
// ends, still leaves TIME_WAIT 2×MSL after it began, as with a table large
// enough: not when its record would have ended at the latest (2×MSL after
// the connection's last segment, its final ACK, a round trip later).
func TestForgottenTimeWaitEndsOnTimeWhenItsRecordGoesFirst(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	var segs []Segment
	for i := range 2000 {
		at, port := start+int64(i)*sec/1000, uint16(30000+i)
		c2s := func(d int64, f Flags, seq, ack seqnum.Value) Segment {
			return Segment{Time: at + d, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: f, Seq: seq, Ack: ack, Window: 1000, WScale: -1}
		}
		s2c := func(d int64, f Flags, seq, ack seqnum.Value) Segment {
			return Segment{Time: at + d, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: f, Seq: seq, Ack: ack, Window: 1000, WScale: -1}
		}
		segs = append(segs, c2s(0, SYN, 7, 0), s2c(1000, SYN|ACK, 900, 8), c2s(2000, ACK, 8, 901),
			c2s(3000, FIN|ACK, 8, 901), s2c(4000, FIN|ACK, 901, 9), c2s(sec/20, ACK, 9, 902)) // (its last ACK, late)
	}
	end := start + 2*sec + sec/40 // after the first ones' TIME_WAITs end, before their records would
	segs = append(segs, Segment{Time: end, Src: cAddr, SrcPort: 20000, Dst: sAddr, DstPort: 81, Flags: SYN, Seq: 1, Window: 1000, WScale: -1})
	slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
	states := func(cfg Config) (string, *Tracker) {
		cfg.MSL = time.Second
		tr := observeAll(cfg, segs)
		return fmt.Sprintf("%v", statesOf(tr)), tr
	}
	want, _ := states(Config{})
	got, tr := states(Config{MaxConns: 60, MaxKept: 2})
	if ev := tr.Evicted(); ev.TimeWait == 0 || ev.Forgotten == 0 {
		t.Fatalf("evicted %+v: no compact record of a connection forgotten dropped, the case tests nothing", ev)
	}
	if got != want {
		t.Errorf("--max-conns 60 --keep 2: %s\nwant, as with room: %s", got, want)
	}
}

// TestLateTableKeepsWhatChurnLeaves: the connections to be judged at the
// end stay however many others come and go before it (each judged or
// ended as it goes): only those still held count against the cap.
func TestLateTableKeepsWhatChurnLeaves(t *testing.T) {
	var l lateTable
	keyOfPort := func(p int) FlowKey {
		k, _ := keyOf(&Segment{Src: cAddr, SrcPort: uint16(p), Dst: AddrFrom4([4]byte{198, 18, byte(p >> 16), byte(p >> 8)}), DstPort: 80})
		return k
	}
	stuck := keyOfPort(1)
	l.put(forgottenLate{id: 1, key: stuck})
	for i := range 4 * maxLateGone {
		k := keyOfPort(i + 2)
		l.put(forgottenLate{id: uint64(i + 2), key: k})
		l.del(&k)
	}
	if g, ok := l.get(&stuck); !ok || g.id != 1 {
		t.Errorf("the first connection is gone after %d others came and went", 4*maxLateGone)
	}
	if n := l.order.len(); n > 2*len(l.m)+1024 {
		t.Errorf("order holds %d places for %d connections", n, len(l.m))
	}
	for i := range maxLateGone + 10 {
		l.put(forgottenLate{id: uint64(i + 10), key: keyOfPort(i + 10)})
	}
	if len(l.m) != maxLateGone {
		t.Errorf("%d held, want the cap, %d", len(l.m), maxLateGone)
	}
}

// TestSegmentsEndingAFrozenOpenConnectionAreItsOwn: a connection evicted
// open from a full table and frozen (no longer kept whole, still listed),
// then aborted by an RST at exactly where its sender had got to, is listed
// as with a table large enough: both sides CLOSED, the RST counted, the
// abort a reset finding of its own; not a lone segment that leaves it
// ESTABLISHED.
func TestSegmentsEndingAFrozenOpenConnectionAreItsOwn(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	c2s := func(at int64, f Flags, seq, ack seqnum.Value, n uint32) Segment {
		return Segment{Time: at, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: f, Seq: seq, Ack: ack, Payload: n, Window: 1000, WScale: -1}
	}
	s2c := func(at int64, f Flags, seq, ack seqnum.Value, n uint32) Segment {
		return Segment{Time: at, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: f, Seq: seq, Ack: ack, Payload: n, Window: 1000, WScale: -1}
	}
	open := []Segment{c2s(start, SYN, 7, 0, 0), s2c(start+1000, SYN|ACK, 900, 8, 0), c2s(start+2000, ACK|PSH, 8, 901, 10),
		s2c(start+3000, ACK, 901, 18, 0)}
	later := start + 8*sec
	for _, tc := range []struct {
		name string
		end  []Segment
	}{
		{"aborted", []Segment{c2s(later, RST|ACK, 18, 901, 0)}},
		{"aborted by the server", []Segment{s2c(later, RST, 901, 0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs := append(slices.Clone(open), tc.end...)
			for i := range 6 { // others, open to the end, to evict it
				at, port := start+sec+int64(i)*sec/10, uint16(40000+i)
				segs = append(segs,
					Segment{Time: at, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
					Segment{Time: at + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
					Segment{Time: at + 2000, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			}
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			want := listing(New(Config{}), segs)
			capped := Config{MaxConns: 2, MaxFull: 1}
			before := New(capped)
			for i := range segs {
				if s := segs[i]; s.Time < later {
					before.Observe(&s)
				}
			}
			if before.frozen.len()+before.frozenOther.len() == 0 {
				t.Fatal("nothing frozen: the case tests nothing")
			}
			if got := listing(New(capped), segs); !slices.Equal(got, want) {
				t.Errorf("--max-conns 2, one kept whole:\n%s\nwant, as with room:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
