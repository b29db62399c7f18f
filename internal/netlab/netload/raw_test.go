//go:build linux

package main

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestRawConnections: the raw mode's frames decode as TCP with right
// checksums, and each ten of them are one whole connection of its own.
func TestRawConnections(t *testing.T) {
	g := &rawGen{src: []byte{2, 0, 0, 0, 0, 1}}
	tr := tracker.New(tracker.Config{})
	var d capture.Decoder
	buf := make([]byte, rawFrame)
	const conns = 3
	for i := range conns * rawPerConn {
		var seg tracker.Segment
		f := g.next(buf)
		if k := d.Decode(layers.LinkTypeEthernet, f, len(f), &seg); k != capture.TCP || seg.Checksum != tracker.ChecksumGood {
			t.Fatalf("frame %d: %v, checksum %v", i, k, seg.Checksum)
		}
		seg.Time, seg.Packet = int64(i+1)*1000, uint64(i+1)
		tr.Observe(&seg)
	}
	cs := tr.Conns()
	if len(cs) != conns {
		t.Fatalf("%d connections, want %d", len(cs), conns)
	}
	for _, c := range cs {
		if c.State(tracker.Client) != tracker.TimeWait || c.State(tracker.Server) != tracker.Closed {
			t.Errorf("%v: client %v, server %v; want TIME_WAIT, CLOSED", c.Client(), c.State(tracker.Client), c.State(tracker.Server))
		}
	}
}
