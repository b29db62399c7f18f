package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// seenPacket is what a test compares of a packet: its number, time and
// segment.
type seenPacket struct {
	num  uint64
	time int64
	kind capture.Kind
	src  uint16
	seq  uint32
}

func seenOf(p *capture.Packet) seenPacket {
	return seenPacket{p.Num, p.Time, p.Kind, p.Seg.SrcPort, uint32(p.Seg.Seq)}
}

// TestFanoutSpoolHoldsTheTrackersOrder: with --fanout, live -w's spool
// holds the packets in the order the tracker took them from the sockets
// (merged by time), numbered as the report numbers them, and when it
// fills, the warning's packet number counts the packets of every socket.
func TestFanoutSpoolHoldsTheTrackersOrder(t *testing.T) {
	const name = "../../testdata/pcaps/bulk-in-flight-rtt20-at-server.pcap"
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	one, recBytes := packetsIn(t, name), st.Size()-24 // its records, as the spool holds them
	for _, tc := range []struct {
		name string
		max  int64 // spoolMax; 0: room for everything
	}{
		{"room for every packet", 0},
		{"filled by both sockets' packets", recBytes * 3 / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config{iface: "lab0", writeFile: filepath.Join(t.TempDir(), "out.pcap"), write: "all"}
			out, err := openPcapOut(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer out.close()
			defer func(max int64) { spoolMax = max }(spoolMax)
			if tc.max > 0 {
				spoolMax = tc.max
			}
			f := startFanin(twoReaders(t, name), out.keepRaw, nil) // the same recording twice: the sockets' packets interleave
			var merged []seenPacket
			for len(merged) < 2*one { // every packet of both readers
				select {
				case b := <-f.full:
					f.take(b)
				case <-time.After(time.Minute):
					t.Fatalf("%d packets merged, then no batch for a minute; want %d", len(merged), 2*one)
				}
				if _, err := f.merge(func(p *capture.Packet, _ tracker.FlowHash) bool {
					merged = append(merged, seenOf(p))
					return true
				}); err != nil && err != io.EOF {
					t.Fatal(err)
				}
			}
			f.stop()
			if err := out.spool.pw.flush(); err != nil {
				t.Fatal(err)
			}
			var spooled []seenPacket
			eachPacket(t, func(_ int, p *capture.Packet) { spooled = append(spooled, seenOf(p)) }, out.spool.f.Name())
			n := len(spooled)
			if n == 0 || n > len(merged) {
				t.Fatalf("%d packets spooled of %d merged", n, len(merged))
			}
			for i := range spooled {
				if spooled[i] != merged[i] {
					t.Fatalf("spooled packet %d is %+v, the tracker's was %+v", i+1, spooled[i], merged[i])
				}
			}
			switch full := out.spool.full; {
			case tc.max == 0 && (full != 0 || n != len(merged)):
				t.Errorf("%d of %d packets spooled, full at %d; want all, never full", n, len(merged), full)
			case tc.max > 0 && (full != uint64(n)+1 || n <= one || n >= len(merged)):
				t.Errorf("%d of %d packets spooled, full at packet %d; want it full at packet %d, past one socket's %d", n, len(merged), full, n+1, one)
			}
		})
	}
}

// TestFanoutSpoolingAllocatesNothingPerPacket: keeping the sockets'
// packets for -w copies them into their batch and out to the spool in
// merged order, with no allocation per packet once the batches have grown.
func TestFanoutSpoolingAllocatesNothingPerPacket(t *testing.T) {
	pw := &pcapWriter{name: "spool", bw: bufio.NewWriterSize(io.Discard, 1<<16)}
	checkFaninAllocs(t, func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, _ uint64) error {
		return pw.write(data, ci, lt)
	})
}
