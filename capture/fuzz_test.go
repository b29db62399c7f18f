package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
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
		eth(0x0800, ipv4(1, cat([]byte{3, 3, 0, 0, 0, 0, 0, 0}, v4SYN))), // port unreachable quoting the SYN
		eth(0x86dd, ipv6(58, cat([]byte{1, 4, 0, 0, 0, 0, 0, 0}, v6SYN))),
	} {
		f.Add(uint8(0), uint16(0), p)
	}
	f.Fuzz(func(t *testing.T, lti uint8, extra uint16, data []byte) {
		lt := fuzzLinkTypes[int(lti)%len(fuzzLinkTypes)]
		var d Decoder
		var seg tracker.Segment
		wire := len(data) + int(extra)
		seg.ICMP = tracker.ICMPTimeExceeded // (left from an earlier packet: Decode clears it)
		k := d.Decode(lt, data, wire, &seg)
		if k > Malformed && k != ICMPError {
			t.Fatalf("Decode returned %v", k)
		}
		if (k == ICMPError) != (seg.ICMP != 0) || k == ICMPError && (seg.ICMP.String() == "ICMP error" || seg.Payload != 0) {
			t.Fatalf("%v with ICMP %v, payload %d", k, seg.ICMP, seg.Payload)
		}
		if k == TCP {
			if seg.WScale < -1 || seg.WScale > 14 {
				t.Fatalf("window scale %d", seg.WScale)
			}
			checkTimestamps(t, lt, data, &seg)
			checkPayload(t, lt, data, wire, &seg)
		}
		if extra == 0 && k == Truncated {
			t.Fatalf("Truncated for a packet that was not cut")
		}
	})
}

// checkPayload checks a TCP segment's payload length against the IP
// header's length fields. Under any link type, the payload and the
// smallest IP and TCP headers fit in what the IP header claims: for IPv6,
// a payload length the packet on the wire holds; for IPv4, a 16-bit total
// length, or, when that is 0 (segmentation offload, BIG TCP), the wire
// length. For bare IP, where the header is at offset 0, the payload must be
// exactly what the length fields leave after the IP and TCP headers.
func checkPayload(t *testing.T, lt layers.LinkType, data []byte, wire int, seg *tracker.Segment) {
	t.Helper()
	payload := int(seg.Payload)
	if seg.Src.Is4() && payload+40 > max(wire, 0xffff) || !seg.Src.Is4() && payload+60 > wire {
		t.Fatalf("payload %d from a %d-byte packet", payload, wire)
	}
	if lt != layers.LinkTypeRaw && lt != layers.LinkTypeIPv6 || seg.Tunnel != 0 {
		return // the header at offset 0 is not the segment's (a tunnel's outer one)
	}
	be := binary.BigEndian
	want := -1
	switch data[0] >> 4 {
	case 4:
		ihl := int(data[0]&0x0f) * 4
		total := int(be.Uint16(data[2:]))
		if total == 0 {
			total = wire
		}
		want = total - ihl - int(data[ihl+12]>>4)*4
	case 6:
		if data[6] != protoTCP {
			return // extension headers: the decoder walks them, this check does not
		}
		plen := int(be.Uint16(data[4:]))
		if plen == 0 {
			plen = wire - 40
		}
		want = plen - int(data[40+12]>>4)*4
	}
	if payload != want {
		t.Fatalf("payload %d, the IP header says %d", payload, want)
	}
}

// fuzzBufs is shared by FuzzReader's runs, as a Reader shares it across files.
var fuzzBufs buffers

// FuzzReader feeds whole files to the reader: whatever the bytes, it must
// return packets and then io.EOF or one clean, one-line error. An input read
// to its end must fail without its last byte (of a gzip stream, the last
// before any zeros padding it), which is inside its last record (or
// header): a cut capture is never taken for a complete one.
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
		n, err := readFuzz(t, data)
		if err != nil || len(data) == 0 {
			return
		}
		cut := data
		if len(data) >= 2 && binary.BigEndian.Uint16(data) == magicGzip {
			// Zeros after a gzip stream are padding, not part of it.
			cut = bytes.TrimRight(data, "\x00")
		}
		if len(cut) == 0 {
			return
		}
		if _, err := readFuzz(t, cut[:len(cut)-1]); err == nil {
			t.Fatalf("read to the end (%d packets), and again without its last byte", n)
		}
	})
}

// readFuzz reads a capture held in data as the file "fuzz" and checks how
// it ends. It returns the number of packets and the error that ended the
// read (nil at the end).
func readFuzz(t *testing.T, data []byte) (int, error) {
	r := &Reader{names: []string{"fuzz"}, next: 1, name: "fuzz"}
	src, err := openStream(bytes.NewReader(data), &fuzzBufs)
	if err != nil {
		checkError(t, r.inputError("open", 0, err))
		return 0, err
	}
	r.use(src)
	var p Packet
	for n := 0; ; n++ {
		err := r.Next(&p)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			checkError(t, err)
			if r.Next(&p) != err {
				t.Fatal("error not final")
			}
			return n, err
		}
		if p.Num != uint64(n+1) {
			t.Fatalf("packet %d numbered %d", n+1, p.Num)
		}
	}
}

// checkError checks that err is one line naming the input.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	msg := err.Error()
	if !errors.As(err, &e) || e.Input != "fuzz" || strings.Contains(msg, "\n") ||
		!strings.HasPrefix(msg, `open "fuzz": `) && !strings.HasPrefix(msg, `read "fuzz": packet `) {
		t.Fatalf("bad error: %q", msg)
	}
}

// checkTimestamps: a segment without the timestamps option has no
// timestamps, and one with it has them from its own header: the option's
// ten bytes (kind 8, length 10, TSval, TSecr) are among its options.
func checkTimestamps(t *testing.T, lt layers.LinkType, data []byte, seg *tracker.Segment) {
	t.Helper()
	if !seg.HasTS {
		if seg.TSVal != 0 || seg.TSEcr != 0 {
			t.Fatalf("timestamps %d %d without the option", seg.TSVal, seg.TSEcr)
		}
		return
	}
	if lt != layers.LinkTypeRaw || seg.Tunnel != 0 || data[0]>>4 != 4 {
		return // the header at offset 0 is not always the segment's own
	}
	ihl := int(data[0]&0x0f) * 4
	opts := data[ihl+20 : min(ihl+int(data[ihl+12]>>4)*4, len(data))]
	var want [10]byte
	want[0], want[1] = 8, 10
	binary.BigEndian.PutUint32(want[2:], seg.TSVal)
	binary.BigEndian.PutUint32(want[6:], seg.TSEcr)
	if !bytes.Contains(opts, want[:]) {
		t.Fatalf("timestamps %d %d not among the options % x", seg.TSVal, seg.TSEcr, opts)
	}
}
