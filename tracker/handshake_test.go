package tracker

import (
	"testing"
	"time"
)

// Openings that stray from the three-way handshake: a SYN-ACK the capture
// missed, Fast Open, simultaneous open, a SYN retransmission crossing the
// SYN-ACK.

// TestFastOpenSYNWithMissedSynAck: a Fast Open SYN carries 100 bytes; the
// SYN-ACK acknowledging them is not captured; the client's ACK proves it
// arrived (RFC 7413 §4.2).
func TestFastOpenSYNWithMissedSynAck(t *testing.T) {
	steps := []step{
		{from: Client, flags: S, payload: 100},
		{from: Client, flags: A, seq: 101, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
		{from: Server, flags: PA, seq: 1, ack: 101, payload: 50},
		{from: Client, flags: A, seq: 101, ack: 51},
	}
	playExpect(t, steps, 0, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// TestACKFromSynSentInfersMissedSynAck: a side in SYN_SENT sends nothing
// but SYNs and RSTs, so its ACK proves it received a SYN-ACK the capture
// missed, and, acknowledging that SYN-ACK, completes the handshake; the
// connection then runs and closes normally.
func TestACKFromSynSentInfersMissedSynAck(t *testing.T) {
	steps := []step{
		{from: Client, flags: S},
		{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
		{from: Client, flags: PA, seq: 1, ack: 1, payload: 10},
		{from: Server, flags: PA, seq: 1, ack: 11, payload: 50, client: "ESTABLISHED", server: "ESTABLISHED"},
		{from: Client, flags: FA, seq: 11, ack: 51},
		{from: Server, flags: FA, seq: 51, ack: 12},
		{from: Client, flags: A, seq: 12, ack: 52},
	}
	playExpect(t, steps, 0, outcome{1, "TIME_WAIT", "CLOSED", nil})
}

// TestSimultaneousOpenThenData: both SYNs cross, both sides answer with a
// SYN-ACK (RFC 793 §3.4 figure 8), then data flows.
func TestSimultaneousOpenThenData(t *testing.T) {
	steps := []step{
		{from: Client, flags: S},
		{from: Server, flags: S, client: "SYN_RCVD", server: "SYN_RCVD"},
		{from: Server, flags: SA, ack: 1},
		{from: Client, flags: SA, ack: 1},
		{from: Client, flags: PA, seq: 1, ack: 1, payload: 10},
		{from: Server, flags: A, seq: 1, ack: 11},
	}
	playExpect(t, steps, 0, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// TestSYNRetransmissionCrossingSynAck: the client's SYN retransmission
// crosses the late SYN-ACK; the server acknowledges the duplicate SYN and
// the client's ACK completes the handshake.
func TestSYNRetransmissionCrossingSynAck(t *testing.T) {
	steps := []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 1, after: 990 * time.Millisecond},
		{from: Client, flags: S, after: 10 * time.Millisecond, client: "SYN_SENT", server: "SYN_RCVD"}, // crossed
		{from: Server, flags: A, seq: 1, ack: 1},
		{from: Client, flags: A, seq: 1, ack: 1},
	}
	playExpect(t, steps, 0, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}
