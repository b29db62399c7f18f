package tracker

import (
	"testing"
	"time"
)

// TestHandshakeTSecrChecks: a segment acknowledging the SYN of a side in
// SYN_SENT with a TSecr that is no timestamp that side sent (older than
// its SYN, or later than its clock can have run) is dropped, as Linux drops
// it (PAWSActiveRejected): a forged RST refuses nothing, a forged FIN-ACK
// is answered by an RST at its ACK that ends nothing, and the real SYN-ACK
// opens the connection after them. A TSecr that echoes the SYN, one of 0,
// or one a little older than the first SYN captured (a SYN the capture
// missed) is taken, as is anything when the SYN carried no timestamps.
func TestHandshakeTSecrChecks(t *testing.T) {
	const synTS = 2_000_000_000
	syn := step{from: Client, flags: S, tsval: synTS}
	synAck := step{from: Server, flags: SA, ack: 1, tsval: 77, tsecr: synTS}
	ack := step{from: Client, flags: A, seq: 1, ack: 1, tsval: synTS + 60, tsecr: 77}
	rst := func(tsecr uint32) step { return step{from: Server, flags: RA, ack: 1, tsval: 100, tsecr: tsecr} }
	refused := outcome{1, "CLOSED", "CLOSED", []finding{{ConnectionRefused, 1, Server, 2}}}
	for _, tc := range []struct {
		name  string
		steps []step
		want  outcome
	}{
		{"an RST with a TSecr older than the SYN is dropped; the SYN-ACK after it opens the connection",
			[]step{syn, rst(100), synAck, ack}, outcome{1, "ESTABLISHED", "ESTABLISHED", []finding{{BadSequence, 1, Server, 2}}}},
		{"a FIN-ACK with a TSecr older than the SYN is dropped, and the RST answering it at its ACK ends nothing",
			[]step{syn, {from: Server, flags: FA, seq: 1, ack: 1, tsval: 100, tsecr: 100}, {from: Client, flags: R, seq: 1}, synAck, ack},
			outcome{1, "ESTABLISHED", "ESTABLISHED", []finding{{BadSequence, 1, Server, 2}}}},
		{"an RST with a TSecr later than the client's clock can have run is dropped",
			[]step{syn, rst(synTS + 5_000_000)}, outcome{1, "SYN_SENT", "CLOSED", []finding{{BadSequence, 1, Server, 2}}}},
		{"an RST echoing the SYN's TSval refuses the connection", []step{syn, rst(synTS)}, refused},
		{"an RST with a TSecr of 0 is not checked", []step{syn, rst(0)}, refused},
		{"an RST echoing the SYN is taken though the capture's clock stepped back 2 s",
			[]step{syn, {from: Server, flags: RA, ack: 1, tsval: 100, tsecr: synTS, after: -2 * time.Second}}, refused},
		{"an RST echoing an earlier SYN the capture missed refuses the connection", []step{syn, rst(synTS - 3000)}, refused},
		{"an RST to a SYN without timestamps is not checked", []step{{from: Client, flags: S}, rst(100)}, refused},
		{"a SYN-ACK echoing an earlier SYN the capture missed opens the connection",
			[]step{syn, {from: Server, flags: SA, ack: 1, tsval: 77, tsecr: synTS - 1000, after: time.Second}, ack},
			outcome{1, "ESTABLISHED", "ESTABLISHED", nil}},
	} {
		t.Run(tc.name, func(t *testing.T) { playExpect(t, tc.steps, 0, tc.want) })
	}
}
