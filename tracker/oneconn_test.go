package tracker

import (
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// oneConn returns a function that feeds tr a segment of the connection
// between cli:port and target:80, from the client or not, at the time
// start+at, with payload bytes of data.
func oneConn(tr *Tracker, start int64, cli Addr, port uint16) func(at time.Duration, fromClient bool, f Flags, seq, ack, payload uint32) {
	return func(at time.Duration, fromClient bool, f Flags, seq, ack, payload uint32) {
		s := Segment{Time: start + int64(at), Src: cli, SrcPort: port, Dst: target, DstPort: 80, Flags: f, Window: 1000, WScale: -1, Payload: payload}
		if !fromClient {
			s.Src, s.SrcPort, s.Dst, s.DstPort = target, 80, cli, port
		}
		s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
		tr.Observe(&s)
	}
}

// steppedConn is oneConn at the time *now, which each segment moves a
// millisecond on.
func steppedConn(tr *Tracker, now *int64, cli Addr, port uint16) func(fromClient bool, f Flags, seq, ack uint32) {
	conn := oneConn(tr, 0, cli, port)
	return func(fromClient bool, f Flags, seq, ack uint32) {
		conn(time.Duration(*now), fromClient, f, seq, ack, 0)
		*now += int64(time.Millisecond)
	}
}

// freshStepped is a new tracker with steppedConn's connection from
// review3Pair's client, port 40000, its clock at 1,700,000,000 s.
func freshStepped() (*Tracker, *int64, func(fromClient bool, f Flags, seq, ack uint32)) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	return tr, &now, steppedConn(tr, &now, review3Pair.host, 40000)
}

// open1000 opens steppedConn's connection with the client's ISN 1000, the
// server's 5000.
func open1000(seg func(fromClient bool, f Flags, seq, ack uint32)) {
	seg(true, SYN, 1000, 0)
	seg(false, SYN|ACK, 5000, 1001)
	seg(true, ACK, 1001, 5001)
}

// openStepped opens steppedConn's connection: the client's ISN 100, the
// server's 900.
func openStepped(seg func(fromClient bool, f Flags, seq, ack uint32)) {
	seg(true, SYN, 100, 0)
	seg(false, SYN|ACK, 900, 101)
	seg(true, ACK, 101, 901)
}

// activeClose closes openStepped's connection, the client first: the client
// ends in TIME_WAIT, the server CLOSED.
func activeClose(seg func(fromClient bool, f Flags, seq, ack uint32)) {
	seg(true, FIN|ACK, 101, 901)
	seg(false, FIN|ACK, 901, 102)
	seg(true, ACK, 102, 902)
}

// simultaneousClose closes openStepped's connection with FINs that cross:
// both sides end in TIME_WAIT.
func simultaneousClose(seg func(fromClient bool, f Flags, seq, ack uint32)) {
	seg(true, FIN|ACK, 101, 901)
	seg(false, FIN|ACK, 901, 101)
	seg(true, ACK, 102, 902)
	seg(false, ACK, 902, 102)
}

// tellEvery has cfg tell note every transition, by the connection's ID,
// of whole and frozen or forgotten connections alike.
func tellEvery(cfg *Config, note func(id uint64, tr Transition)) {
	cfg.OnTransition = func(c *Conn, tr Transition) { note(c.ID, tr) }
	cfg.OnFrozenTransition = func(r *Record, tr Transition) { note(r.ID, tr) }
}
