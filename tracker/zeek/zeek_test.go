package zeek

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// psh is the header's PSH bit: the summary ignores it, but real segments
// carry it.
const psh Flags = 0x08

// zp is one hand-built segment: who sent it, its flags, its sequence number
// relative to the sender's ISN, its acknowledgment number relative to the
// receiver's ISN, its payload length, and whether it advertises a zero
// window.
type zp struct {
	client bool
	f      Flags
	seq    uint32
	ack    uint32
	n      uint32
	win0   bool
}

func zC(f Flags, seq, ack, n uint32) zp { return zp{client: true, f: f, seq: seq, ack: ack, n: n} }
func zS(f Flags, seq, ack, n uint32) zp { return zp{client: false, f: f, seq: seq, ack: ack, n: n} }

func (p zp) zeroWindow() zp { p.win0 = true; return p }

// zeekConn describes a connection's endpoints for hand-built segments.
type zeekConn struct {
	cport, sport uint16
	ciss, siss   uint32
}

var defaultZeekConn = zeekConn{cport: 40000, sport: 9000, ciss: 1000, siss: 0xfffffff0} // the server's numbers wrap

func (zc zeekConn) segment(p zp) Segment {
	seg := Segment{Flags: p.f, Payload: p.n, Window: 65535, FromClient: p.client}
	if p.win0 {
		seg.Window = 0
	}
	if p.client {
		seg.SrcPort, seg.DstPort = zc.cport, zc.sport
		seg.Seq, seg.Ack = seqnum.Value(zc.ciss+p.seq), seqnum.Value(zc.siss+p.ack)
	} else {
		seg.SrcPort, seg.DstPort = zc.sport, zc.cport
		seg.Seq, seg.Ack = seqnum.Value(zc.siss+p.seq), seqnum.Value(zc.ciss+p.ack)
	}
	if p.f&ACK == 0 {
		seg.Ack = 0
	}
	return seg
}

func (zc zeekConn) run(pkts []zp) *Summary {
	var z Summary
	for _, p := range pkts {
		z.Observe(zc.segment(p))
	}
	return &z
}

const (
	zPA  = psh | ACK
	zFA  = FIN | ACK
	zRA  = RST | ACK
	zSA  = SYN | ACK
	zFRA = FIN | RST | ACK
)

// zHandshake is a three-way zHandshake.
var zHandshake = []zp{zC(SYN, 0, 0, 0), zS(zSA, 0, 1, 0), zC(ACK, 1, 1, 0)}

