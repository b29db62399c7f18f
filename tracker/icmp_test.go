package tracker

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestICMPErrorsEndOpenings: an ICMP error quoting a side's SYN (SYN-ACK)
// at its ISN ends it, as Linux ends a socket still opening; one quoting
// anything else, or reaching an established connection, changes nothing.
func TestICMPErrorsEndOpenings(t *testing.T) {
	for _, tc := range []struct {
		name           string
		open           func(seg func(bool, Flags, uint32, uint32))
		fromClient     bool   // the quoted segment's sender
		seq            uint32 // the quoted sequence number
		err            ICMPError
		client, server State
		refused        bool // a connection_refused naming the error
	}{
		{"port unreachable for the SYN: refused", func(seg func(bool, Flags, uint32, uint32)) { seg(true, SYN, 1000, 0) },
			true, 1000, ICMPPortUnreachable, Closed, Closed, true},
		{"host unreachable for the SYN retransmitted", func(seg func(bool, Flags, uint32, uint32)) {
			seg(true, SYN, 1000, 0)
			seg(true, SYN, 1000, 0)
		}, true, 1000, ICMPHostUnreachable, Closed, Closed, true},
		{"quoting another sequence number: not this SYN's", func(seg func(bool, Flags, uint32, uint32)) { seg(true, SYN, 1000, 0) },
			true, 7777, ICMPPortUnreachable, SynSent, Closed, false},
		{"host unreachable for the SYN-ACK: the request is dropped", func(seg func(bool, Flags, uint32, uint32)) {
			seg(true, SYN, 1000, 0)
			seg(false, SYN|ACK, 5000, 1001)
		}, false, 5000, ICMPHostUnreachable, Established, Closed, false},
		{"port unreachable for the SYN-ACK: the request stays", func(seg func(bool, Flags, uint32, uint32)) {
			seg(true, SYN, 1000, 0)
			seg(false, SYN|ACK, 5000, 1001)
		}, false, 5000, ICMPPortUnreachable, Established, SynRcvd, false},
		{"established: a soft error, nothing changes", open1000,
			true, 1001, ICMPHostUnreachable, Established, Established, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, now, seg := freshStepped()
			tc.open(seg)
			q := Segment{Time: *now, Packet: 99, Src: review3Pair.host, SrcPort: 40000, Dst: target, DstPort: 80,
				Seq: seqnum.Value(tc.seq), Flags: SYN, ICMP: tc.err}
			if !tc.fromClient {
				q.Src, q.SrcPort, q.Dst, q.DstPort = target, 80, review3Pair.host, 40000
			}
			tr.ObserveICMP(&q)
			tr.Finish()
			r := tr.Records()[0]
			if r.State(Client) != tc.client || r.State(Server) != tc.server {
				t.Errorf("%v/%v, want %v/%v", r.State(Client), r.State(Server), tc.client, tc.server)
			}
			var refused *Anomaly
			for i, a := range tr.Anomalies() {
				if a.Kind == ConnectionRefused {
					refused = &tr.Anomalies()[i]
				}
			}
			if tc.refused != (refused != nil) || refused != nil && refused.Fields["icmp"] != tc.err.String() {
				t.Errorf("connection_refused %+v, want one: %v", refused, tc.refused)
			}
		})
	}
}
