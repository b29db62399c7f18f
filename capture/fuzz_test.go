package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// fuzzLinkTypes are the link types FuzzDecode tries each input with.
var fuzzLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeLoop, linkTypeNFLOG, layers.LinkTypeFDDI,
	layers.LinkTypePPP, layers.LinkTypeC_HDLC, layers.LinkTypeIPv6,
}

// FuzzDecode checks that no packet makes the decoder panic, and that what it
// calls TCP is consistent with the bytes.
func FuzzDecode(f *testing.F) {
	for _, p := range [][]byte{
		eth(0x0800, v4SYN), eth(0x86dd, v6SYN), eth(0x8100, cat(be16(1), be16(0x0800), v4Data)),
		v4SYN, v6SYN, cat(le32(2), v4SYN),
		ipv6(0, cat(ext6(0, 60, 0), ext6(60, 44, 8), ext6(44, 51, 0), ext6(51, 6, 4), tcpSeg(synSpec))),
		eth(0x8864, cat([]byte{0x11, 0, 0, 1}, be16(uint16(2+len(v4SYN))), be16(0x0021), v4SYN)),
	} {
		f.Add(uint8(0), uint16(0), p)
	}
	f.Fuzz(func(t *testing.T, lti uint8, extra uint16, data []byte) {
		lt := fuzzLinkTypes[int(lti)%len(fuzzLinkTypes)]
		var d Decoder
		var seg tracker.Segment
		wire := len(data) + int(extra)
		k := d.Decode(lt, data, wire, &seg)
		if k > Malformed {
			t.Fatalf("Decode returned %v", k)
		}
		if k == TCP {
			if seg.WScale < -1 || seg.WScale > 14 {
				t.Fatalf("window scale %d", seg.WScale)
			}
			if seg.Payload > uint32(max(1<<16, wire)) {
				t.Fatalf("payload %d from a %d-byte packet", seg.Payload, wire)
			}
		}
		if extra == 0 && k == Truncated {
			t.Fatalf("Truncated for a packet that was not cut")
		}
	})
}

// fuzzBufs is shared by FuzzReader's runs, as a Reader shares it across files.
var fuzzBufs buffers

// FuzzReader feeds whole files to the reader: whatever the bytes, it must
// return packets and then io.EOF or one clean, one-line error.
func FuzzReader(f *testing.F) {
	f.Add(pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}, rec{ts: t0, data: ethData}))
	f.Add(pcapFile(binary.BigEndian, true, layers.LinkTypeRaw, rec{ts: t0, data: v6SYN}))
	ng := (&ngBuilder{order: binary.LittleEndian}).section().iface(layers.LinkTypeEthernet, 9).iface(layers.LinkTypeLinuxSLL2, 0).
		packet(rec{ts: t0, data: ethSYN}).packet(rec{ts: t0, data: cat(be16(0x0800), make([]byte, 18), v4SYN), iface: 1}).
		section().iface(layers.LinkTypeNull, 3).packet(rec{ts: t0, data: cat(le32(2), v4Data)})
	f.Add(ng.bytes())
	ngBE := (&ngBuilder{order: binary.BigEndian}).section().iface(layers.LinkTypeEthernet, 0).packet(rec{ts: t0, data: ethSYN})
	f.Add(ngBE.bytes())
	f.Add(gz(f, ng.bytes()))
	// Small public captures, when they are there.
	dir := os.Getenv("TCPWATCH_PUBLIC_PCAPS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "pcaps", "public")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := openStream(`"fuzz"`, bytes.NewReader(data), nil, &fuzzBufs)
		if err != nil {
			checkError(t, err)
			return
		}
		r := &Reader{src: src, label: `"fuzz"`}
		var p Packet
		for n := 0; ; n++ {
			err := r.Next(&p)
			if err == io.EOF {
				return
			}
			if err != nil {
				checkError(t, err)
				if r.Next(&p) != err {
					t.Fatal("error not final")
				}
				return
			}
			if p.Num != uint64(n+1) {
				t.Fatalf("packet %d numbered %d", n+1, p.Num)
			}
		}
	})
}

func checkError(t *testing.T, err error) {
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, `"fuzz"`) {
		t.Fatalf("bad error: %q", msg)
	}
}
