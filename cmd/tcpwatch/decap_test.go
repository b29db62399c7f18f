package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// vxlanVNI is the VXLAN wrapping with another VNI.
func vxlanVNI(vni uint32) wrapping {
	w := wrappings[0]
	inner := w.header
	w.header = func(b []byte, n int, fwd bool) {
		inner(b, n, fwd)
		binary.BigEndian.PutUint32(b[34+8+4:], vni<<8)
	}
	return w
}

// interleave merges two classic pcaps of the same packets record by record.
func interleave(a, b []byte) []byte {
	out := append([]byte(nil), a[:24]...)
	a, b = a[24:], b[24:]
	next := func(p []byte) ([]byte, []byte) {
		n := 16 + int(binary.LittleEndian.Uint32(p[8:]))
		return p[:n], p[n:]
	}
	for len(a) > 0 || len(b) > 0 {
		var r []byte
		if len(a) > 0 {
			r, a = next(a)
			out = append(out, r...)
		}
		if len(b) > 0 {
			r, b = next(b)
			out = append(out, r...)
		}
	}
	return out
}

// TestTunnelContextSeparatesConnections: the same connection mirrored
// through two VXLAN segments (VNI 7 and 8) at once is two connections,
// each with its VNI and the kernel's states; --merge-tunnels makes it one;
// --no-decap leaves no TCP at all.
func TestTunnelContextSeparatesConnections(t *testing.T) {
	const rec = "../../testdata/pcaps/close-client-first.pcap"
	both := interleave(wrapCapture(t, rec, vxlanVNI(7)), wrapCapture(t, rec, vxlanVNI(8)))
	name := filepath.Join(t.TempDir(), "two-vnis.pcap")
	if err := os.WriteFile(name, both, 0o644); err != nil {
		t.Fatal(err)
	}
	rep := runJSON(t, "-r", name)
	if len(rep.Connections) != 2 {
		t.Fatalf("%d connections, want one per VNI", len(rep.Connections))
	}
	for i, c := range rep.Connections {
		want := uint32(7 + i)
		if c.ClientState != tracker.TimeWait || c.ServerState != tracker.Closed ||
			len(c.Tunnel) != 1 || c.Tunnel[0].ID == nil || *c.Tunnel[0].ID != want {
			t.Errorf("connection %d: %s/%s tunnel %+v, want TIME_WAIT/CLOSED in VNI %d", i, c.ClientState, c.ServerState, c.Tunnel, want)
		}
	}
	if d := rep.Input.Decapsulation; d == nil || d.Tunnels != 2 {
		t.Errorf("decapsulation %+v, want 2 tunnels", d)
	}

	merged := runJSON(t, "-r", name, "--merge-tunnels")
	if len(merged.Connections) != 1 || merged.Connections[0].Tunnel != nil ||
		merged.Connections[0].ClientState != tracker.TimeWait || merged.Connections[0].ServerState != tracker.Closed {
		t.Errorf("--merge-tunnels: %d connections (%+v), want one without a tunnel, TIME_WAIT/CLOSED (each segment twice is a capture duplicate)", len(merged.Connections), merged.Connections)
	}

	closed := runJSON(t, "-r", name, "--no-decap")
	if len(closed.Connections) != 0 || closed.Input.TCPPackets != 0 || closed.Input.Skipped[report.NotTCP] != closed.Input.Packets {
		t.Errorf("--no-decap: %d connections, %d TCP packets, skipped %v of %d", len(closed.Connections),
			closed.Input.TCPPackets, closed.Input.Skipped, closed.Input.Packets)
	}
}
