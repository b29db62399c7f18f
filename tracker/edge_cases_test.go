package tracker

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// edgeCases are packet sequences that each once gave a wrong state or
// finding, with the outcome they must have.
var edgeCases = []struct {
	name  string
	steps []step
	want  outcome
}{
	{"FIN+ACK acknowledging a FIN reordered behind it at the capture point", with(established,
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 10 * time.Microsecond},
		step{from: Client, flags: A, seq: 12, ack: 22}),
		outcome{1, "TIME_WAIT", "CLOSED", nil}},
	{"black hole: the client's data and its retransmission carry the lost ACK", with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Client, flags: PA, seq: 1, ack: 1, payload: 5, after: 100 * time.Millisecond},
		step{from: Server, flags: SA, ack: 1, after: 4 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Client, flags: PA, seq: 1, ack: 1, payload: 5, after: 300 * time.Millisecond}),
		outcome{1, "ESTABLISHED", "SYN_RCVD", []finding{{HalfOpen, 1, Server, 2}}}},
	{"FIN retransmitted twice, then acknowledged: not unacked", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 400 * time.Millisecond},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22}),
		outcome{1, "TIME_WAIT", "CLOSED", nil}},
	{"data retransmitted three times, then acknowledged: not half-open", with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 200 * time.Millisecond},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 400 * time.Millisecond},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 5, after: 800 * time.Millisecond},
		step{from: Server, flags: A, seq: 21, ack: 16}),
		outcome{1, "ESTABLISHED", "ESTABLISHED", nil}},
	{"mid-stream capture starting with a keepalive and its ACK", []step{
		{from: Client, flags: A, seq: 10, ack: 21},
		{from: Server, flags: A, seq: 21, ack: 11}},
		outcome{1, "ESTABLISHED", "ESTABLISHED", nil}},
	{"ACK in SYN_SENT not acknowledging the SYN is ignored", []step{
		{from: Client, flags: S},
		{from: Server, flags: A, seq: 777, ack: 4242},
		{from: Client, flags: R, seq: 4242},
		{from: Client, flags: S, after: time.Second},
		{from: Server, flags: SA, ack: 1},
		{from: Client, flags: A, seq: 1, ack: 1},
		{from: Client, flags: A, seq: 0, ack: 1, after: 10 * time.Second},
		{from: Server, flags: A, seq: 1, ack: 1}},
		outcome{1, "ESTABLISHED", "ESTABLISHED", nil}},
	// One finding, timed at the first refusal, when its condition began
	// (it counts both).
	{"a refused SYN retried with the same ISN is one connection", []step{
		{from: Client, flags: S},
		{from: Server, flags: RA, ack: 1},
		{from: Client, flags: S, after: time.Second},
		{from: Server, flags: RA, ack: 1},
		{from: Client, flags: S, after: time.Second}},
		outcome{1, "SYN_SENT", "CLOSED", []finding{{ConnectionRefused, 1, Server, 2}}}},
	// Nothing came from the server for the RST to answer: its sender gave
	// up its own attempt (Zeek: RSTOS0).
	{"an RST at the SYN's own sequence number, the server silent, closes the client", []step{
		{from: Client, flags: S},
		{from: Client, flags: R, seq: 0}},
		outcome{1, "CLOSED", "CLOSED", nil}},
	{"a new SYN answered by a SYN-ACK replaces a stale mid-stream connection", []step{
		{from: Client, flags: A, seq: 50, ack: 70},
		{from: Server, flags: A, seq: 70, ack: 50},
		{from: Client, flags: S, seq: 900000, after: 10 * time.Second},
		{from: Server, flags: SA, seq: 300000, ack: 900001},
		{from: Client, flags: A, seq: 900001, ack: 300001},
		{from: Client, flags: PA, seq: 900001, ack: 300001, payload: 10}},
		outcome{2, "ESTABLISHED", "ESTABLISHED", nil}},
	{"a lone ACK before a new SYN is no connection", []step{
		{from: Client, flags: A, seq: 50, ack: 70},
		{from: Client, flags: S, seq: 900000, after: 10 * time.Second},
		{from: Server, flags: SA, seq: 300000, ack: 900001},
		{from: Client, flags: A, seq: 900001, ack: 300001}},
		outcome{1, "ESTABLISHED", "ESTABLISHED", nil}},
	{"RST into TIME_WAIT is not an abort", with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: R, seq: 22, after: 5 * time.Second}),
		outcome{1, "CLOSED", "CLOSED", nil}},
}

