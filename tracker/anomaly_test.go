package tracker

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// closeFin: the client closed, the server acknowledged its FIN.
var closeFin = with(established,
	step{from: Client, flags: FA, seq: 11, ack: 21},
	step{from: Server, flags: A, seq: 21, ack: 12},
)

// anomalyCases are a script per kind, and scripts that must find nothing,
// each with every finding it must make: kind, side at fault and the step
// since which its condition held (README, "Anomalies"); --stuck is 5 s.
var anomalyCases = []struct {
	name  string
	steps []step
	want  []finding
}{
	{"clean close", with(closeFin,
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22}), nil},
	{"CLOSE_WAIT for less than --stuck", with(closeFin,
		step{from: Client, flags: A, seq: 12, ack: 21, after: 4 * time.Second}), nil},
	// The server in CLOSE_WAIT since the client's FIN; the client it leaves
	// in FIN_WAIT_2 is the consequence, not a finding of its own.
	{"stuck CLOSE_WAIT and FIN_WAIT_2: one finding, the server's", with(closeFin,
		step{from: Server, flags: A, seq: 21, ack: 12, after: 6 * time.Second}),
		[]finding{{CloseWaitStuck, 1, Server, 7}}},
	{"CLOSE_WAIT stuck, then closed: still found", with(closeFin,
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 7 * time.Second},
		step{from: Client, flags: A, seq: 12, ack: 22}),
		[]finding{{CloseWaitStuck, 1, Server, 7}}},
	{"half-closed but still sending data: not stuck", with(closeFin,
		step{from: Server, flags: PA, seq: 21, ack: 12, payload: 10, after: 3 * time.Second},
		step{from: Client, flags: A, seq: 12, ack: 31},
		step{from: Server, flags: PA, seq: 31, ack: 12, payload: 10, after: 3 * time.Second},
		step{from: Client, flags: A, seq: 12, ack: 41},
		step{from: Server, flags: PA, seq: 41, ack: 12, payload: 10, after: 3 * time.Second}), nil},
	// Since its first FIN.
	{"FIN never acknowledged", with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 300 * time.Millisecond},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 600 * time.Millisecond}),
		[]finding{{UnackedFin, 1, Server, 7}}},
	// The FIN's retransmissions are the ones into silence: one finding,
	// which names the silence (TestFINIntoSilenceIsOneFinding).
	{"FIN sent again and again into silence", with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 200 * time.Millisecond},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 400 * time.Millisecond},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 800 * time.Millisecond}),
		[]finding{{UnackedFin, 1, Server, 7}}},
	{"FIN retransmitted once, then acknowledged", with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 300 * time.Millisecond},
		step{from: Client, flags: A, seq: 11, ack: 22}), nil},
	{"LAST_ACK black hole", with(closeFin,
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 300 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 600 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22, server: "LAST_ACK"}),
		[]finding{{UnackedFin, 1, Server, 9}}},
	// The server never answered, since the first SYN.
	{"SYN timeout", []step{
		{from: Client, flags: S},
		{from: Client, flags: S, after: time.Second},
		{from: Client, flags: S, after: 2 * time.Second}},
		[]finding{{SynTimeout, 1, Server, 1}}},
	{"refused", []step{
		{from: Client, flags: S},
		{from: Server, flags: RA, ack: 1}},
		[]finding{{ConnectionRefused, 1, Server, 2}}},
	// The same connect() tried again after each RST: dated at the first.
	{"refused three times", []step{
		{from: Client, flags: S},
		{from: Server, flags: RA, ack: 1},
		{from: Client, flags: S, after: 500 * time.Millisecond},
		{from: Server, flags: RA, ack: 1},
		{from: Client, flags: S, after: 500 * time.Millisecond},
		{from: Server, flags: RA, ack: 1}},
		[]finding{{ConnectionRefused, 1, Server, 2}}},
	// The server, since its first SYN-ACK.
	{"lost third ACK", with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1, server: "SYN_RCVD"}),
		[]finding{{HalfOpen, 1, Server, 2}}},
	// The silent server, since the client's first retransmission.
	{"retransmitting into silence", with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 200 * time.Millisecond},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 400 * time.Millisecond},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 800 * time.Millisecond}),
		[]finding{{HalfOpen, 1, Server, 8}}},
	{"capture duplicates are not retransmissions", with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 10 * time.Microsecond},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 10 * time.Microsecond},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 10 * time.Microsecond},
		step{from: Client, flags: FA, seq: 16, ack: 21},
		step{from: Client, flags: FA, seq: 16, ack: 21, after: 10 * time.Microsecond},
		step{from: Client, flags: FA, seq: 16, ack: 21, after: 10 * time.Microsecond},
		step{from: Server, flags: A, seq: 21, ack: 17, client: "FIN_WAIT_2"}), nil},
	{"retransmissions that were answered", with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 200 * time.Millisecond},
		step{from: Server, flags: A, seq: 21, ack: 16},
		step{from: Client, flags: PA, seq: 16, ack: 21, payload: 5},
		step{from: Client, flags: PA, seq: 16, ack: 21, payload: 5, after: 200 * time.Millisecond},
		step{from: Server, flags: A, seq: 21, ack: 21}), nil},
	// The server, at its RST.
	{"data answered by RST: the peer lost the connection", with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
		step{from: Server, flags: R, seq: 21, client: "CLOSED"}),
		[]finding{{HalfOpen, 1, Server, 8}}},
	{"abort", with(established,
		step{from: Client, flags: RA, seq: 11, ack: 21}),
		[]finding{{Reset, 1, Client, 7}}},
	// The server, since it first advertised the zero window.
	{"zero window longer than --stuck", with(established,
		step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
		step{from: Client, flags: A, seq: 10, ack: 21, after: 3 * time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
		step{from: Client, flags: A, seq: 10, ack: 21, after: 3 * time.Second}),
		[]finding{{ZeroWindow, 1, Server, 7}}},
	{"zero window that reopened in time", with(established,
		step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
		step{from: Server, flags: A, seq: 21, ack: 11, after: time.Second}), nil},
	{"invalid flags", with(established,
		step{from: Client, flags: SYN | FIN, seq: 11}),
		[]finding{{InvalidFlags, 1, Client, 7}}},
	{"SYN-ACK acknowledging the wrong ISN", []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 9}},
		[]finding{{BadSequence, 1, Server, 2}}},
	{"RST outside the window", with(established,
		step{from: Server, flags: R, seq: 1 << 30}),
		[]finding{{BadSequence, 1, Server, 7}}},
	{"ACK of data never sent", with(established,
		step{from: Client, flags: A, seq: 11, ack: 5000}),
		[]finding{{BadSequence, 1, Client, 7}}},
}

