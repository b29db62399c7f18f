package tracker

import (
	"testing"
	"time"
)

// R1: FIN retransmitted into silence, then an abort RST at snd.nxt (FIN+1).
// Linux server: ESTABLISHED (FIN never arrived: RST challenged) or CLOSED
// (FIN arrived, RST seq == rcv_nxt accepted). Never CLOSE_WAIT.
func TestR3FinRtxThenAbort(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 400 * time.Millisecond},
		step{from: Client, flags: RA, seq: 12, ack: 21, after: 100 * time.Millisecond},
	), 0)
	dump(t, tr)
	c := tr.Conns()[0]
	if c.State(Server) == CloseWait {
		t.Errorf("server left in CLOSE_WAIT: it received the FIN (CLOSE_WAIT) yet the RST at FIN+1 was judged as if it did not")
	}
}

// R3: RST at snd.nxt after a tail-loss-probe retransmission, the receiver's
// ACK of the original (sent before the RST arrived) seen after the RST.
// Linux: data delivered, RST seq == rcv_nxt: accepted.
func TestR3RSTRacingAck(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10},
		step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 30 * time.Millisecond}, // TLP
		step{from: Client, flags: RA, seq: 21, ack: 21, after: time.Millisecond},
		step{from: Server, flags: A, seq: 21, ack: 21, after: 10 * time.Microsecond}, // ACK sent before the RST arrived
	), 0)
	dump(t, tr)
	expect(t, tr, outcome{1, "CLOSED", "CLOSED", map[Kind]int{Reset: 1}})
}

// R4: heal after the server gave up. Firewall drops the third ACK for the
// whole capture; the server retransmits its SYN-ACK tcp_synack_retries (5)
// times, then drops the request sock ~63 s after the SYN. Linux: no socket
// on the server (CLOSED); the operator wants half_open.
func TestR3HealAfterSynAckRetriesExhausted(t *testing.T) {
	steps := handshake
	gap := time.Second
	for i := 0; i < 5; i++ {
		steps = with(steps,
			step{from: Server, flags: SA, ack: 1, after: gap},
			step{from: Client, flags: A, seq: 1, ack: 1})
		gap *= 2
	}
	tr := play(t, steps, 40*time.Second)
	dump(t, tr)
	c := tr.Conns()[0]
	if c.State(Server) == Established || tr.AnomalyCounts()[HalfOpen] == 0 {
		t.Errorf("server %v, findings %v: the server gave up after 5 SYN-ACK retransmissions; heal calls it ESTABLISHED and drops half_open",
			c.State(Server), tr.AnomalyCounts())
	}
}

// R4b: the same with an orphaned FIN_WAIT_1 socket whose FIN ACKs are
// black-holed: tcp_orphan_retries (8) retransmissions, then the socket is
// destroyed. Linux: client CLOSED; heal says FIN_WAIT_2 and drops unacked_fin.
func TestR3HealAfterOrphanFinRetriesExhausted(t *testing.T) {
	steps := with(established, step{from: Client, flags: FA, seq: 11, ack: 21}, step{from: Server, flags: A, seq: 21, ack: 12})
	gap := 200 * time.Millisecond
	for i := 0; i < 8; i++ {
		steps = with(steps,
			step{from: Client, flags: FA, seq: 11, ack: 21, after: gap},
			step{from: Server, flags: A, seq: 21, ack: 12})
		gap *= 2
	}
	tr := play(t, steps, 60*time.Second)
	dump(t, tr)
	c := tr.Conns()[0]
	if c.State(Client) == FinWait2 || tr.AnomalyCounts()[UnackedFin] == 0 {
		t.Errorf("client %v, findings %v", c.State(Client), tr.AnomalyCounts())
	}
}

// R5: live sweep right after twice the last backoff: the next SYN-ACK
// retransmission is due exactly then (backoff doubles), a few ms late.
func TestR3LiveHealRacesNextRetransmission(t *testing.T) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	mk := func(from Side, flags Flags, seq, ack uint32) Segment {
		return testSeg(isnPairs[0], from, flags, seq, ack, 0)
	}
	feed := func(at time.Duration, s Segment) { s.Time = now + int64(at); tr.Observe(&s) }
	ms := time.Millisecond
	feed(0, mk(Client, S, 0, 0))
	feed(1*ms, mk(Server, SA, 0, 1))
	feed(2*ms, mk(Client, A, 1, 1))
	for _, at := range []time.Duration{1001, 3001, 7001} { // Linux: 1, 2, 4 s backoff
		feed(at*ms, mk(Server, SA, 0, 1))
		feed((at+1)*ms, mk(Client, A, 1, 1))
	}
	// next retransmission due at 15001 ms; the sweep runs at 15003 ms, the
	// retransmission arrives at 15006 ms (timer slack).
	tr.Advance(now + int64(15003*ms))
	tr.Sweep()
	c := tr.Conns()[0]
	healed := c.State(Server) == Established
	feed(15006*ms, mk(Server, SA, 0, 1))
	feed(15007*ms, mk(Client, A, 1, 1))
	dump(t, tr)
	if healed {
		t.Errorf("live sweep healed the black hole 2 ms after twice the backoff; the server retransmitted 3 ms later; state now %v", c.State(Server))
	}
}
