package tracker

import (
	"testing"
	"time"
)

// P1: the new socket's first SYN got no answer the capture saw (lost past
// the capture point), its retransmission is answered by a SYN-ACK: the new
// connection began with the first SYN, and has both SYNs.
func TestR3PendingSynRetransmittedBeforeSynAck(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: S, seq: 900000, after: 10 * time.Second},
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001},
	), 0)
	dump(t, tr)
	cs := tr.Conns()
	old, nw := cs[0], cs[1]
	if old.Half(Client).Packets() != 4 || nw.Half(Client).Packets() != 3 || nw.First != old.Last+int64(10*time.Second)-int64(time.Millisecond)+int64(time.Millisecond) {
		t.Errorf("old client packets %d (want 4), new client packets %d (want 3), new First-old Last %v (want 10s)",
			old.Half(Client).Packets(), nw.Half(Client).Packets(), time.Duration(nw.First-old.Last))
	}
	if old.BadSeq != 0 {
		t.Errorf("old connection BadSeq %d: the replacing SYNs were not its own", old.BadSeq)
	}
}

// P2: the client's TIME_WAIT is reused (tcp_tw_reuse) while the server is in
// LAST_ACK (its last ACK was lost): challenge ACK, the new socket's RST closes
// the server, then the SYN is retransmitted. Same situation as a SYN after the
// server's ACK: port_reuse.
func TestR3PendingEndedPathPortReuse(t *testing.T) {
	steps := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		// the client's last ACK is lost before the capture point
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: A, seq: 22, ack: 12}, // challenge ACK (RFC 5961 §4)
		step{from: Client, flags: R, seq: 12},          // new socket: RST seq = ACK
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001})
	tr := play(t, steps, 0)
	dump(t, tr)
	// compare: the same without the LAST_ACK detour
	ref := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001}), 0)
	if got, want := tr.AnomalyCounts()[PortReuse], ref.AnomalyCounts()[PortReuse]; got != want {
		t.Errorf("port_reuse %d via the pending path, %d via startsNew", got, want)
	}
	for _, c := range tr.Conns() {
		var last int64
		for _, x := range c.Transitions() {
			if x.Time < last {
				t.Errorf("conn #%d: transition at pkt %d goes back in time", c.ID, x.Packet)
			}
			last = x.Time
		}
	}
}

// P3: a new-ISN SYN (another host behind the same NAT mapping, or a
// restarted client) arrives while the server is in FIN_WAIT_2; it draws a
// challenge ACK; the old connection then closes normally (server TIME_WAIT);
// the SYN is retransmitted and the server's TIME_WAIT accepts it (RFC 6191).
// The server held the tuple in TIME_WAIT when the SYN that opened the new
// connection arrived: port_reuse, as startsNew reports it.
func TestR3PendingEndedPathServerTimeWait(t *testing.T) {
	tr := play(t, with(established,
		step{from: Server, flags: FA, seq: 21, ack: 11},
		step{from: Client, flags: A, seq: 11, ack: 22},
		step{from: Client, flags: S, seq: 900000, after: 500 * time.Millisecond},
		step{from: Server, flags: A, seq: 22, ack: 11}, // challenge ACK
		step{from: Client, flags: FA, seq: 11, ack: 22, after: 100 * time.Millisecond},
		step{from: Server, flags: A, seq: 22, ack: 12},
		step{from: Client, flags: S, seq: 900000, after: time.Second},
		step{from: Server, flags: SA, seq: 300000, ack: 900001},
		step{from: Client, flags: A, seq: 900001, ack: 300001},
	), 0)
	dump(t, tr)
	if tr.AnomalyCounts()[PortReuse] != 1 {
		t.Errorf("no port_reuse: the server was in TIME_WAIT when the SYN was retransmitted")
	}
	for _, c := range tr.Conns() {
		var last int64
		for _, x := range c.Transitions() {
			if x.Time < last {
				t.Errorf("conn #%d: transition at pkt %d (%v→%v) goes back in time", c.ID, x.Packet, x.From, x.To)
			}
			last = x.Time
		}
	}
}
