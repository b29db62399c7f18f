package degrade

import (
	"path/filepath"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// withoutFirstFINWithData drops the first segment that carries both data
// and a FIN (as Linux sends the last data of a socket closed with data
// queued): the capture missed it, the peer received it.
func withoutFirstFINWithData(pkts []capture.Packet) []capture.Packet {
	out := make([]capture.Packet, 0, len(pkts))
	dropped := false
	for _, p := range pkts {
		if !dropped && p.Kind == capture.TCP && p.Seg.Flags&tracker.FIN != 0 && p.Seg.Payload > 0 {
			dropped = true
			continue
		}
		out = append(out, p)
	}
	return out
}

// TestFINWithDataLostIsShownByTheQuickAck: the recordings whose client
// closes with its last data and FIN in one segment, that segment dropped
// from the capture. The server's FIN acknowledges what the capture missed,
// and the client's bare ACK of that FIN, sent at once, shows it had closed
// (Linux delays that ACK from ESTABLISHED): every side is the kernel's.
func TestFINWithDataLostIsShownByTheQuickAck(t *testing.T) {
	for _, name := range []string{
		"../../testdata/pcaps/fin-with-data",
		"../../testdata/pcaps/ipv6-fin-with-data",
		"../../testdata/holdout/fin-with-data-rtt10-at-client",
		"../../testdata/holdout/fin-with-data-rtt30-at-server",
	} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			rows, err := ReadStates(name + ".states")
			if err != nil {
				t.Fatal(err)
			}
			pkts, err := Load(CaptureOf(name))
			if err != nil {
				t.Fatal(err)
			}
			lossy := withoutFirstFINWithData(pkts)
			if len(lossy) != len(pkts)-1 {
				t.Fatalf("no segment with data and a FIN among %d packets", len(pkts))
			}
			for i, v := range Match(rows, Tcpwatch(lossy)) {
				if v.Right != 2 {
					t.Errorf("%v → %v: tcpwatch says %v/%v, the kernel %v/%v",
						rows[i].Client, rows[i].Server, v.Said[tracker.Client], v.Said[tracker.Server],
						rows[i].State[tracker.Client], rows[i].State[tracker.Server])
				}
			}
		})
	}
}
