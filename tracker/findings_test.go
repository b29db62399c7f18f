package tracker

import (
	"strings"
	"testing"
	"time"
)

// How findings are kept: judged late when the evidence is late, once per
// kind and side, their sentences brought up to date only by their own
// detector.

// TestOverAckFoundAfterConnectionLeavesTable: an acknowledgment of data
// never sent is judged at the end of input, and still when the connection
// left the table earlier (2×MSL after its close, or superseded by a new
// connection on its 4-tuple).
func TestOverAckFoundAfterConnectionLeavesTable(t *testing.T) {
	steps := with(established,
		step{from: Server, flags: A, seq: 21, ack: 5000}, // acknowledges 5000 bytes never sent
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22})
	overAck := finding{BadSequence, 1, Server, 7}
	t.Run("end right away", func(t *testing.T) {
		playExpect(t, steps, 0, outcome{1, "TIME_WAIT", "CLOSED", []finding{overAck}})
	})
	t.Run("capture goes on 2 min", func(t *testing.T) {
		tr := playExpect(t, steps, 2*time.Minute, outcome{1, "CLOSED", "CLOSED", []finding{overAck}})
		if tr.Active() != 0 {
			t.Errorf("%d connections still in the table", tr.Active())
		}
	})
	t.Run("port reused", func(t *testing.T) {
		steps := with(steps, step{from: Client, flags: S, seq: 900000, after: 2 * time.Second})
		playExpect(t, steps, 0, outcome{2, "SYN_SENT", "CLOSED", []finding{overAck, {PortReuse, 2, Client, 11}}})
	})
}

// TestRefreshKeepsAnotherDetectorsSentence: the client's RST outside the
// window is a bad_sequence finding made at once; its later over-ack is
// bad_sequence too, for the same side, so it makes no second finding, and
// the end-of-input refresh of the over-ack detector must not rewrite the
// RST finding's sentence, whether the two come close together or not.
func TestRefreshKeepsAnotherDetectorsSentence(t *testing.T) {
	for _, gap := range []time.Duration{time.Millisecond, 5 * time.Second} {
		t.Run(gap.String(), func(t *testing.T) {
			steps := with(established,
				step{from: Client, flags: R, seq: 900000},
				step{from: Client, flags: A, seq: 11, ack: 9000, after: gap})
			tr := playExpect(t, steps, 0, outcome{1, "ESTABLISHED", "ESTABLISHED", []finding{{BadSequence, 1, Client, 7}}})
			if d := tr.Anomalies()[0].Detail; !strings.Contains(d, "sent an RST") {
				t.Errorf("the RST's finding now says %q", d)
			}
		})
	}
}

// TestOverAckIsNotAReorderedFIN: a FIN counts as reordered behind its ACK
// only if that ACK is exactly FIN+1; an ACK far beyond the client's data
// does not acknowledge the client's FIN that follows, and the over-ack is
// bad_sequence. (The FIN, never retransmitted before the input ended, is
// taken as acknowledged at the end, by silence alone.)
func TestOverAckIsNotAReorderedFIN(t *testing.T) {
	steps := with(established,
		step{from: Server, flags: A, seq: 21, ack: 100},
		step{from: Client, flags: FA, seq: 11, ack: 21})
	tr := playExpect(t, steps, 0, outcome{1, "FIN_WAIT_2", "CLOSE_WAIT", []finding{{BadSequence, 1, Server, 7}}})
	if last, _ := tr.Conns()[0].LastTransition(); last.Packet != 0 || !strings.Contains(last.Why, "taken as acknowledged") {
		t.Errorf("FIN_WAIT_2 from %q at packet %d; want the silence rule", last.Why, last.Packet)
	}
}
