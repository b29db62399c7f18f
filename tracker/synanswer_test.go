package tracker

import (
	"testing"
	"time"
)

// TestSynAnswerStates: what a listener's answer to a SYN from a client that
// sends nothing more leaves on each side, as Linux holds it: a request
// socket retransmits its SYN-ACK after 1 s (SYN_RCVD); a SYN cookie is sent
// once and keeps nothing; an unanswered SYN keeps nothing; a spoofed client
// never had a socket.
func TestSynAnswerStates(t *testing.T) {
	const s = int64(time.Second)
	start := int64(1_700_000_000) * s
	cli, srv := AddrFrom4([4]byte{198, 19, 0, 7}), AddrFrom4([4]byte{198, 18, 0, 2})
	syn := Segment{Src: cli, SrcPort: 40000, Dst: srv, DstPort: 8080, Seq: 1000, Flags: SYN, Window: 64240, WScale: 7}
	synack := Segment{Src: srv, SrcPort: 8080, Dst: cli, DstPort: 40000, Seq: 5000, Ack: 1001, Flags: SYN | ACK, Window: 65160, WScale: 7}
	ack := Segment{Src: cli, SrcPort: 40000, Dst: srv, DstPort: 8080, Seq: 1001, Ack: 5001, Flags: ACK, Window: 502, WScale: -1}
	tests := []struct {
		name    string
		synacks []int64 // SYN-ACK times after the SYN, ns
		acked   bool
		end     int64 // end of input after the SYN
		client  State
		server  State
	}{
		{"SYN-ACK not sent again within 1 s is a SYN cookie", []int64{s / 1000}, false, 2 * s, Closed, Closed},
		{"SYN-ACK sent again after 1 s is a request in SYN_RCVD", []int64{s / 1000, s + s/1000}, false, 2500 * s / 1000, Closed, SynRcvd},
		{"SYN-ACK too recent to tell stays SYN_RCVD", []int64{s / 1000}, false, s / 2, Closed, SynRcvd},
		{"SYN-ACK retransmissions stopped short: the request was dropped", []int64{s / 1000, s, 3 * s}, false, 9 * s, Closed, Closed},
		{"unanswered SYN leaves nothing", nil, false, 2 * s, Closed, Closed},
		{"acknowledged SYN-ACK is a connection", []int64{s / 1000}, true, 2 * s, Established, Established},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{})
			seg := syn
			seg.Time = start
			tr.Observe(&seg)
			for i, at := range tc.synacks {
				seg = synack
				seg.Time = start + at
				tr.Observe(&seg)
				if i == 0 && tc.acked {
					seg = ack
					seg.Time = start + at + 100_000
					tr.Observe(&seg)
				}
			}
			tr.Advance(start + tc.end)
			tr.Finish()
			cs := tr.Conns()
			if len(cs) != 1 {
				t.Fatalf("%d connections, want 1", len(cs))
			}
			c := cs[0]
			if c.Client().Addr() != cli.IP() || c.half[Client].State() != tc.client || c.half[Server].State() != tc.server {
				t.Errorf("client %s, server %s; want %s, %s", c.half[Client].State(), c.half[Server].State(), tc.client, tc.server)
			}
		})
	}
}