// TestAnomalies plays each of anomalyCases to the end of input and checks
// every finding. Every row also runs with ISNs across the sequence-space
// edges (see run).
func TestAnomalies(t *testing.T) {
	for _, tc := range anomalyCases {
		t.Run(tc.name, func(t *testing.T) {
			tr := run(t, Config{Thresholds: Thresholds{Stuck: 5 * time.Second}}, tc.steps)
			tr.Finish()
			checkFindings(t, tr, stepTimes(tc.steps), tc.want)
		})
	}
}

func TestPortReuseFinding(t *testing.T) {
	tr := run(t, Config{}, with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Client, flags: FA, seq: 11, ack: 22},
		step{from: Server, flags: A, seq: 22, ack: 12, server: "TIME_WAIT"},
		step{from: Client, flags: S, seq: 100000, after: time.Second},
	))
	tr.Finish()
	c := tr.Conns()[1]
	if !slices.Equal(c.Kinds(), []Kind{PortReuse}) {
		t.Fatalf("kinds %v, want [port_reuse]", c.Kinds())
	}
	if a := tr.Anomalies()[0]; a.Side != Server {
		t.Errorf("side %v, want server (it held TIME_WAIT): %s", a.Side, a.Detail)
	}
}

func TestGroupedPutsThousandsSeparators(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 28232: "28,232", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := Grouped(n); got != want {
			t.Errorf("Grouped(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGroupedTenthsRoundsAndGroups(t *testing.T) {
	for x, want := range map[float64]string{0: "0.0", 152.46: "152.5", 18252.7: "18,252.7", 999.96: "1,000.0"} {
		if got := groupedTenths(x); got != want {
			t.Errorf("groupedTenths(%v) = %q, want %q", x, got, want)
		}
	}
}

// TestRefusedAgainCountsTheRefusals: a connect() tried again with the same
// SYN after each of three RSTs is one connection refused three times; its
// time to RST is the first refusal's.
func TestRefusedAgainCountsTheRefusals(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S},
		{from: Server, flags: RA, ack: 1, after: 50 * time.Millisecond},
		{from: Client, flags: S, after: 500 * time.Millisecond},
		{from: Server, flags: RA, ack: 1, after: 50 * time.Millisecond},
		{from: Client, flags: S, after: 500 * time.Millisecond},
		{from: Server, flags: RA, ack: 1, after: 50 * time.Millisecond}}, 0)
	as := tr.Anomalies()
	if len(as) != 1 || as[0].Kind != ConnectionRefused {
		t.Fatalf("findings %v, want one connection_refused", as)
	}
	if n, s := as[0].Fields["refusals"], as[0].Fields["seconds_to_rst"]; n != 3 || s != 0.05 {
		t.Errorf("refusals %v, seconds_to_rst %v; want 3, 0.05 (%s)", n, s, as[0].Detail)
	}
}

// TestFINIntoSilenceIsOneFinding: a FIN sent four times with not one
// segment back is one finding, unacked_fin, whose sentence and Also name
// the silence (half_open), not two.
func TestFINIntoSilenceIsOneFinding(t *testing.T) {
	tr := play(t, with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 200 * time.Millisecond},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 400 * time.Millisecond},
		step{from: Server, flags: FA, seq: 21, ack: 11, after: 800 * time.Millisecond}), 0)
	as := tr.Anomalies()
	if len(as) != 1 || as[0].Kind != UnackedFin || !slices.Equal(as[0].Also, []Kind{HalfOpen}) || !strings.Contains(as[0].Detail, "black-holed") {
		t.Fatalf("findings %+v; want one unacked_fin, also half_open, naming the silence", as)
	}
}