func zSeq(parts ...[]zp) []zp {
	var out []zp
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func zRepeat(p zp, n int) []zp {
	out := make([]zp, n)
	for i := range out {
		out[i] = p
	}
	return out
}

// zExchange is a request and its response after the zHandshake.
var zExchange = []zp{zC(zPA, 1, 1, 10), zS(ACK, 1, 11, 0), zS(zPA, 1, 11, 20), zC(ACK, 11, 21, 0)}

// port80 is defaultZeekConn with the server on port 80, a port Zeek knows.
var port80 = zeekConn{cport: defaultZeekConn.cport, sport: 80, ciss: defaultZeekConn.ciss, siss: defaultZeekConn.siss}

// summaryTests are segment sequences with the history, conn_state and
// orientation Zeek gives them.
var summaryTests = []struct {
	name       string
	conn       zeekConn
	pkts       []zp
	history    string
	state      string
	clientOrig bool // OrigIsClient
}{
	{"normal close", defaultZeekConn,
		zSeq(zHandshake, zExchange, []zp{zC(zFA, 11, 21, 0), zS(zFA, 21, 12, 0), zC(ACK, 12, 22, 0)}),
		"ShADadFf", "SF", true},
	{"refused", defaultZeekConn,
		[]zp{zC(SYN, 0, 0, 0), zS(zRA, 0, 1, 0)},
		"Sr", "REJ", true},
	{"no answer, SYN retransmitted", defaultZeekConn,
		zRepeat(zC(SYN, 0, 0, 0), 3),
		"S", "S0", true},
	{"SYN retransmitted with a new ISN restarts the relative numbers", defaultZeekConn,
		[]zp{zC(SYN, 0, 0, 0), zC(SYN, 7777, 0, 0)},
		"S", "S0", true},
	{"established, not closed", defaultZeekConn,
		zSeq(zHandshake, zExchange),
		"ShADad", "S1", true},
	{"originator aborts", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 1, 1, 10), zS(ACK, 1, 11, 0), zC(zRA, 11, 1, 0)}),
		"ShADaR", "RSTO", true},
	{"responder aborts", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 1, 1, 10), zS(zRA, 1, 11, 0)}),
		"ShADr", "RSTR", true},
	{"SYN then RST", defaultZeekConn,
		[]zp{zC(SYN, 0, 0, 0), zC(RST, 1, 0, 0)},
		"SR", "RSTOS0", true},
	{"SYN-ACK then RST, no SYN; port 80 flips the roles", port80,
		[]zp{zS(zSA, 0, 1, 0), zS(RST, 1, 0, 0)},
		"^hr", "RSTRH", true},
	{"SYN then FIN, no reply", defaultZeekConn,
		[]zp{zC(SYN, 0, 0, 0), zC(FIN, 1, 0, 0)},
		"SF", "SH", true},
	{"SYN-ACK then FIN, no SYN", port80,
		[]zp{zS(zSA, 0, 1, 0), zS(zFA, 1, 1, 0)},
		"^hf", "SHR", true},
	{"close by the originator only", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zFA, 1, 1, 0), zS(ACK, 1, 2, 0)}),
		"ShAFa", "S2", true},
	{"close by the responder only", defaultZeekConn,
		zSeq(zHandshake, []zp{zS(zFA, 1, 1, 0), zC(ACK, 1, 2, 0)}),
		"ShAf", "S3", true},
	{"both reset without data: Zeek calls it REJ", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(RST, 1, 0, 0), zS(RST, 1, 0, 0)}),
		"ShARr", "REJ", true},
	{"mid-stream, ports Zeek does not know", defaultZeekConn,
		[]zp{zC(zPA, 100, 200, 10), zS(zPA, 200, 110, 20), zC(ACK, 110, 220, 0)},
		"DdA", "OTH", true},
	{"mid-stream, the server speaks first: it becomes Zeek's originator", defaultZeekConn,
		[]zp{zS(zPA, 200, 100, 20), zC(zPA, 100, 220, 10), zS(ACK, 220, 110, 0)},
		"DdA", "OTH", false},
	{"mid-stream from port 80: Zeek flips at once", port80,
		[]zp{zS(zPA, 200, 100, 20), zC(zPA, 100, 220, 10), zS(ACK, 220, 110, 0)},
		"^dDa", "OTH", true},
	{"SYN-ACK before its SYN (reordered), unknown port", defaultZeekConn,
		zSeq([]zp{zS(zSA, 0, 1, 0), zC(SYN, 0, 0, 0), zC(ACK, 1, 1, 0)}, zExchange,
			[]zp{zC(zFA, 11, 21, 0), zS(zFA, 21, 12, 0), zC(ACK, 12, 22, 0)}),
		"Hs^ADadFf", "SF", true},
	{"SYN-ACK then its ACK, no SYN, unknown port: Zeek flips after the SYN-ACK", defaultZeekConn,
		[]zp{zS(zSA, 0, 1, 0), zS(zSA, 0, 1, 0), zC(ACK, 1, 1, 0), zS(zPA, 1, 1, 10), zC(ACK, 1, 11, 0)},
		"^hAd", "OTH", true},
	{"SYN-ACK then RST: a scan's answer, no flip", defaultZeekConn,
		[]zp{zS(zSA, 0, 1, 0), zC(RST, 1, 0, 0)},
		"Hr", "REJ", false},
	{"SYN-ACK before its SYN, port 80", port80,
		zSeq([]zp{zS(zSA, 0, 1, 0), zC(SYN, 0, 0, 0), zC(ACK, 1, 1, 0)}, zExchange,
			[]zp{zC(zFA, 11, 21, 0), zS(zFA, 21, 12, 0), zC(ACK, 12, 22, 0)}),
		"^hSADadFf", "SF", true},
	{"retransmitted data", defaultZeekConn,
		zSeq(zHandshake, zRepeat(zC(zPA, 1, 1, 10), 2)),
		"ShADT", "S1", true},
	{"9 retransmissions: one T", defaultZeekConn,
		zSeq(zHandshake, zRepeat(zC(zPA, 1, 1, 10), 10)),
		"ShADT", "S1", true},
	{"10 retransmissions: T at 1 and 10", defaultZeekConn,
		zSeq(zHandshake, zRepeat(zC(zPA, 1, 1, 10), 11)),
		"ShADTT", "S1", true},
	{"100 retransmissions: T at 1, 10 and 100", defaultZeekConn,
		zSeq(zHandshake, zRepeat(zS(zPA, 1, 1, 10), 101)),
		"ShAdttt", "S1", true},
	{"a keep-alive counts as a retransmission", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 1, 1, 10), zS(ACK, 1, 11, 0), zC(ACK, 10, 1, 1)}),
		"ShADaT", "S1", true},
	{"zero window", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 1, 1, 10), zS(ACK, 1, 11, 0).zeroWindow(), zS(ACK, 1, 11, 0).zeroWindow()}),
		"ShADaw", "S1", true},
	{"no zero window after the peer's FIN", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zFA, 1, 1, 0), zS(ACK, 1, 2, 0).zeroWindow()}),
		"ShAFa", "S2", true},
	{"acknowledged data never seen is a gap", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 1, 1, 10), zS(ACK, 1, 21, 0)}),
		"ShADaG", "S1", true},
	{"out-of-order data is a T to Zeek, and fills the hole: no gap", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 11, 1, 10), zC(zPA, 1, 1, 10), zS(ACK, 1, 21, 0)}),
		"ShADTa", "S1", true},
	{"a hole below seen data is a gap", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zPA, 1, 1, 10), zC(zPA, 21, 1, 10), zS(ACK, 1, 31, 0)}),
		"ShADaG", "S1", true},
	{"the responder's gap", defaultZeekConn,
		zSeq(zHandshake, []zp{zS(zPA, 1, 1, 10), zC(ACK, 1, 31, 0)}),
		"ShAdg", "S1", true},
	{"no gap for the first ACK of a partial connection", defaultZeekConn,
		[]zp{zC(zPA, 100, 200, 10), zS(ACK, 200, 110, 0)},
		"Da", "OTH", true},
	{"FIN+RST", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zFRA, 1, 1, 0)}),
		"ShAI", "RSTO", true},
	{"SYN+FIN", defaultZeekConn,
		[]zp{zC(SYN|FIN, 0, 0, 0)},
		"Q", "SH", true},
	{"a FIN repeated at the same number is one F", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zFA, 1, 1, 0), zC(zFA, 1, 1, 0)}),
		"ShAF", "S2", true},
	{"a FIN at a new number is another F", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zFA, 1, 1, 0), zC(zFA|psh, 1, 1, 10)}),
		"ShAFF", "S2", true},
	{"RST after the FIN zExchange keeps SF", defaultZeekConn,
		zSeq(zHandshake, zExchange, []zp{zC(zFA, 11, 21, 0), zS(zFA, 21, 12, 0), zC(RST, 12, 0, 0)}),
		"ShADadFfR", "SF", true},
	{"FIN then RST, then the peer's FIN: normal termination", defaultZeekConn,
		zSeq(zHandshake, []zp{zC(zFA, 1, 1, 0), zC(RST, 2, 0, 0), zS(zFA, 1, 2, 0)}),
		"ShAFRf", "SF", true},
}

