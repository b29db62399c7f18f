package tracker

import (
	"testing"
	"time"
)

// An ACK proven lost twice (its receiver retransmitted what it
// acknowledged): the path is a black hole until the receiver hears from its
// peer again, or stops retransmitting (the path healed), or falls silent
// after Linux's last retry (it gave up). README, "How states are inferred".

// TestBlackHoledACKHealsWhenRetransmissionsStop: the server retransmits
// its SYN-ACK twice after the client's ACK, then stops for 60 s: the last
// ACK arrived (the kernel: ESTABLISHED on both sides).
func TestBlackHoledACKHealsWhenRetransmissionsStop(t *testing.T) {
	steps := with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1, server: "SYN_RCVD"})
	playExpect(t, steps, 60*time.Second, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// TestLastAckHealsWhenFINRetransmissionsStop: in LAST_ACK the server
// retransmits its FIN twice after the client's ACK, then stops: the last ACK
// arrived (server CLOSED).
func TestLastAckHealsWhenFINRetransmissionsStop(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 200 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: FA, seq: 21, ack: 12, after: 400 * time.Millisecond},
		step{from: Client, flags: A, seq: 12, ack: 22, server: "LAST_ACK"})
	playExpect(t, steps, 30*time.Second, outcome{1, "TIME_WAIT", "CLOSED", nil})
}

// TestServerDataDuringBlackHoleIsEstablished: data from the server after
// its second SYN-ACK retransmission shows that one of the client's ACKs
// arrived after all: a Linux socket in SYN_RCVD sends no data unless the
// client's SYN carried Fast Open data. The handshake completed; nothing is
// half open.
func TestServerDataDuringBlackHoleIsEstablished(t *testing.T) {
	steps := with(handshake,
		step{from: Server, flags: SA, ack: 1, after: time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
		step{from: Client, flags: A, seq: 1, ack: 1},
		step{from: Server, flags: PA, seq: 1, ack: 1, payload: 10, after: 100 * time.Millisecond})
	playExpect(t, steps, 0, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}

// TestServerGivesUpAfterSynAckRetries: a firewall drops the third ACK for
// the whole capture; the server retransmits its SYN-ACK tcp_synack_retries
// (5) times, then drops the request ~63 s after the SYN. Linux: no socket
// on the server (CLOSED), and the handshake was half open.
func TestServerGivesUpAfterSynAckRetries(t *testing.T) {
	steps := handshake
	gap := time.Second
	for range 5 { // tcp_synack_retries
		steps = with(steps,
			step{from: Server, flags: SA, ack: 1, after: gap},
			step{from: Client, flags: A, seq: 1, ack: 1})
		gap *= 2
	}
	playExpect(t, steps, 40*time.Second, outcome{1, "ESTABLISHED", "CLOSED", []finding{{HalfOpen, 1, Server, 2}}})
}

// TestOrphanGivesUpAfterFINRetries: an orphaned FIN_WAIT_1 socket whose
// FIN's ACKs are black-holed retransmits it tcp_orphan_retries (8) times,
// then is destroyed. Linux: client CLOSED; the server, whose application
// never closes, stays in CLOSE_WAIT. The client's FIN was never
// acknowledged as far as it knew (unacked_fin), and the server is stuck.
func TestOrphanGivesUpAfterFINRetries(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12})
	gap := 200 * time.Millisecond
	for range 8 { // tcp_orphan_retries (0 means 8)
		steps = with(steps,
			step{from: Client, flags: FA, seq: 11, ack: 21, after: gap},
			step{from: Server, flags: A, seq: 21, ack: 12})
		gap *= 2
	}
	playExpect(t, steps, 60*time.Second, outcome{1, "CLOSED", "CLOSE_WAIT", []finding{{UnackedFin, 1, Client, 7}, {CloseWaitStuck, 1, Server, 7}}})
}