// TestEdgeCases plays each of edgeCases to the end of input.
func TestEdgeCases(t *testing.T) {
	for _, tc := range edgeCases {
		t.Run(tc.name, func(t *testing.T) {
			tr := run(t, Config{}, tc.steps)
			tr.Finish()
			expect(t, tr, tc.steps, tc.want)
		})
	}
}

// TestZeroWindowEndsAtRST: a zero window ends with the connection, not at
// the end of the capture: 30 s later (--stuck 10 s) the only finding is
// the abort.
func TestZeroWindowEndsAtRST(t *testing.T) {
	steps := with(established,
		step{from: Server, flags: A, seq: 21, ack: 11, win0: true},
		step{from: Client, flags: RA, seq: 11, ack: 21, after: 2 * time.Second})
	playExpect(t, steps, 30*time.Second, outcome{1, "CLOSED", "CLOSED", []finding{{Reset, 1, Client, 8}}})
}

// TestFinishIsDeterministic: findings made at the end of input come in the
// same order every run, whatever the flow table's hash seed.
func TestFinishIsDeterministic(t *testing.T) {
	var first []Anomaly
	for i := 0; i < 5; i++ {
		tr := New(Config{Thresholds: Thresholds{Stuck: time.Second}})
		now := int64(1_700_000_000) * int64(time.Second)
		for j := 0; j < 50; j++ {
			src, sp := source(j), uint16(2000+j)
			for _, s := range []Segment{
				{Src: src, SrcPort: sp, Dst: target, DstPort: 80, Flags: SYN, Seq: 1},
				{Src: target, SrcPort: 80, Dst: src, DstPort: sp, Flags: SYN | ACK, Seq: 9, Ack: 2},
				{Src: src, SrcPort: sp, Dst: target, DstPort: 80, Flags: ACK, Seq: 2, Ack: 10},
				{Src: src, SrcPort: sp, Dst: target, DstPort: 80, Flags: FIN | ACK, Seq: 2, Ack: 10},
				{Src: target, SrcPort: 80, Dst: src, DstPort: sp, Flags: ACK, Seq: 10, Ack: 3},
			} {
				now += int64(time.Millisecond)
				s.Time, s.Window, s.WScale = now, 1000, -1
				tr.Observe(&s)
			}
		}
		tr.Advance(now + int64(10*time.Second))
		tr.Finish()
		got := tr.Anomalies()
		if len(got) != 50 { // close_wait_stuck, the client's FIN_WAIT_2 within it
			t.Fatalf("%d findings, want 50", len(got))
		}
		if first == nil {
			first = got
		} else if !reflect.DeepEqual(first, got) {
			t.Fatal("findings in a different order")
		}
	}
}

// TestZeroWindowFoundBeforeItOpensSaysHowLongItLasted: a zero window
// found while still closed (a probe's answer, still zero, past --stuck)
// says, once it opens, how long it lasted in all: until it opened.
func TestZeroWindowFoundBeforeItOpensSaysHowLongItLasted(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{Thresholds: Thresholds{Stuck: 5 * time.Second}})
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	send := func(at time.Duration, fromClient bool, f Flags, seq, ack uint32, win uint16) {
		s := Segment{Time: start + int64(at), Src: cli, SrcPort: 40000, Dst: target, DstPort: 80, Flags: f, Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Window: win, WScale: -1}
		if !fromClient {
			s.Src, s.SrcPort, s.Dst, s.DstPort = target, 80, cli, 40000
		}
		tr.Observe(&s)
	}
	send(0, true, SYN, 100, 0, 1000)
	send(time.Millisecond, false, SYN|ACK, 900, 101, 1000)
	send(2*time.Millisecond, true, ACK, 101, 901, 1000)
	send(11*time.Millisecond, false, ACK, 901, 101, 0) // the server's window closes
	for p := 10 * time.Second; p < 130*time.Second; p += 10 * time.Second {
		send(p, true, ACK, 100, 901, 1000)                // a zero-window probe
		send(p+time.Millisecond, false, ACK, 901, 101, 0) // still closed
	}
	send(130*time.Second, false, ACK, 901, 101, 1000) // it opens
	tr.Advance(start + int64(140*time.Second))
	tr.Finish()
	var got []string
	for _, a := range tr.Anomalies() {
		if a.Kind == ZeroWindow {
			got = append(got, fmt.Sprint(a.Detail, " ", a.Fields["seconds"]))
		}
	}
	want := "server 198.18.0.2:80 advertised a zero window for 2m9.989s, stalling the client 129.989"
	if len(got) != 1 || got[0] != want {
		t.Errorf("zero_window findings %q, want %q", got, want)
	}
}
