package tracker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// A script drives one connection between client 198.18.0.1:40000 and server
// 198.18.0.2:80. Sequence numbers in steps are relative to each side's ISN
// (ISN itself is 0), so the same script runs with ISNs anywhere in the
// sequence space.
type step struct {
	from    Side
	flags   Flags
	seq     uint32 // relative to the sender's ISN
	ack     uint32 // relative to the receiver's ISN
	payload uint32
	after   time.Duration // since the previous step (default 1 ms)
	win0    bool          // advertise a zero window
	// tsval and tsecr, when either is set: the timestamps option's
	tsval, tsecr uint32
	// states expected after the step; "" means don't check
	client, server string
}

var (
	cAddr = AddrFrom4([4]byte{198, 18, 0, 1})
	sAddr = AddrFrom4([4]byte{198, 18, 0, 2})
)

// isnPairs are the client and server ISNs every script runs with: ordinary
// values, and values where the sequence space wraps or crosses 2^31.
var isnPairs = [][2]seqnum.Value{
	{1000, 5000},
	{0xFFFFFFFE, 0x7FFFFFFF},
	{0x7FFFFFFE, 0xFFFFFFFF},
	{0, 0xFFFFFFF0},
}

const (
	S  = SYN
	SA = SYN | ACK
	A  = ACK
	FA = FIN | ACK
	RA = RST | ACK
	R  = RST
	PA = PSH | ACK
)

// run plays a script against a fresh tracker with each ISN pair, checks
// the states after every step and that every transition is one the rules
// allow (edges_test.go). It returns the tracker of the last run.
func run(t *testing.T, cfg Config, steps []step) *Tracker {
	t.Helper()
	var tr *Tracker
	for _, isn := range isnPairs {
		tr = New(cfg)
		now := int64(1_700_000_000) * int64(time.Second)
		for i, st := range steps {
			now += st.wait()
			seg := st.segment(isn, i, now)
			tr.Observe(&seg)
			if len(tr.Conns()) == 0 {
				continue // a lone segment, held: no state is claimed (lone.go)
			}
			c := tr.Conns()[len(tr.Conns())-1]
			if st.client != "" && c.State(Client).String() != st.client {
				t.Fatalf("isn %v step %d (%s %v): client %v, want %s\n%s", isn, i+1, st.from, st.flags, c.State(Client), st.client, timeline(c))
			}
			if st.server != "" && c.State(Server).String() != st.server {
				t.Fatalf("isn %v step %d (%s %v): server %v, want %s\n%s", isn, i+1, st.from, st.flags, c.State(Server), st.server, timeline(c))
			}
		}
		for _, c := range tr.Conns() {
			if p := transitionProblem(c); p != "" {
				t.Fatalf("isn %v: connection #%d: %s\n%s", isn, c.ID, p, timeline(c))
			}
		}
	}
	return tr
}

// wait is how long after the previous step the step comes: 1 ms unless
// after says.
func (st *step) wait() int64 {
	if st.after == 0 {
		return int64(time.Millisecond)
	}
	return int64(st.after)
}

// segment is the step's segment, the i-th of its script (from 0), for the
// ISN pair, at now.
func (st *step) segment(isn [2]seqnum.Value, i int, now int64) Segment {
	seg := testSeg(isn, st.from, st.flags, st.seq, st.ack, st.payload)
	seg.Time, seg.Packet = now, uint64(i+1)
	if st.win0 {
		seg.Window = 0
	}
	if st.tsval != 0 || st.tsecr != 0 {
		seg.HasTS, seg.TSVal, seg.TSEcr = true, st.tsval, st.tsecr
	}
	return seg
}

// testSeg builds a segment between the test endpoints, sequence and
// acknowledgment numbers relative to the sender's and the receiver's ISN
// (isn: client's, server's); the time and packet number are the caller's.
// The acknowledgment number is set only with ACK or a non-zero ack.
func testSeg(isn [2]seqnum.Value, from Side, flags Flags, seq, ack, payload uint32) Segment {
	s := Segment{Flags: flags, Payload: payload, Window: 1000, WScale: -1}
	own, peer := isn[0], isn[1]
	s.Src, s.SrcPort, s.Dst, s.DstPort = cAddr, 40000, sAddr, 80
	if from == Server {
		own, peer = peer, own
		s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, cAddr, 40000
	}
	s.Seq = own.Add(seqnum.Size(seq))
	if flags&ACK != 0 || ack != 0 {
		s.Ack = peer.Add(seqnum.Size(ack))
	}
	return s
}

