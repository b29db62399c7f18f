package tracker

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// floodStart is when the flood tests' traffic begins.
const floodStart = int64(1_700_000_000) * int64(time.Second)

// victim is the host that answers spoofed SYNs in the backscatter tests.
var victim = AddrFrom4([4]byte{203, 0, 113, 5})

// spoofed is the i-th address a SYN flood elsewhere spoofed: 10.1.0.0/16.
func spoofed(i int) Addr { return AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }

// synAck is a SYN-ACK from the victim's port 80 to a spoofed client.
func synAck(at int64, to Addr, port uint16, isn, ack uint32) Segment {
	return Segment{Time: at, Flags: SYN | ACK, Src: victim, SrcPort: 80, Dst: to, DstPort: port,
		Seq: seqnum.Value(isn), Ack: seqnum.Value(ack), Window: 64240, WScale: 7}
}

// feedInOrder numbers segs, sorts them by time and feeds them to tr.
func feedInOrder(tr *Tracker, segs []Segment) {
	slices.SortStableFunc(segs, func(a, b Segment) int { return int(a.Time - b.Time) })
	for i := range segs {
		segs[i].Packet = uint64(i + 1)
		tr.Observe(&segs[i])
	}
}

func countKind(tr *Tracker, k Kind) int {
	n := 0
	for _, a := range tr.Anomalies() {
		if a.Kind == k {
			n++
		}
	}
	return n
}

// TestBackscatterNamedByItsDestinations: a victim answering the SYNs a
// flood elsewhere spoofed sends its SYN-ACKs from one address to many:
// many destinations make the backscatter as many sources do, and few of
// both do not.
func TestBackscatterNamedByItsDestinations(t *testing.T) {
	for _, tc := range []struct {
		name          string
		victims, dsts int
		findings      int
	}{
		{"one victim answering 5,000 spoofed addresses", 1, 5000, 1},
		{"5,000 victims answering one spoofed address", 5000, 1, 1},
		{"one victim answering 20 addresses on many ports", 1, 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			segs := make([]Segment, 5000)
			for i := range segs {
				segs[i] = synAck(floodStart+int64(i)*int64(time.Millisecond), spoofed(i%tc.dsts), uint16(1024+i), rng.Uint32(), rng.Uint32())
				segs[i].Src = AddrFrom4([4]byte{203, 0, byte(i % tc.victims >> 8), byte(i % tc.victims)})
			}
			tr := New(Config{})
			feedInOrder(tr, segs)
			tr.Finish()
			if n := countKind(tr, SynackBackscatter); n != tc.findings {
				t.Fatalf("%d synack_backscatter findings, want %d: %v", n, tc.findings, tr.Anomalies())
			}
			if tc.findings == 0 {
				return
			}
			a := tr.Anomalies()[0]
			if d, _ := a.Fields["destinations"].(int); d < tc.dsts*9/10 || d > tc.dsts*11/10 {
				t.Errorf("destinations %v, want about %d: %s", a.Fields["destinations"], tc.dsts, a.Detail)
			}
			if s, _ := a.Fields["sources"].(int); s < tc.victims*9/10 || s > tc.victims*11/10 {
				t.Errorf("sources %v, want about %d: %s", a.Fields["sources"], tc.victims, a.Detail)
			}
		})
	}
}

// TestBackscatterResentIsNoConnection: a victim in SYN_RCVD resends each
// SYN-ACK to its silent, spoofed peer (Linux after 1 s, then 2 s later):
// no connection is opened (nothing shows a client ESTABLISHED, nor a
// half-open connection), every SYN-ACK is a lone segment, and the whole is
// backscatter.
func TestBackscatterResentIsNoConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resent []time.Duration
	}{
		{"each resent once", []time.Duration{time.Second}},
		{"each resent twice", []time.Duration{time.Second, 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			const n = 3000
			var segs []Segment
			for i := range n {
				at := floodStart + int64(i)*int64(time.Millisecond)
				s := synAck(at, spoofed(i), uint16(1024+rng.IntN(60000)), rng.Uint32(), rng.Uint32())
				segs = append(segs, s)
				for _, d := range tc.resent {
					s.Time = at + int64(d)
					segs = append(segs, s)
				}
			}
			tr := New(Config{})
			feedInOrder(tr, segs)
			tr.Finish()
			if c := len(tr.Conns()); c != 0 {
				t.Errorf("%d connections, want none", c)
			}
			if got, want := tr.Lone(), (LoneStats{Segments: uint64(len(segs)), Tuples: n}); got != want {
				t.Errorf("lone segments %+v, want %+v", got, want)
			}
			if b, h := countKind(tr, SynackBackscatter), countKind(tr, HalfOpen); b != 1 || h != 0 {
				t.Errorf("%d synack_backscatter and %d half_open findings, want 1 and none", b, h)
			}
		})
	}
}

// TestFloodJudgedWhileOneTupleKeepsChanging: a 4-tuple whose segments
// keep replacing one another (none continues the last) is judged by when
// its first came, like every other: it does not hold up the judging of
// the lone segments behind it, and an ACK flood is found while it runs.
func TestFloodJudgedWhileOneTupleKeepsChanging(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every time.Duration // the busy 4-tuple's interval, 0: none
	}{
		{"a flood alone", 0},
		{"a flood behind a 4-tuple changing every 0.5 s", 500 * time.Millisecond},
		{"a flood behind a 4-tuple changing every 10 ms", 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			const span = 10 * time.Second
			var segs []Segment
			for at := time.Duration(0); tc.every > 0 && at < span; at += tc.every {
				segs = append(segs, Segment{Time: floodStart + int64(at), Flags: ACK, WScale: -1, Src: cAddr, SrcPort: 40000,
					Dst: sAddr, DstPort: 443, Seq: seqnum.Value(rng.Uint32()), Ack: seqnum.Value(rng.Uint32())})
			}
			for i := range int(span / time.Millisecond) {
				segs = append(segs, Segment{Time: floodStart + int64(time.Microsecond) + int64(i)*int64(time.Millisecond), Flags: ACK,
					WScale: -1, Src: AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), SrcPort: uint16(1024 + i), Dst: sAddr, DstPort: 80,
					Seq: seqnum.Value(rng.Uint32()), Ack: seqnum.Value(rng.Uint32())})
			}
			tr := New(Config{})
			feedInOrder(tr, segs)
			var at int64
			for _, a := range tr.Anomalies() {
				if a.Kind == AckFlood {
					at = a.Time
				}
			}
			if at == 0 {
				t.Fatalf("no ack_flood found while the flood ran (%d segments)", len(segs))
			}
			tr.Finish()
			if n := countKind(tr, AckFlood); n != 1 {
				t.Errorf("%d ack_flood findings, want 1", n)
			}
		})
	}
}
