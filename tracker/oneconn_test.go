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
