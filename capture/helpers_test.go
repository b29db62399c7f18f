package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Packet builders for tests: each returns a fresh slice.

var (
	ip4a = [4]byte{192, 0, 2, 1}
	ip4b = [4]byte{198, 51, 100, 2}
	ip6a = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	ip6b = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

type tcpSpec struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint16 // 9 bits, NS in bit 8
	win          uint16
	opts         []byte // padded to 4 bytes by the builder
	payload      int    // payload bytes (zeros)
}

func tcpSeg(s tcpSpec) []byte {
	opts := append([]byte(nil), s.opts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	h := make([]byte, 20+len(opts)+s.payload)
	binary.BigEndian.PutUint16(h[0:], s.sport)
	binary.BigEndian.PutUint16(h[2:], s.dport)
	binary.BigEndian.PutUint32(h[4:], s.seq)
	binary.BigEndian.PutUint32(h[8:], s.ack)
	h[12] = byte((20+len(opts))/4)<<4 | byte(s.flags>>8&1)
	h[13] = byte(s.flags)
	binary.BigEndian.PutUint16(h[14:], s.win)
	copy(h[20:], opts)
	return h
}

// ipv4 wraps payload in an IPv4 header with a correct checksum.
func ipv4(proto byte, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8] = 64
	h[9] = proto
	copy(h[12:], ip4a[:])
	copy(h[16:], ip4b[:])
	setIPv4Checksum(h)
	return append(h, payload...)
}

func setIPv4Checksum(h []byte) {
	h[10], h[11] = 0, 0
	ihl := int(h[0]&0xf) * 4
	var s uint32
	for i := 0; i+1 < ihl && i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(s))
}

// ipv6 wraps payload in an IPv6 header whose next header is next.
func ipv6(next byte, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	copy(h[8:], ip6a[:])
	copy(h[24:], ip6b[:])
	return append(h, payload...)
}

// ext6 is an IPv6 extension header of the given type (for AH, the length
// field counts 4-byte units minus 2; for the others 8-byte units minus 1).
func ext6(typ, next byte, rest int) []byte {
	switch typ {
	case 44: // fragment: always 8 bytes
		h := make([]byte, 8)
		h[0] = next
		return h
	case 51:
		h := make([]byte, 12+rest)
		h[0] = next
		h[1] = byte(len(h)/4 - 2)
		return h
	}
	h := make([]byte, 8+rest)
	h[0] = next
	h[1] = byte(len(h)/8 - 1)
	return h
}

func eth(typ uint16, payload []byte) []byte {
	h := make([]byte, 14, 14+len(payload))
	copy(h[0:], []byte{0x02, 0, 0, 0, 0, 2})
	copy(h[6:], []byte{0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(h[12:], typ)
	return append(h, payload...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// synSeg is a SYN with MSS and window scale 7.
var synSpec = tcpSpec{sport: 40000, dport: 443, seq: 1000, flags: 0x002, win: 64240,
	opts: []byte{2, 4, 5, 0xb4, 1, 3, 3, 7}}

// dataSpec is an ACK carrying 100 bytes.
var dataSpec = tcpSpec{sport: 40000, dport: 443, seq: 1001, ack: 5001, flags: 0x018, win: 502, payload: 100}

// Capture file builders.

type rec struct {
	ts      time.Time
	data    []byte
	wireLen int // 0: len(data)
	iface   uint32
}

func (r rec) wire() int {
	if r.wireLen == 0 {
		return len(r.data)
	}
	return r.wireLen
}

// pcapFile builds a classic pcap file.
func pcapFile(order order, nano bool, lt layers.LinkType, recs ...rec) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, uint32(lt))
	for _, r := range recs {
		b = order.AppendUint32(b, uint32(r.ts.Unix()))
		if nano {
			b = order.AppendUint32(b, uint32(r.ts.Nanosecond()))
		} else {
			b = order.AppendUint32(b, uint32(r.ts.Nanosecond()/1000))
		}
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = order.AppendUint32(b, uint32(r.wire()))
		b = append(b, r.data...)
	}
	return b
}

// ngBuilder builds a pcapng file block by block.
type ngBuilder struct {
	order order
	b     []byte
	res   []uint8 // per interface in the current section: if_tsresol
}

func (n *ngBuilder) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	n.b = n.order.AppendUint32(n.b, typ)
	n.b = n.order.AppendUint32(n.b, l)
	n.b = append(n.b, body...)
	n.b = n.order.AppendUint32(n.b, l)
}

func (n *ngBuilder) section() *ngBuilder {
	body := n.order.AppendUint32(nil, 0x1a2b3c4d)
	body = n.order.AppendUint16(body, 1)
	body = n.order.AppendUint16(body, 0)
	body = append(body, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // section length unknown
	n.block(0x0a0d0d0a, body)
	n.res = nil
	return n
}

// iface adds an interface; tsresol 0 means the default (microseconds).
func (n *ngBuilder) iface(lt layers.LinkType, tsresol uint8) *ngBuilder {
	body := n.order.AppendUint16(nil, uint16(lt))
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint32(body, 0)
	if tsresol != 0 {
		body = n.order.AppendUint16(body, 9) // if_tsresol
		body = n.order.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
		body = n.order.AppendUint32(body, 0) // end of options
	}
	n.block(1, body)
	if tsresol == 0 {
		tsresol = 6
	}
	n.res = append(n.res, tsresol)
	return n
}

func (n *ngBuilder) packet(r rec) *ngBuilder {
	n.block(6, n.packetBody(r))
	return n
}

// packetBody is the body of an enhanced packet block, without options.
func (n *ngBuilder) packetBody(r rec) []byte {
	units := uint64(r.ts.UnixNano())
	switch res := n.res[r.iface]; {
	case res&0x80 == 0:
		for e := uint8(9); e > res; e-- {
			units /= 10
		}
		for e := uint8(9); e < res; e++ {
			units *= 10
		}
	default:
		panic("binary resolutions not built")
	}
	body := n.order.AppendUint32(nil, r.iface)
	body = n.order.AppendUint32(body, uint32(units>>32))
	body = n.order.AppendUint32(body, uint32(units))
	body = n.order.AppendUint32(body, uint32(len(r.data)))
	body = n.order.AppendUint32(body, uint32(r.wire()))
	return append(body, r.data...)
}

func (n *ngBuilder) bytes() []byte { return n.b }

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// order is a byte order that can append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// openFile opens a capture file as a bare source, without a Reader.
func openFile(name string, bufs *buffers) (*fileSource, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	src, err := openStream(f, bufs)
	if err != nil {
		f.Close()
		return nil, err
	}
	src.f = f
	return src, nil
}