func timeline(c *Conn) string {
	var b strings.Builder
	for _, tr := range c.Transitions() {
		fmt.Fprintf(&b, "  pkt %d %s %v → %v (%s)\n", tr.Packet, tr.Side, tr.From, tr.To, tr.Why)
	}
	return b.String()
}

// handshake is the three-way handshake (RFC 793 §3.4 figure 7); data
// sequence numbers start at 1 on both sides after it.
var handshake = []step{
	{from: Client, flags: S, client: "SYN_SENT", server: "CLOSED"},
	{from: Server, flags: SA, ack: 1, client: "ESTABLISHED", server: "SYN_RCVD"},
	{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
}

func with(prefix []step, rest ...step) []step {
	return append(append([]step{}, prefix...), rest...)
}

// established: handshake plus one request and response.
var established = with(handshake,
	step{from: Client, flags: PA, seq: 1, ack: 1, payload: 10},
	step{from: Server, flags: PA, seq: 1, ack: 11, payload: 20},
	step{from: Client, flags: A, seq: 11, ack: 21, client: "ESTABLISHED", server: "ESTABLISHED"},
)

// diagramRows has one row per edge of the state diagram: the packets
// leading to the edge, with the states after them.
var diagramRows = []struct {
	name  string
	edge  edge
	steps []step
}{
	{"active open", edge{Closed, SynSent}, handshake[:1]},
	{"passive open", edge{Closed, SynRcvd}, handshake[:2]},
	{"SYN-ACK received", edge{SynSent, Established}, handshake[:2]},
	{"handshake ACK received", edge{SynRcvd, Established}, handshake},
	{"simultaneous open", edge{SynSent, SynRcvd}, []step{
		{from: Client, flags: S, client: "SYN_SENT", server: "CLOSED"},
		// Both SYNs cross; each is delivered to a side in SYN_SENT.
		{from: Server, flags: S, client: "SYN_RCVD", server: "SYN_RCVD"},
		{from: Client, flags: SA, ack: 1, client: "SYN_RCVD", server: "ESTABLISHED"},
		{from: Server, flags: SA, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
	}},
	{"refused", edge{SynSent, Closed}, []step{
		{from: Client, flags: S, client: "SYN_SENT"},
		{from: Server, flags: RA, ack: 1, client: "CLOSED", server: "CLOSED"},
	}},
	{"close in SYN_RCVD", edge{SynRcvd, FinWait1}, with(handshake[:2],
		step{from: Server, flags: FA, seq: 1, ack: 1, client: "CLOSE_WAIT", server: "FIN_WAIT_1"},
	)},
	{"RST in SYN_RCVD", edge{SynRcvd, Closed}, with(handshake[:2],
		step{from: Client, flags: R, seq: 1, client: "CLOSED", server: "CLOSED"},
	)},
	{"active close", edge{Established, FinWait1}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
	)},
	{"passive close", edge{Established, CloseWait}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
	)},
	{"FIN acknowledged", edge{FinWait1, FinWait2}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_2", server: "CLOSE_WAIT"},
	)},
	{"peer closes: LAST_ACK", edge{CloseWait, LastAck}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12, client: "TIME_WAIT", server: "LAST_ACK"},
	)},
	{"FIN_WAIT_2 to TIME_WAIT", edge{FinWait2, TimeWait}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_2"},
		step{from: Server, flags: FA, seq: 21, ack: 12, client: "TIME_WAIT", server: "LAST_ACK"},
	)},
	{"last ACK", edge{LastAck, Closed}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT", server: "CLOSED"},
	)},
	{"three-segment close", edge{FinWait1, TimeWait}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
		step{from: Server, flags: FA, seq: 21, ack: 12, client: "TIME_WAIT", server: "LAST_ACK"},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT", server: "CLOSED"},
	)},
	{"simultaneous close", edge{FinWait1, Closing}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
		// The server's FIN does not acknowledge the client's: they crossed.
		step{from: Server, flags: FA, seq: 21, ack: 11, client: "CLOSING", server: "CLOSING"},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "CLOSING", server: "TIME_WAIT"},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "TIME_WAIT", server: "TIME_WAIT"},
	)},
	{"CLOSING to TIME_WAIT", edge{Closing, TimeWait}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 11, client: "CLOSING", server: "CLOSING"},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "TIME_WAIT", server: "CLOSING"},
	)},
	{"RST abort", edge{Established, Closed}, with(established,
		step{from: Client, flags: RA, seq: 11, ack: 21, client: "CLOSED", server: "CLOSED"},
	)},
	{"TIME_WAIT expires", edge{TimeWait, Closed}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT", server: "CLOSED"},
		// 2×MSL later the same client port opens again: a new connection.
		step{from: Client, flags: S, seq: 100000, after: 61 * time.Second, client: "SYN_SENT", server: "CLOSED"},
	)},
}

