package tracker

import (
	"testing"
	"time"
)

// A 4-tuple used again: a SYN after the connection ended, or a SYN with a
// new ISN on a live connection, held aside until it proves to open a new
// connection (README, "How states are inferred").

// TestSameISNSYNAfterCloseOpensNewConnection: a SYN with the old ISN 5 s
// after a clean close (a stack with a fixed ISN, or a scanner) is a new
// connection, while the client still holds the old one in TIME_WAIT.
func TestSameISNSYNAfterCloseOpensNewConnection(t *testing.T) {
	steps := with(closed,
		step{from: Client, flags: S, after: 5 * time.Second},
		step{from: Server, flags: SA, seq: 50000, ack: 1},
		step{from: Client, flags: A, seq: 1, ack: 50001},
		step{from: Client, flags: PA, seq: 1, ack: 50001, payload: 5})
	playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", []finding{{PortReuse, 2, Client, 10}}})
}

// TestSameISNSYNAfterAbortOpensNewConnection: the same after an RST abort.
func TestSameISNSYNAfterAbortOpensNewConnection(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: RA, seq: 11, ack: 21},
		step{from: Client, flags: S, after: 5 * time.Second},
		step{from: Server, flags: SA, seq: 50000, ack: 1},
		step{from: Client, flags: A, seq: 1, ack: 50001})
	playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", []finding{{Reset, 1, Client, 7}}})
}

// TestScannerRetryWithSameISNIsNewConnection: a scanner (masscan, zmap: the
// ISN fixed per 4-tuple) resets the SYN-ACK and tries again with the same
// SYN: a second connection, and the second SYN-ACK's new ISN contradicts
// nothing.
func TestScannerRetryWithSameISNIsNewConnection(t *testing.T) {
	steps := []step{
		{from: Client, flags: S},
		{from: Server, flags: SA, ack: 1},
		{from: Client, flags: R, seq: 1, client: "CLOSED", server: "CLOSED"},
		{from: Client, flags: S, after: time.Second},
		{from: Server, flags: SA, seq: 70000, ack: 1, client: "ESTABLISHED", server: "SYN_RCVD"},
		{from: Client, flags: R, seq: 1},
	}
	playExpect(t, steps, 0, outcome{2, "CLOSED", "CLOSED", nil})
}

// TestHeldSYNOpensConnectionAfterChallengeACKAndRST: a restarted client's
// SYN with a new ISN draws a challenge ACK from the live server (RFC 5961
// §4), which the client answers with an RST that closes the old connection;
// the retransmitted SYN then opens the new one.
func TestHeldSYNOpensConnectionAfterChallengeACKAndRST(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: S, seq: 777777, after: time.Second},
		step{from: Server, flags: A, seq: 21, ack: 11}, // challenge ACK
		step{from: Client, flags: R, seq: 11},          // RST at the challenge ACK's acknowledgment
		step{from: Client, flags: S, seq: 777777, after: time.Second},
		step{from: Server, flags: SA, seq: 90000, ack: 777778},
		step{from: Client, flags: A, seq: 777778, ack: 90001})
	tr := playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", []finding{{Reset, 1, Client, 9}}})
	if old := tr.Conns()[0]; old.State(Client) != Closed || old.State(Server) != Closed {
		t.Errorf("old connection %v/%v, want CLOSED/CLOSED", old.State(Client), old.State(Server))
	}
}

// TestReplacingSYNCountedOnNewConnectionOnly: a held-aside SYN that opens a
// new connection counts as a packet of the new connection, not the old.
func TestReplacingSYNCountedOnNewConnectionOnly(t *testing.T) {
	steps := []step{
		{from: Client, flags: A, seq: 50, ack: 70},
		{from: Server, flags: A, seq: 70, ack: 50},
		{from: Client, flags: S, seq: 900000, after: 10 * time.Second},
		{from: Server, flags: SA, seq: 300000, ack: 900001},
		{from: Client, flags: A, seq: 900001, ack: 300001},
	}
	tr := playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", nil})
	old, nw := tr.Conns()[0], tr.Conns()[1]
	if got := [4]uint64{old.Half(Client).Packets(), old.Half(Server).Packets(), nw.Half(Client).Packets(), nw.Half(Server).Packets()}; got != [4]uint64{1, 1, 2, 1} {
		t.Errorf("packets old %d/%d, new %d/%d; want old 1/1, new 2/1", got[0], got[1], got[2], got[3])
	}
}

