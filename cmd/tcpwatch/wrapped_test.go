package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/internal/degrade"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// A wrapping puts every Ethernet frame of a recording inside a tunnel.
type wrapping struct {
	name string
	// overhead is the bytes added in front of the frame (outer Ethernet
	// included); header writes them for a frame of n bytes on the wire,
	// sent by the recording's first sender when fwd.
	overhead int
	header   func(b []byte, n int, fwd bool)
	kind     tracker.TunnelKind
}

var (
	outerA = [4]byte{198, 18, 10, 1}
	outerB = [4]byte{198, 18, 10, 2}
)

// wrappings: VXLAN as a mirror session delivers it (both directions from
// the same source to the collector, as AWS Traffic Mirroring does), GRE
// with a key as an overlay carries it (outer endpoints swapped with the
// direction).
var wrappings = []wrapping{
	{"vxlan", 14 + 20 + 8 + 8, func(b []byte, n int, fwd bool) {
		outerIPv4(b, 17, outerA, outerB, 8+8+n)
		u := b[34:]
		binary.BigEndian.PutUint16(u[0:], 49152)
		binary.BigEndian.PutUint16(u[2:], 4789)
		binary.BigEndian.PutUint16(u[4:], uint16(8+8+n))
		copy(u[8:], []byte{0x08, 0, 0, 0, 0, 0, 7, 0}) // VNI 7
	}, tracker.TunnelVXLAN},
	{"gre", 14 + 20 + 8, func(b []byte, n int, fwd bool) {
		src, dst := outerA, outerB
		if !fwd {
			src, dst = dst, src
		}
		outerIPv4(b, 47, src, dst, 8+n)
		copy(b[34:], []byte{0x20, 0, 0x65, 0x58, 0, 0, 0, 99}) // key 99, transparent Ethernet
	}, tracker.TunnelGRE},
}

// outerIPv4 writes an Ethernet header and an IPv4 header (with its
// checksum) for proto carrying n bytes into b.
func outerIPv4(b []byte, proto byte, src, dst [4]byte, n int) {
	copy(b, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00})
	h := b[14:34]
	clear(h)
	h[0], h[8], h[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
}

// wrapCapture reads an Ethernet pcap and writes, in memory, a pcap of the
// same packets inside the tunnel, with a small writer of its own (the
// classic format: a 24-byte file header, a 16-byte header per record).
func wrapCapture(t *testing.T, path string, w wrapping) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var in io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		if in, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Skipf("%s: link type %v, not Ethernet", path, r.LinkType())
	}
	le := binary.LittleEndian
	out := le.AppendUint32(nil, 0xa1b23c4d) // nanosecond timestamps
	out = le.AppendUint16(out, 2)
	out = le.AppendUint16(out, 4)
	out = le.AppendUint64(out, 0)
	out = le.AppendUint32(out, r.Snaplen()+uint32(w.overhead))
	out = le.AppendUint32(out, uint32(layers.LinkTypeEthernet))
	var first []byte // the first frame's IPv4/IPv6 source address
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		src := frameSource(data)
		if first == nil {
			first = src
		}
		ts := ci.Timestamp.UnixNano()
		out = le.AppendUint32(out, uint32(ts/1e9))
		out = le.AppendUint32(out, uint32(ts%1e9))
		out = le.AppendUint32(out, uint32(len(data)+w.overhead))
		out = le.AppendUint32(out, uint32(ci.Length+w.overhead))
		hdr := make([]byte, w.overhead)
		w.header(hdr, ci.Length, bytes.Equal(src, first))
		out = append(append(out, hdr...), data...)
	}
}

// frameSource is the IP source address of an Ethernet frame, nil if none.
func frameSource(f []byte) []byte {
	if len(f) < 14 {
		return nil
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		if len(f) >= 14+16 {
			return f[14+12 : 14+16]
		}
	case 0x86dd:
		if len(f) >= 14+24 {
			return f[14+8 : 14+24]
		}
	}
	return nil
}

// TestWrappedRecordingsKeepTheirStates wraps every kernel recording
// (testdata/pcaps and its anomalies/) in
// VXLAN and in GRE and checks that the wrapped copy gives exactly what the
// plain one gives: the kernel's states, and the same connections, each with
// the same states, packets, history and anomalies, inside one more tunnel
// (the recordings made over VXLAN are then in two).
func TestWrappedRecordingsKeepTheirStates(t *testing.T) {
	states, err := filepath.Glob("../../testdata/pcaps/*.states")
	more, err2 := filepath.Glob("../../testdata/pcaps/anomalies/*.states")
	states = append(states, more...)
	if err := errors.Join(err, err2); err != nil || len(states) == 0 {
		t.Fatalf("no recordings in testdata/pcaps (%v)", err)
	}
	dir := t.TempDir()
	for _, sf := range states {
		pcap := degrade.CaptureOf(strings.TrimSuffix(sf, ".states"))
		name := strings.TrimSuffix(filepath.Base(sf), ".states")
		if strings.HasSuffix(pcap, ".pcapng") || asymmetricTunnels[name] {
			// wrapCapture rewrites pcap records only; a tunnel whose
			// directions differ needs --merge-tunnels, which would
			// merge the wrapping too.
			continue
		}
		plain := runJSON(t, "-r", pcap)
		for _, w := range wrappings {
			t.Run(name+"/"+w.name, func(t *testing.T) {
				wrapped := filepath.Join(dir, name+"."+w.name+".pcap")
				if err := os.WriteFile(wrapped, wrapCapture(t, pcap, w), 0o644); err != nil {
					t.Fatal(err)
				}
				checkKernelStates(t, sf, wrapped)
				sameConnections(t, plain, runJSON(t, "-r", wrapped), w.kind)
			})
		}
	}
}

// sameConnections compares the wrapped run's connections with the plain
// run's, field by field where the tunnel must change nothing.
func sameConnections(t *testing.T, plain, wrapped *report.Report, kind tracker.TunnelKind) {
	t.Helper()
	if len(plain.Connections) != len(wrapped.Connections) {
		t.Fatalf("%d connections wrapped, %d plain", len(wrapped.Connections), len(plain.Connections))
	}
	for i, p := range plain.Connections {
		w := wrapped.Connections[i]
		if w.Client != p.Client || w.Server != p.Server || w.ClientState != p.ClientState || w.ServerState != p.ServerState ||
			w.History != p.History || w.Packets != p.Packets || w.PayloadBytes != p.PayloadBytes || !slices.Equal(w.Anomalies, p.Anomalies) {
			t.Errorf("connection %d wrapped: %s → %s %s/%s %s %v %v %v; plain: %s → %s %s/%s %s %v %v %v", i,
				w.Client, w.Server, w.ClientState, w.ServerState, w.History, w.Packets, w.PayloadBytes, w.Anomalies,
				p.Client, p.Server, p.ClientState, p.ServerState, p.History, p.Packets, p.PayloadBytes, p.Anomalies)
		}
		if len(w.Tunnel) != len(p.Tunnel)+1 || w.Tunnel[0].Type != kind {
			t.Errorf("connection %d: tunnel %+v, want a %v layer around %+v", i, w.Tunnel, kind, p.Tunnel)
		}
	}
	if len(plain.Anomalies) != len(wrapped.Anomalies) {
		t.Errorf("%d findings wrapped, %d plain", len(wrapped.Anomalies), len(plain.Anomalies))
	}
}