// TestRFC793Diagram plays each of diagramRows and checks that it crosses
// its edge, then that the rows together cross every edge of the diagram.
func TestRFC793Diagram(t *testing.T) {
	covered := map[edge]bool{}
	for _, tc := range diagramRows {
		t.Run(tc.name, func(t *testing.T) {
			tr := run(t, Config{}, tc.steps)
			found := false
			for _, c := range tr.Conns() {
				for _, x := range c.Transitions() {
					e := edge{x.From, x.To}
					covered[e] = true
					if e == tc.edge {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("edge %v → %v not crossed\n%s", tc.edge.from, tc.edge.to, timeline(tr.Conns()[0]))
			}
		})
	}
	for _, e := range rfc793Edges {
		if !covered[e] {
			t.Errorf("no row crosses %v → %v", e.from, e.to)
		}
	}
}

// scenarios are retransmissions, corrections and the ways real connections
// deviate from the diagram, with the states after each step.
var scenarios = []struct {
	name  string
	steps []step
}{
	{"SYN retransmitted before answer", []step{
		{from: Client, flags: S, client: "SYN_SENT"},
		{from: Client, flags: S, after: time.Second, client: "SYN_SENT", server: "CLOSED"},
		{from: Server, flags: SA, ack: 1, client: "ESTABLISHED", server: "SYN_RCVD"},
		{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
	}},
	{"SYN-ACK lost: client retransmits SYN; the next copy is believed once acknowledged", []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 1, client: "ESTABLISHED", server: "SYN_RCVD"},
		{from: Client, flags: S, after: time.Second, client: "SYN_SENT", server: "SYN_RCVD"},
		// proven lost: the same SYN-ACK again is not believed to arrive
		{from: Server, flags: SA, ack: 1, client: "SYN_SENT", server: "SYN_RCVD"},
		{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
	}},
	{"lost third ACK: server keeps retransmitting SYN-ACK", with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second, client: "ESTABLISHED", server: "SYN_RCVD"},
		// proven lost: a bare repeat is not believed
		step{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "SYN_RCVD"},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second, server: "SYN_RCVD"},
		step{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "SYN_RCVD"},
		// nor is data carrying the same ACK (a black hole drops it too)...
		step{from: Client, flags: PA, seq: 1, ack: 1, payload: 5, client: "ESTABLISHED", server: "SYN_RCVD"},
		// ...until the server acknowledges it: it did arrive, and Linux
		// completes the handshake with it
		step{from: Server, flags: A, seq: 1, ack: 6, client: "ESTABLISHED", server: "ESTABLISHED"},
	)},
	{"data retransmitted: no state change", with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, client: "ESTABLISHED", server: "ESTABLISHED"},
	)},
	{"FIN retransmitted before its ACK", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
		step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_2"},
	)},
	{"FIN retransmitted after its ACK: the ACK never arrived", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_2"},
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
		// the same ACK again is not believed until the client falls silent
		step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_1"},
		// ...or shows it hears the server again, acknowledging new data
		step{from: Server, flags: PA, seq: 21, ack: 12, payload: 5, client: "FIN_WAIT_1"},
		step{from: Client, flags: A, seq: 12, ack: 26, client: "FIN_WAIT_2"},
	)},
	{"LAST_ACK with retransmitted FIN into a black hole", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12, server: "LAST_ACK"},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT", server: "CLOSED"},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 200 * time.Millisecond, client: "TIME_WAIT", server: "LAST_ACK"},
		step{from: Client, flags: A, seq: 12, ack: 22, server: "LAST_ACK"},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 400 * time.Millisecond, server: "LAST_ACK"},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT", server: "LAST_ACK"},
	)},
	{"FIN black-holed towards the client: CLOSING on one side only", with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11, client: "CLOSE_WAIT", server: "FIN_WAIT_1"},
		// 120 ms later the client's FIN still acknowledges only 21: the
		// server's FIN never reached it.
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 120 * time.Millisecond, client: "FIN_WAIT_1", server: "CLOSING"},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "FIN_WAIT_2", server: "CLOSING"},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 80 * time.Millisecond, client: "FIN_WAIT_2"},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 120 * time.Millisecond, client: "FIN_WAIT_1", server: "CLOSING"},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "FIN_WAIT_1"},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond, client: "FIN_WAIT_1"},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "FIN_WAIT_1", server: "CLOSING"},
		// the path heals: the next FIN is acknowledged
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 400 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT", server: "TIME_WAIT"},
	)},
	{"server closes first", with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11, client: "CLOSE_WAIT", server: "FIN_WAIT_1"},
		step{from: Client, flags: A, seq: 11, ack: 22, client: "CLOSE_WAIT", server: "FIN_WAIT_2"},
		step{from: Client, flags: FA, seq: 11, ack: 22, client: "LAST_ACK", server: "TIME_WAIT"},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "CLOSED", server: "TIME_WAIT"},
	)},
	{"half-close with data flowing after the FIN", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_2", server: "CLOSE_WAIT"},
		step{from: Server, flags: PA, seq: 21, ack: 12, payload: 100},
		step{from: Client, flags: A, seq: 12, ack: 121},
		step{from: Server, flags: PA, seq: 121, ack: 12, payload: 100, client: "FIN_WAIT_2", server: "CLOSE_WAIT"},
		step{from: Client, flags: A, seq: 12, ack: 221},
		step{from: Server, flags: FA, seq: 221, ack: 12, client: "TIME_WAIT", server: "LAST_ACK"},
		step{from: Client, flags: A, seq: 12, ack: 222, client: "TIME_WAIT", server: "CLOSED"},
	)},
	{"keepalives never move a state", with(established,
		step{from: Client, flags: A, seq: 10, ack: 21, after: 10 * time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11},
		step{from: Client, flags: A, seq: 10, ack: 21, payload: 1, after: 10 * time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11, client: "ESTABLISHED", server: "ESTABLISHED"},
	)},
	{"RST outside the window is ignored", with(established,
		step{from: Server, flags: R, seq: 100000, client: "ESTABLISHED", server: "ESTABLISHED"},
	)},
	{"RST in window but not exact draws a challenge ACK", with(established,
		step{from: Server, flags: R, seq: 25, client: "ESTABLISHED", server: "ESTABLISHED"},
		step{from: Client, flags: A, seq: 11, ack: 21},
		step{from: Server, flags: R, seq: 21, client: "CLOSED", server: "CLOSED"},
	)},
	{"RST without ACK in SYN_SENT is ignored", []step{
		{from: Client, flags: S},
		{from: Server, flags: R, client: "SYN_SENT", server: "CLOSED"},
	}},
	{"SYN-ACK acknowledging the wrong ISN is ignored", []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 7, client: "SYN_SENT", server: "CLOSED"},
	}},
	{"RST after FIN (tcp_reset_check)", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12, server: "CLOSE_WAIT"},
		step{from: Client, flags: R, seq: 11, client: "CLOSED", server: "CLOSED"},
	)},
	{"invalid flags never move a state", with(established,
		step{from: Client, flags: SYN | FIN, seq: 11},
		step{from: Client, flags: FIN, seq: 11},
		step{from: Client, flags: 0, seq: 11, client: "ESTABLISHED", server: "ESTABLISHED"},
	)},
}

