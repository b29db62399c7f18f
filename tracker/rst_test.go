package tracker

import (
	"testing"
	"time"
)

// RSTs that Linux accepts or only challenges (RFC 5961 §3.2,
// tcp_validate_incoming): README, "How states are inferred".

// TestAbortAfterLostFIN: the client retransmits its FIN twice into silence
// (it never arrived: the server would have acknowledged it), then aborts
// with an RST at snd.nxt, FIN+1. The server's rcv.nxt is still the FIN's
// sequence number, so it only challenges the RST and stays ESTABLISHED
// (never CLOSE_WAIT: it did not receive the FIN); the client is gone. Two
// minutes later (--stuck 10 s) nothing is stuck: the server never entered
// CLOSE_WAIT, and the client's unacknowledged FIN ended with its abort.
func TestAbortAfterLostFIN(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 400 * time.Millisecond},
		step{from: Client, flags: RA, seq: 12, ack: 21, after: 100 * time.Millisecond})
	for _, advance := range []time.Duration{0, 2 * time.Minute} {
		t.Run(advance.String()+" later", func(t *testing.T) {
			tr := playExpect(t, steps, advance, outcome{1, "CLOSED", "ESTABLISHED", nil})
			if c := tr.Conns()[0]; c.ChallengedRST != 1 {
				t.Errorf("%d RSTs challenged, want 1", c.ChallengedRST)
			}
		})
	}
}

// TestRSTAtSndNxtAcceptedDespiteLateACK: an RST at snd.nxt after a
// tail-loss-probe retransmission, the server's ACK of the original (sent
// before the RST arrived) seen after the RST. Linux: the data was
// delivered, the RST's sequence number is rcv.nxt: accepted.
func TestRSTAtSndNxtAcceptedDespiteLateACK(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 30 * time.Millisecond}, // tail-loss probe
		step{from: Client, flags: RA, seq: 21, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 21, after: 10 * time.Microsecond}) // sent before the RST arrived
	playExpect(t, steps, 0, outcome{1, "CLOSED", "CLOSED", []finding{{Reset, 1, Client, 9}}})
}

// TestRSTAnsweringRetransmittedFINIsNotAnAbort: the server in LAST_ACK
// retransmits its FIN (the client's last ACK was lost) and the client's
// end, its TIME_WAIT gone, answers with an RST at the server's rcv.nxt:
// the server closes, and nothing was aborted.
func TestRSTAnsweringRetransmittedFINIsNotAnAbort(t *testing.T) {
	steps := with(closed,
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 300 * time.Millisecond, server: "LAST_ACK"},
		step{from: Client, flags: R, seq: 12})
	playExpect(t, steps, 0, outcome{1, "CLOSED", "CLOSED", nil})
}

// TestRSTAtRetransmittedDataAborts: the client sends data the server never
// acknowledges, retransmits it on its timer (from snd.una, where the
// server's last ACK left it), gives up and aborts with an RST at that
// sequence number, the server's rcv.nxt: both sides are CLOSED, whether
// the server's segments were captured or not (one direction only). One
// retransmission (a tail-loss probe, whose ACK may be on its way) is not
// proof that the server got no further, so after it the RST is only
// challenged.
func TestRSTAtRetransmittedDataAborts(t *testing.T) {
	rtx := func(after time.Duration) step {
		return step{from: Client, flags: PA, seq: 11, ack: 21, payload: 15, after: after}
	}
	abort := step{from: Client, flags: R, seq: 11, after: 2 * time.Second}
	for _, tc := range []struct {
		name   string
		steps  []step
		oneWay bool // keep the client's segments only
		want   outcome
	}{
		{"client's segments only", with(established, rtx(0), rtx(200*time.Millisecond), rtx(400*time.Millisecond), rtx(800*time.Millisecond), abort),
			true, outcome{1, "CLOSED", "CLOSED", []finding{{Reset, 1, Client, 9}}}},
		{"both directions", with(established, rtx(0), rtx(200*time.Millisecond), rtx(400*time.Millisecond), rtx(800*time.Millisecond), abort),
			false, outcome{1, "CLOSED", "CLOSED", []finding{{Reset, 1, Client, 11}}}},
		{"after a single retransmission", with(established, rtx(0), rtx(200*time.Millisecond), abort),
			true, outcome{1, "ESTABLISHED", "ESTABLISHED", nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := tc.steps
			if tc.oneWay {
				steps = nil
				for _, s := range tc.steps {
					if s.from == Client {
						s.client, s.server = "", ""
						steps = append(steps, s)
					}
				}
			}
			playExpect(t, steps, 0, tc.want)
		})
	}
}
