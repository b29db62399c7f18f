package tracker

import (
	"slices"
	"testing"
	"time"
)

// TestAnomalies plays a script per kind and checks the kinds found after
// Finish, with --stuck at 5 s. Every row also runs with ISNs across the
// sequence-space edges (see run).
func TestAnomalies(t *testing.T) {
	const stuck = 5 * time.Second
	closeFin := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
	)
	tests := []struct {
		name  string
		steps []step
		want  []Kind
	}{
		{"clean close", with(closeFin,
			step{from: Server, flags: FA, seq: 21, ack: 12},
			step{from: Client, flags: A, seq: 12, ack: 22}), nil},
		{"CLOSE_WAIT for less than --stuck", with(closeFin,
			step{from: Client, flags: A, seq: 12, ack: 21, after: 4 * time.Second}), nil},
		{"stuck CLOSE_WAIT and FIN_WAIT_2", with(closeFin,
			step{from: Server, flags: A, seq: 21, ack: 12, after: 6 * time.Second}),
			[]Kind{CloseWaitStuck, FinWait2Stuck}},
		{"CLOSE_WAIT stuck, then closed: still found", with(closeFin,
			step{from: Server, flags: FA, seq: 21, ack: 12, after: 7 * time.Second},
			step{from: Client, flags: A, seq: 12, ack: 22}),
			[]Kind{CloseWaitStuck, FinWait2Stuck}},
		{"half-closed but still sending data: not stuck", with(closeFin,
			step{from: Server, flags: PA, seq: 21, ack: 12, payload: 10, after: 3 * time.Second},
			step{from: Client, flags: A, seq: 12, ack: 31},
			step{from: Server, flags: PA, seq: 31, ack: 12, payload: 10, after: 3 * time.Second},
			step{from: Client, flags: A, seq: 12, ack: 41},
			step{from: Server, flags: PA, seq: 41, ack: 12, payload: 10, after: 3 * time.Second}), nil},
		{"FIN never acknowledged", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 11},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 300 * time.Millisecond},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 600 * time.Millisecond}),
			[]Kind{UnackedFin}},
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
			[]Kind{UnackedFin}},
		{"SYN timeout", []step{
			{from: Client, flags: S},
			{from: Client, flags: S, after: time.Second},
			{from: Client, flags: S, after: 2 * time.Second}},
			[]Kind{SynTimeout}},
		{"refused", []step{
			{from: Client, flags: S},
			{from: Server, flags: RA, ack: 1}},
			[]Kind{ConnectionRefused}},
		{"lost third ACK", with(handshake,
			step{from: Server, flags: SA, ack: 1, after: time.Second},
			step{from: Client, flags: A, seq: 1, ack: 1},
			step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
			step{from: Client, flags: A, seq: 1, ack: 1, server: "SYN_RCVD"}),
			[]Kind{HalfOpen}},
		{"retransmitting into silence", with(established,
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 200 * time.Millisecond},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 400 * time.Millisecond},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 800 * time.Millisecond}),
			[]Kind{HalfOpen}},
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
		{"data answered by RST: the peer lost the connection", with(established,
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
			step{from: Server, flags: R, seq: 21, client: "CLOSED"}),
			[]Kind{HalfOpen}},
		{"abort", with(established,
			step{from: Client, flags: RA, seq: 11, ack: 21}),
			[]Kind{Reset}},
		{"zero window longer than --stuck", with(established,
			step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
			step{from: Client, flags: A, seq: 10, ack: 21, after: 3 * time.Second},
			step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
			step{from: Client, flags: A, seq: 10, ack: 21, after: 3 * time.Second}),
			[]Kind{ZeroWindow}},
		{"zero window that reopened in time", with(established,
			step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
			step{from: Server, flags: A, seq: 21, ack: 11, after: time.Second}), nil},
		{"invalid flags", with(established,
			step{from: Client, flags: SYN | FIN, seq: 11}),
			[]Kind{InvalidFlags}},
		{"SYN-ACK acknowledging the wrong ISN", []step{
			{from: Client, flags: S},
			{from: Server, flags: SA, ack: 9}},
			[]Kind{BadSequence}},
		{"RST outside the window", with(established,
			step{from: Server, flags: R, seq: 1 << 30}),
			[]Kind{BadSequence}},
		{"ACK of data never sent", with(established,
			step{from: Client, flags: A, seq: 11, ack: 5000}),
			[]Kind{BadSequence}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := run(t, Config{Thresholds: Thresholds{Stuck: stuck}}, tc.steps)
			tr.Finish()
			got := tr.Conns()[len(tr.Conns())-1].Kinds()
			if !slices.Equal(got, tc.want) {
				t.Errorf("kinds %v, want %v", got, tc.want)
				for _, a := range tr.Anomalies() {
					t.Logf("  %v: %s", a.Kind, a.Detail)
				}
			}
			for _, a := range tr.Anomalies() {
				if a.Detail == "" || a.Time == 0 || !a.Target.IsValid() {
					t.Errorf("incomplete finding %+v", a)
				}
			}
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