// TestNewConnectionBeginsAtFirstHeldSYN: the new socket's first SYN got no
// answer the capture saw (lost past the capture point) and its
// retransmission is answered by a SYN-ACK: the new connection began with
// the first SYN and holds both SYNs; the old one counts neither.
func TestNewConnectionBeginsAtFirstHeldSYN(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: S, seq: 900000, after: 10 * time.Second},
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001})
	tr := playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", nil})
	old, nw := tr.Conns()[0], tr.Conns()[1]
	if old.State(Client) != Closed || old.State(Server) != Closed {
		t.Errorf("old connection %v/%v, want CLOSED/CLOSED (superseded)", old.State(Client), old.State(Server))
	}
	if old.Half(Client).Packets() != 4 || nw.Half(Client).Packets() != 3 {
		t.Errorf("client packets: old %d, new %d; want 4, 3", old.Half(Client).Packets(), nw.Half(Client).Packets())
	}
	if first := stepTimes(steps)[6]; nw.First != first {
		t.Errorf("new connection began at %d, want %d (its first SYN)", nw.First, first)
	}
	if old.BadSeq != 0 {
		t.Errorf("old connection BadSeq %d: the replacing SYNs were not its own", old.BadSeq)
	}
}

// TestPortReuseAfterLastAckClosedByNewSocketsRST: the client's TIME_WAIT
// is reused (tcp_tw_reuse) while the server is still in LAST_ACK (the
// client's last ACK was lost before the capture point). The server answers
// the SYN with a challenge ACK, the new socket's RST closes the server, and
// the SYN is retransmitted. As with a SYN after the server's ACK, the
// client held the previous connection in TIME_WAIT: port_reuse, timed at
// the first SYN, where the new connection begins.
func TestPortReuseAfterLastAckClosedByNewSocketsRST(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: S, seq: 900000, after: time.Second, client: "TIME_WAIT", server: "LAST_ACK"},
		step{from: Server, flags: A, seq: 22, ack: 12}, // challenge ACK (RFC 5961 §4)
		step{from: Client, flags: R, seq: 12},          // the new socket: RST seq = that ACK
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001})
	tr := playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", []finding{{PortReuse, 2, Client, 9}}})
	checkTimeOrder(t, tr)
}

// TestPortReuseWhenHeldSYNRetransmittedIntoTimeWait: a SYN with a new ISN
// (another host behind the same NAT mapping, or a restarted client) arrives
// while the server is in FIN_WAIT_2 and draws a challenge ACK; the old
// connection then closes normally (server TIME_WAIT); the retransmitted SYN
// is accepted by the server's TIME_WAIT (RFC 6191): port_reuse by the
// server, as when the first SYN comes after the close.
func TestPortReuseWhenHeldSYNRetransmittedIntoTimeWait(t *testing.T) {
	steps := with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Client, flags: A, seq: 11, ack: 22},
		step{from: Client, flags: S, seq: 900000, after: 500 * time.Millisecond},
		step{from: Server, flags: A, seq: 22, ack: 11}, // challenge ACK
		step{from: Client, flags: FA, seq: 11, ack: 22, after: 100 * time.Millisecond},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "CLOSED", server: "TIME_WAIT"},
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001})
	tr := playExpect(t, steps, 0, outcome{2, "ESTABLISHED", "ESTABLISHED", []finding{{PortReuse, 2, Server, 9}}})
	checkTimeOrder(t, tr)
}

// checkTimeOrder checks that no connection's transitions go back in time.
func checkTimeOrder(t *testing.T, tr *Tracker) {
	t.Helper()
	for _, c := range tr.Conns() {
		var last int64
		for _, x := range c.Transitions() {
			if x.Time < last {
				t.Errorf("conn #%d: transition at pkt %d (%v %v→%v) goes back in time\n%s", c.ID, x.Packet, x.Side, x.From, x.To, timeline(c))
			}
			last = x.Time
		}
	}
}

// TestLoneRSTIsNoConnection: an RST for a 4-tuple the tracker does not
// follow opens nothing: it is held as a lone segment, counted at the end
// as never answered, and a later handshake on the 4-tuple is the only
// connection.
func TestLoneRSTIsNoConnection(t *testing.T) {
	tr := run(t, Config{}, []step{{from: Client, flags: R, seq: 5}})
	tr.Finish()
	if n := len(tr.Conns()); n != 0 || tr.Active() != 0 {
		t.Errorf("lone RST: %d connections, %d in the table; want none", n, tr.Active())
	}
	if got := tr.Lone(); got != (LoneStats{Segments: 1, Tuples: 1}) {
		t.Errorf("lone segments %+v, want 1 to 1 4-tuple", got)
	}

	steps := with([]step{{from: Client, flags: R, seq: 5}, {from: Client, flags: S, after: time.Second}}, handshake[1:]...)
	tr = play(t, steps, 0)
	expect(t, tr, steps, outcome{1, "ESTABLISHED", "ESTABLISHED", nil})
}