// TestScenarios plays each of scenarios.
func TestScenarios(t *testing.T) {
	for _, tc := range scenarios {
		t.Run(tc.name, func(t *testing.T) { run(t, Config{}, tc.steps) })
	}
}

func TestPortReuseStartsNewConnection(t *testing.T) {
	steps := with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Client, flags: FA, seq: 11, ack: 22},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "CLOSED", server: "TIME_WAIT"},
		// new SYN from the same client port, ISN further on
		step{from: Client, flags: S, seq: 100000, after: time.Second, client: "SYN_SENT", server: "CLOSED"},
	)
	tr := run(t, Config{}, steps)
	cs := tr.Conns()
	if len(cs) != 2 {
		t.Fatalf("got %d connections, want 2", len(cs))
	}
	if cs[0].State(Server) != Closed || cs[0].State(Client) != Closed {
		t.Errorf("old connection: %v/%v, want CLOSED/CLOSED", cs[0].State(Client), cs[0].State(Server))
	}
	if got := lastWhy(cs[0]); got != "4-tuple reused by a new connection" {
		t.Errorf("old connection's last transition: %q", got)
	}
}

func TestMidstream(t *testing.T) {
	tests := []struct {
		name       string
		first      step
		wantClient uint16
		client     State
		server     State
	}{
		{"data from the high port", step{from: Client, flags: PA, seq: 50, ack: 70, payload: 10}, 40000, Established, Established},
		{"data from the server port", step{from: Server, flags: PA, seq: 50, ack: 70, payload: 10}, 40000, Established, Established},
		{"FIN first", step{from: Client, flags: FA, seq: 5, ack: 5}, 40000, FinWait1, CloseWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Held until its sender continues (here: sends it again). A
			// SYN-ACK sent again is no continuation (TestLoneSegments).
			again := tc.first
			again.after = 300 * time.Millisecond
			tr := run(t, Config{}, []step{tc.first, again})
			c := tr.Conns()[0]
			if !c.Midstream {
				t.Error("not marked midstream")
			}
			if c.Client().Port() != tc.wantClient {
				t.Errorf("client is %v", c.Client())
			}
			if c.State(Client) != tc.client || c.State(Server) != tc.server {
				t.Errorf("states %v/%v, want %v/%v", c.State(Client), c.State(Server), tc.client, tc.server)
			}
		})
	}
}

