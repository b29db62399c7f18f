package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// Answers handshakes gets.
const (
	noAnswer   = iota
	synAckOnly // the server answers, the client never does: a spoofed SYN
	completed  // the SYN-ACK and the client's ACK
)

// handshakes opens n connections to target:80, one every 100 µs, each
// from a source of its own; each is answered (answer) lag SYNs later, so
// that lag handshakes are in progress at once, more than a table of 50
// holds.
func handshakes(tr *Tracker, n, lag, answer int) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := func(i int) (Addr, uint16) {
		return AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), uint16(1024 + i%60000)
	}
	for i := range n + lag {
		now := start + int64(i)*int64(100*time.Microsecond)
		if i < n {
			a, p := cli(i)
			tr.Observe(&Segment{Time: now, Src: a, SrcPort: p, Dst: target, DstPort: 80, Flags: SYN, Seq: 100, Window: 1000, WScale: -1})
		}
		if j := i - lag; answer != noAnswer && j >= 0 {
			a, p := cli(j)
			tr.Observe(&Segment{Time: now, Src: target, SrcPort: 80, Dst: a, DstPort: p, Flags: SYN | ACK, Seq: 900, Ack: seqnum.Value(101), Window: 1000, WScale: -1})
			if answer == completed {
				tr.Observe(&Segment{Time: now, Src: a, SrcPort: p, Dst: target, DstPort: 80, Flags: ACK, Seq: 101, Ack: 901, Window: 1000, WScale: -1})
			}
		}
	}
	tr.Finish()
}

// TestEvictedHandshakesAreNoSYNFlood: a busy service whose handshakes in
// progress outnumber the flow table: the table evicts them, and their
// SYN-ACKs and ACKs follow. They are no unanswered SYNs, so the service is
// no SYN flood (every evicted handshake counted as one); each is brought
// back by its SYN-ACK and completes, as with a table large enough. SYNs
// never answered, as many and as fast, are still found a flood.
func TestEvictedHandshakesAreNoSYNFlood(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer int
		want   int
	}{{"answered", completed, 0}, {"never answered", noAnswer, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{MaxConns: 50})
			handshakes(tr, 5000, 200, tc.answer)
			ev := tr.Evicted()
			t.Logf("syn_flood %d; evicted embryonic %d, flood %d, brought back %d", tr.kindCount[SynFlood], ev.Embryonic, ev.Flood, ev.Readmitted)
			if ev.Embryonic+ev.Flood+ev.Readmitted == 0 {
				t.Fatal("no handshake was evicted")
			}
			if got := tr.kindCount[SynFlood]; got != tc.want {
				t.Errorf("%d syn_flood findings, want %d", got, tc.want)
			}
			if tc.answer == completed {
				whole := New(Config{})
				handshakes(whole, 5000, 200, tc.answer)
				if got, want := statesOf(tr), statesOf(whole); got != want {
					t.Errorf("states %v, want %v as with a table large enough", got, want)
				}
			}
		})
	}
}

// TestAnsweredFloodOverflowingTheTableIsFound: spoofed SYNs the server
// answers with SYN-ACKs, never completed: a flood, whether the table holds
// them or evicts them (a server's SYN-ACK alone answers no evicted SYN).
func TestAnsweredFloodOverflowingTheTableIsFound(t *testing.T) {
	for _, maxConns := range []int{100_000, 50} {
		tr := New(Config{MaxConns: maxConns})
		handshakes(tr, 5000, 200, synAckOnly)
		if got := tr.kindCount[SynFlood]; got != 1 {
			t.Errorf("--max-conns %d: %d syn_flood findings, want 1", maxConns, got)
		}
	}
}

// TestManyHandshakesThroughATinyTableAreNoSYNFlood: 3,000 handshakes in
// progress at once through a table of 2: as many wait out of it for their
// answers (4,096 may), so none is an unanswered SYN. (With 1,024 waiting at
// most, the others were dropped before their SYN-ACKs came: a false
// syn_flood.)
func TestManyHandshakesThroughATinyTableAreNoSYNFlood(t *testing.T) {
	tr := New(Config{MaxConns: 2})
	handshakes(tr, 15000, 3000, completed)
	if got := tr.kindCount[SynFlood]; got != 0 {
		t.Errorf("%d syn_flood findings, want none (evicted %+v)", got, tr.Evicted())
	}
	if ev := tr.Evicted(); ev.Readmitted == 0 {
		t.Fatalf("no handshake was evicted and brought back: the case tests nothing (%+v)", ev)
	}
}

// TestFloodsOwnRecordDoesNotDependOnTheTablesSeed: the record of a flood's
// own handshakes evicted hashes them with fixed seeds, not the flow
// table's random ones, so which one a full bucket forgets, and what is
// counted, is the same on every run of the same input.
func TestFloodsOwnRecordDoesNotDependOnTheTablesSeed(t *testing.T) {
	a, b := New(Config{}), New(Config{})
	if a.table.seed == b.table.seed {
		t.Fatal("two tables with the same seed: the case tests nothing")
	}
	c := &Conn{Key: FlowKey{A: AddrFrom4([4]byte{198, 18, 0, 1}), APort: 40000, B: AddrFrom4([4]byte{198, 18, 0, 2}), BPort: 80}}
	c.half[Client].isn = 12345
	if ha, hb := a.ownHash(c), b.ownHash(c); ha != hb {
		t.Errorf("the same handshake hashes to %#x and %#x", ha, hb)
	}
}