func TestZeekSummary(t *testing.T) {
	for _, tt := range summaryTests {
		t.Run(tt.name, func(t *testing.T) {
			z := tt.conn.run(tt.pkts)
			if got := z.History(); got != tt.history {
				t.Errorf("History() = %q, want %q", got, tt.history)
			}
			if got := z.ConnState(); got != tt.state {
				t.Errorf("ConnState() = %q, want %q", got, tt.state)
			}
			if got := z.OrigIsClient(); got != tt.clientOrig {
				t.Errorf("OrigIsClient() = %v, want %v", got, tt.clientOrig)
			}
		})
	}
}

func TestZeekSummaryZeroValue(t *testing.T) {
	var z Summary
	if z.History() != "" || z.ConnState() != "" || !z.OrigIsClient() {
		t.Errorf("zero value: History %q, ConnState %q, OrigIsClient %v", z.History(), z.ConnState(), z.OrigIsClient())
	}
}

func TestZeekScaled(t *testing.T) {
	var sc scaled
	var hits []int
	for i := 1; i <= 1000; i++ {
		if sc.hit() {
			hits = append(hits, i)
		}
	}
	if want := []int{1, 10, 100, 1000}; !equalInts(hits, want) {
		t.Errorf("letters at %v, want %v", hits, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestZeekSynThenReset(t *testing.T) {
	for h, want := range map[string]bool{
		"SR": true, "^SR": true, "SdR": true, "SRh": true, "SsR": true,
		"ShR": true, // the responder's h is lower case and allowed
		"SHR": false, "SAR": false, "SFR": false, "R": false, "S": false, "": false, "^R": false, "DSR": false,
	} {
		if got := synThenReset(h); got != want {
			t.Errorf("synThenReset(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestZeekHoles(t *testing.T) {
	var e endpoint
	e.reassem = 1
	for _, r := range []span{{50, 60}, {20, 30}, {80, 90}, {100, 110}, {120, 130}, {29, 51}} {
		e.insertHole(r.lo, r.hi)
	}
	want := []span{{20, 60}, {80, 90}, {100, 130}}
	if got := e.holes[:e.nholes]; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("holes = %v, want %v", got, want)
	}
	e.reassem = 20
	e.absorb()
	if e.reassem != 60 || e.nholes != 2 {
		t.Errorf("after absorb: reassem %d, %d holes, want 60 and 2", e.reassem, e.nholes)
	}
}

// Observing a segment of an existing connection must not allocate.
func TestZeekObserveAllocs(t *testing.T) {
	zc := defaultZeekConn
	var z Summary
	for _, p := range zHandshake {
		z.Observe(zc.segment(p))
	}
	segs := []Segment{zc.segment(zC(zPA, 1, 1, 10)), zc.segment(zS(ACK, 1, 11, 0)), zc.segment(zC(zFA, 11, 1, 0))}
	if n := testing.AllocsPerRun(100, func() {
		for i := range segs {
			z.Observe(segs[i])
		}
	}); n != 0 {
		t.Errorf("Observe allocates %v times per run, want 0", n)
	}
}

func BenchmarkZeekObserve(b *testing.B) {
	zc := defaultZeekConn
	var z Summary
	for _, p := range zHandshake {
		z.Observe(zc.segment(p))
	}
	data, ack := zc.segment(zC(zPA, 1, 1, 1000)), zc.segment(zS(ACK, 1, 1001, 0))
	b.ReportAllocs()
	for b.Loop() {
		z.Observe(data)
		z.Observe(ack)
		data.Seq += 1000
		ack.Ack += 1000
	}
}

// FuzzObserve feeds arbitrary segments: Observe must not panic, and the
// summary must stay one Zeek could print.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 1, 0x12, 1, 0, 0, 1, 0x10, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var z Summary
		for len(data) >= 5 {
			seg := Segment{
				Flags:      Flags(data[0]) & (FIN | SYN | RST | psh | ACK),
				FromClient: data[1]&1 == 0,
				Seq:        seqnum.Value(uint32(data[2]) << (8 * (data[1] >> 1 & 3))),
				Ack:        seqnum.Value(uint32(data[3]) << (8 * (data[1] >> 3 & 3))),
				Payload:    uint32(data[4]) * 7,
				Window:     uint16(data[1] >> 5),
				SrcPort:    80, DstPort: 40000,
			}
			if !seg.FromClient {
				seg.SrcPort, seg.DstPort = 40000, 80
			}
			z.Observe(seg)
			data = data[5:]
		}
		if h := z.History(); len(h) > maxHistory {
			t.Fatalf("history %q longer than %d", h, maxHistory)
		}
		switch st := z.ConnState(); st {
		case "", "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH":
		default:
			t.Fatalf("conn_state %q", st)
		}
	})
}