func TestKeepaliveCounted(t *testing.T) {
	tr := run(t, Config{}, with(established,
		step{from: Client, flags: A, seq: 10, ack: 21, after: 10 * time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11},
		step{from: Client, flags: A, seq: 10, ack: 21, after: 10 * time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11},
	))
	if got := tr.Conns()[0].Keepalives; got != 2 {
		t.Errorf("keepalives = %d, want 2", got)
	}
}

func TestTimeWaitExpiresOnFinish(t *testing.T) {
	tr := run(t, Config{MSL: time.Second}, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22, client: "TIME_WAIT"},
	))
	c := tr.Conns()[0]
	since := c.half[Client].twSince
	tr.Advance(since + int64(1999*time.Millisecond))
	tr.Finish()
	if c.State(Client) != TimeWait {
		t.Fatalf("expired before 2×MSL")
	}
	tr.Advance(since + int64(2*time.Second))
	tr.Finish()
	if c.State(Client) != Closed {
		t.Fatalf("client %v after 2×MSL, want CLOSED", c.State(Client))
	}
	last, _ := c.LastTransition()
	if last.Time != since+int64(2*time.Second) || last.Packet != 0 || last.Why != "TIME_WAIT ended after 2×MSL" {
		t.Errorf("expiry recorded at %d (packet %d, %q), want %d", last.Time, last.Packet, last.Why, since+int64(2*time.Second))
	}
}

func TestStateString(t *testing.T) {
	for _, s := range States() {
		got, ok := ParseState(s.String())
		if !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if got := State(17).String(); got != "State(17)" {
		t.Errorf("State(17) = %q", got)
	}
}

func lastWhy(c *Conn) string {
	tr, _ := c.LastTransition()
	return tr.Why
}
