package capture

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Outer addresses of the tunnels the tests build, distinct from the inner
// ones (ip4a, ip4b, ip6a, ip6b).
var (
	out4a = [4]byte{198, 18, 0, 1}
	out4b = [4]byte{198, 18, 0, 2}
	out6a = [16]byte{0xfd, 0, 15: 1}
	out6b = [16]byte{0xfd, 0, 15: 2}
)

// outer4 wraps payload in an IPv4 header from a to b.
func outer4(proto byte, a, b [4]byte, payload []byte) []byte {
	p := ipv4(proto, payload)
	copy(p[12:], a[:])
	copy(p[16:], b[:])
	setIPv4Checksum(p)
	return p
}

// outer6 wraps payload in an IPv6 header from a to b.
func outer6(next byte, a, b [16]byte, payload []byte) []byte {
	p := ipv6(next, payload)
	copy(p[8:], a[:])
	copy(p[24:], b[:])
	return p
}

// udp is a UDP header (checksum 0) before payload.
func udp(sp, dp uint16, payload []byte) []byte {
	return cat(be16(sp), be16(dp), be16(uint16(8+len(payload))), be16(0), payload)
}

func vxlanHdr(vni uint32) []byte { return cat([]byte{0x08, 0, 0, 0}, be32(vni<<8)) }

func geneveHdr(vni uint32, proto uint16, optWords int) []byte {
	return cat([]byte{byte(optWords), 0}, be16(proto), be32(vni<<8), make([]byte, optWords*4))
}

// gtpHdr is a GTPv1-U G-PDU header for an n-byte packet; with seq it
// carries the optional fields and, with ext, one 4-byte extension header.
func gtpHdr(teid uint32, n int, seq, ext bool) []byte {
	flags, opt := byte(0x30), []byte(nil)
	if seq || ext {
		flags |= 0x02
		next := byte(0)
		if ext {
			flags |= 0x04
			next = 0x85
		}
		opt = []byte{0, 1, 0, next}
		if ext {
			opt = append(opt, 1, 0x09, 0, 0) // PDU session container, last
		}
	}
	return cat([]byte{flags, 0xff}, be16(uint16(len(opt)+n)), be32(teid), opt)
}

func greHdr(flags byte, proto uint16, key, seq uint32) []byte {
	h := cat([]byte{flags, 0}, be16(proto))
	if flags&0x80 != 0 {
		h = cat(h, make([]byte, 4))
	}
	if flags&0x20 != 0 {
		h = cat(h, be32(key))
	}
	if flags&0x10 != 0 {
		h = cat(h, be32(seq))
	}
	return h
}

func mplsLabel(label uint32, bottom bool) []byte {
	v := label<<12 | 64
	if bottom {
		v |= 1 << 8
	}
	return be32(v)
}

type decapCase struct {
	name   string
	lt     layers.LinkType
	data   []byte
	kind   Kind
	v6     bool                 // the inner segment is IPv6
	layers []tracker.TunnelKind // the tunnel context, outermost first
	id     uint32               // the innermost layer's ID, if it has one
}

func decapCases() []decapCase {
	seg4, seg6 := v4SYN, v6SYN
	ethSeg := eth(0x0800, seg4)
	vx := udp(50000, 4789, cat(vxlanHdr(42), ethSeg))
	erspan2 := cat([]byte{0x10, 0x00, 0x00, 0x07}, make([]byte, 4))                                // version 1, session 7
	erspan3 := cat([]byte{0x20, 0x00, 0x00, 0x09}, make([]byte, 7), []byte{0x01}, make([]byte, 8)) // version 2, session 9, O flag
	T := func(ks ...tracker.TunnelKind) []tracker.TunnelKind { return ks }
	return []decapCase{
		{"802.1ad over 802.1Q over 802.1Q", layers.LinkTypeEthernet,
			eth(0x88a8, cat(be16(10), be16(0x8100), be16(20), be16(0x8100), be16(30), be16(0x0800), seg4)), TCP, false, nil, 0},
		{"MPLS stack, IPv4", layers.LinkTypeEthernet, eth(0x8847, cat(mplsLabel(16, false), mplsLabel(17, true), seg4)), TCP, false, nil, 0},
		{"MPLS, IPv6", layers.LinkTypeEthernet, eth(0x8847, cat(mplsLabel(16, true), seg6)), TCP, true, nil, 0},
		{"MPLS pseudowire with control word", layers.LinkTypeEthernet, eth(0x8847, cat(mplsLabel(16, true), make([]byte, 4), ethSeg)), TCP, false, nil, 0},
		{"MPLS pseudowire without control word", layers.LinkTypeEthernet, eth(0x8847, cat(mplsLabel(16, true), ethSeg)), TCP, false, nil, 0},
		{"PBB I-TAG", layers.LinkTypeEthernet, eth(0x88a8, cat(be16(5), be16(0x88e7), be32(0x00012345), ethSeg)), TCP, false, nil, 0},
		{"VN-Tag", layers.LinkTypeEthernet, eth(0x8926, cat(be32(0x33), be16(0x0800), seg4)), TCP, false, nil, 0},
		{"IPv4 in IPv4", layers.LinkTypeRaw, outer4(4, out4a, out4b, seg4), TCP, false, T(tracker.TunnelIPinIP), 0},
		{"IPv6 in IPv4", layers.LinkTypeRaw, outer4(41, out4a, out4b, seg6), TCP, true, T(tracker.TunnelIPinIP), 0},
		{"IPv4 in IPv6", layers.LinkTypeRaw, outer6(4, out6a, out6b, seg4), TCP, false, T(tracker.TunnelIPinIP), 0},
		{"IPv6 in IPv6", layers.LinkTypeRaw, outer6(41, out6a, out6b, seg6), TCP, true, T(tracker.TunnelIPinIP), 0},
		{"GRE IPv4", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0, 0x0800, 0, 0), seg4)), TCP, false, T(tracker.TunnelGRE), 0},
		{"GRE checksum key sequence", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0xb0, 0x86dd, 77, 1), seg6)), TCP, true, T(tracker.TunnelGRE), 77},
		{"GRE transparent Ethernet", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0x20, 0x6558, 5, 0), ethSeg)), TCP, false, T(tracker.TunnelGRE), 5},
		{"GRE over IPv6", layers.LinkTypeRaw, outer6(47, out6a, out6b, cat(greHdr(0, 0x0800, 0, 0), seg4)), TCP, false, T(tracker.TunnelGRE), 0},
		{"ERSPAN type I", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0, 0x88be, 0, 0), ethSeg)), TCP, false, T(tracker.TunnelERSPAN), 0},
		{"ERSPAN type II", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0x10, 0x88be, 0, 1), erspan2, ethSeg)), TCP, false, T(tracker.TunnelERSPAN), 7},
		{"ERSPAN type III with subheader", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0x10, 0x22eb, 0, 1), erspan3, ethSeg)), TCP, false, T(tracker.TunnelERSPAN), 9},
		{"GRE MPLS", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0, 0x8847, 0, 0), mplsLabel(3, true), seg4)), TCP, false, T(tracker.TunnelGRE), 0},
		{"VXLAN", layers.LinkTypeRaw, outer4(17, out4a, out4b, vx), TCP, false, T(tracker.TunnelVXLAN), 42},
		{"VXLAN on Linux's port", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(40000, 8472, cat(vxlanHdr(3), ethSeg))), TCP, false, T(tracker.TunnelVXLAN), 3},
		{"VXLAN over IPv6", layers.LinkTypeRaw, outer6(17, out6a, out6b, vx), TCP, false, T(tracker.TunnelVXLAN), 42},
		{"Geneve Ethernet with options", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(1, 6081, cat(geneveHdr(9, 0x6558, 19), ethSeg))), TCP, false, T(tracker.TunnelGeneve), 9},
		{"Geneve IPv6", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(1, 6081, cat(geneveHdr(9, 0x86dd, 0), seg6))), TCP, true, T(tracker.TunnelGeneve), 9},
		{"GTP-U", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(2152, 2152, cat(gtpHdr(0x1234, len(seg4), false, false), seg4))), TCP, false, T(tracker.TunnelGTPU), 0x1234},
		{"GTP-U sequence number", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(2152, 2152, cat(gtpHdr(1, len(seg6), true, false), seg6))), TCP, true, T(tracker.TunnelGTPU), 1},
		{"GTP-U extension header", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(2152, 2152, cat(gtpHdr(1, len(seg4), false, true), seg4))), TCP, false, T(tracker.TunnelGTPU), 1},
		{"Teredo", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(3544, 50000, seg6)), TCP, true, T(tracker.TunnelTeredo), 0},
		{"Teredo origin indication", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(50000, 3544, cat(make([]byte, 8), seg6))), TCP, true, T(tracker.TunnelTeredo), 0},
		{"AYIYA", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(5072, 5072, cat([]byte{0x41, 0x52, 0x11, 41}, make([]byte, 4+16+20), seg6))), TCP, true, T(tracker.TunnelAYIYA), 0},
		{"VXLAN in GRE in IPv6", layers.LinkTypeRaw,
			outer6(47, out6a, out6b, cat(greHdr(0, 0x0800, 0, 0), outer4(17, out4a, out4b, vx))), TCP, false, T(tracker.TunnelGRE, tracker.TunnelVXLAN), 42},

		// Guesses that do not hold are the outer packet, never a connection.
		{"UDP to 4789 that is not VXLAN", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(1, 4789, make([]byte, 60))), NotTCP, false, nil, 0},
		{"VXLAN without its I flag", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(1, 4789, cat(make([]byte, 8), ethSeg))), NotTCP, false, nil, 0},
		{"VXLAN, inner IPv4 checksum wrong", layers.LinkTypeRaw,
			outer4(17, out4a, out4b, udp(1, 4789, cat(vxlanHdr(1), eth(0x0800, func() []byte { p := cat(seg4); p[10]++; return p }())))), NotTCP, false, nil, 0},
		{"VXLAN, inner IPv4 longer than the datagram", layers.LinkTypeRaw,
			outer4(17, out4a, out4b, udp(1, 4789, cat(vxlanHdr(1), eth(0x0800, withIPv4Total(seg4, 400, true))))), NotTCP, false, nil, 0},
		{"VXLAN, inner TCP data offset too large", layers.LinkTypeRaw,
			outer4(17, out4a, out4b, udp(1, 4789, cat(vxlanHdr(1), eth(0x0800, func() []byte { p := cat(seg4); p[32] = 0xf0; return p }())))), NotTCP, false, nil, 0},
		{"GTP-U echo request", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(2152, 2152, cat([]byte{0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0}))), NotTCP, false, nil, 0},
		{"Teredo payload not IPv6", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(3544, 1, seg4)), NotTCP, false, nil, 0},
		{"Teredo IPv6 shorter than the datagram", layers.LinkTypeRaw, outer4(17, out4a, out4b, udp(3544, 1, cat(seg6, make([]byte, 8)))), NotTCP, false, nil, 0},
		{"GRE with routing", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0x40, 0x0800, 0, 0), seg4)), NotTCP, false, nil, 0},
		{"GRE version 2", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat([]byte{0, 2}, be16(0x0800), seg4)), NotTCP, false, nil, 0},
		{"ERSPAN II wrong version", layers.LinkTypeRaw, outer4(47, out4a, out4b, cat(greHdr(0x10, 0x88be, 0, 1), make([]byte, 8), ethSeg)), NotTCP, false, nil, 0},
		{"IP in IP nested past the depth bound", layers.LinkTypeRaw,
			outer4(4, out4a, out4b, outer4(4, out4a, out4b, outer4(4, out4a, out4b, outer4(4, out4a, out4b, outer4(4, out4a, out4b, seg4))))), NotTCP, false, nil, 0},
		{"VXLAN cut by the snaplen", layers.LinkTypeRaw, outer4(17, out4a, out4b, vx)[:20+8+8+14+10], Truncated, false, nil, 0},
	}
}

// TestDecapsulation decodes a SYN inside each encapsulation: the segment
// is the innermost TCP, with the inner addresses and the tunnel context.
func TestDecapsulation(t *testing.T) {
	for _, tc := range decapCases() {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var seg tracker.Segment
			wire := len(tc.data)
			if tc.kind == Truncated {
				wire += 100
			}
			if got := d.Decode(tc.lt, tc.data, wire, &seg); got != tc.kind {
				t.Fatalf("Decode = %v, want %v", got, tc.kind)
			}
			if tc.kind != TCP {
				return
			}
			wantSrc, wantDst := tracker.AddrFrom4(ip4a), tracker.AddrFrom4(ip4b)
			if tc.v6 {
				wantSrc, wantDst = tracker.AddrFrom16(ip6a), tracker.AddrFrom16(ip6b)
			}
			if seg.Src != wantSrc || seg.Dst != wantDst || seg.Flags != tracker.SYN || seg.WScale != 7 {
				t.Errorf("segment %v > %v flags %v wscale %d, want the inner SYN", seg.Src.IP(), seg.Dst.IP(), seg.Flags, seg.WScale)
			}
			if len(tc.layers) == 0 {
				if seg.Tunnel != 0 {
					t.Errorf("tunnel %#x for tags only", seg.Tunnel)
				}
				return
			}
			tun, ok := d.Tunnel(seg.Tunnel)
			if !ok || int(tun.Depth) != len(tc.layers) {
				t.Fatalf("tunnel %#x: %+v, %v; want %d layers", seg.Tunnel, tun, ok, len(tc.layers))
			}
			for i, k := range tc.layers {
				if tun.Layers[i].Kind != k {
					t.Errorf("layer %d is %v, want %v", i, tun.Layers[i].Kind, k)
				}
			}
			if in := tun.Layers[tun.Depth-1]; in.HasID != (tc.id != 0) || in.ID != tc.id {
				t.Errorf("innermost ID %d (present %v), want %d", in.ID, in.HasID, tc.id)
			}
		})
	}
}

// TestNoDecap leaves every tunnel closed, tags still peeled.
func TestNoDecap(t *testing.T) {
	for _, tc := range decapCases() {
		if tc.kind != TCP {
			continue
		}
		d := Decoder{NoDecap: true}
		var seg tracker.Segment
		got := d.Decode(tc.lt, tc.data, len(tc.data), &seg)
		want := NotTCP
		if len(tc.layers) == 0 && tc.lt == layers.LinkTypeEthernet {
			want = TCP // VLAN, MPLS, PBB and VN-Tag are not tunnels
		}
		if got != want {
			t.Errorf("%s: Decode = %v, want %v", tc.name, got, want)
		}
	}
}

// TestTunnelIdentity: the same inner 4-tuple in two VXLAN segments is two
// tunnel contexts; the reverse direction of one is the same context; with
// MergeTunnels there is none.
func TestTunnelIdentity(t *testing.T) {
	inner := eth(0x0800, v4SYN)
	fwd := func(vni uint32) []byte { return outer4(17, out4a, out4b, udp(1000, 4789, cat(vxlanHdr(vni), inner))) }
	rev := outer4(17, out4b, out4a, udp(2000, 4789, cat(vxlanHdr(1), inner)))
	gtpUp := outer4(17, out4a, out4b, udp(2152, 2152, cat(gtpHdr(0x10, len(v4SYN), false, false), v4SYN)))
	gtpDown := outer4(17, out4b, out4a, udp(2152, 2152, cat(gtpHdr(0x20, len(v4SYN), false, false), v4SYN)))
	id := func(d *Decoder, p []byte) uint32 {
		var seg tracker.Segment
		if k := d.Decode(layers.LinkTypeRaw, p, len(p), &seg); k != TCP {
			t.Fatalf("Decode = %v", k)
		}
		return seg.Tunnel
	}
	var d Decoder
	a, b, r := id(&d, fwd(1)), id(&d, fwd(2)), id(&d, rev)
	if a == 0 || a == b || a != r {
		t.Errorf("VNI 1 %#x, VNI 2 %#x, VNI 1 reversed %#x: want VNIs apart, directions together", a, b, r)
	}
	if up, down := id(&d, gtpUp), id(&d, gtpDown); up != down {
		t.Errorf("GTP-U uplink %#x, downlink %#x: a TEID per direction must not split the connection", up, down)
	}
	m := Decoder{MergeTunnels: true}
	if x := id(&m, fwd(1)); x != 0 {
		t.Errorf("merged: tunnel %#x", x)
	}
}

// TestDecapNoAllocs: decoding a tunnelled packet of a known tunnel context
// allocates nothing.
func TestDecapNoAllocs(t *testing.T) {
	for _, tc := range decapCases() {
		var d Decoder
		var seg tracker.Segment
		d.Decode(tc.lt, tc.data, len(tc.data), &seg) // records the context
		if n := testing.AllocsPerRun(200, func() { d.Decode(tc.lt, tc.data, len(tc.data), &seg) }); n != 0 {
			t.Errorf("%s: %v allocations per packet", tc.name, n)
		}
	}
}

// BenchmarkDecap compares decoding a VXLAN-wrapped SYN with the plain one.
func BenchmarkDecap(b *testing.B) {
	vx := outer4(17, out4a, out4b, udp(50000, 4789, cat(vxlanHdr(42), eth(0x0800, v4SYN))))
	for _, bc := range []struct {
		name string
		data []byte
	}{{"plain", v4SYN}, {"vxlan", vx}} {
		b.Run(bc.name, func(b *testing.B) {
			var d Decoder
			var seg tracker.Segment
			b.ReportAllocs()
			for b.Loop() {
				d.Decode(layers.LinkTypeRaw, bc.data, len(bc.data), &seg)
			}
		})
	}
}

// FuzzDecap feeds tunnelled packets, mutated, to the decoder, several per
// input so that fragments can complete. Whatever the bytes: it never
// panics; a packet gives at most one segment; a segment read from the packet
// itself (not completed from an earlier fragment) has its TCP header inside
// the captured bytes, with the ports and sequence number found there; and the
// tunnel context a segment names is one the decoder recorded, no deeper than
// the bound.
func FuzzDecap(f *testing.F) {
	for _, tc := range decapCases() {
		f.Add(uint8(0), tc.data)
	}
	vx := outer4(17, out4a, out4b, udp(1, 4789, cat(vxlanHdr(5), eth(0x0800, ipv4(6, tcpSeg(tcpSpec{payload: 100}))))))
	f.Add(uint8(2), cat(frags4(vx, 3, 72)...))
	f.Fuzz(func(t *testing.T, split uint8, data []byte) {
		var d Decoder
		var seg tracker.Segment
		pkts := [][]byte{data}
		if n := int(split); n > 0 && n < len(data) {
			pkts = [][]byte{data[:n], data[n:]}
		}
		for _, p := range pkts {
			for _, lt := range []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeEthernet} {
				d.tcpOff = -1
				k := d.Decode(lt, p, len(p), &seg)
				if k > Malformed {
					t.Fatalf("Decode returned %v", k)
				}
				if k != TCP {
					continue
				}
				if off := d.tcpOff; off >= 0 {
					if off+20 > len(p) {
						t.Fatalf("TCP header at %d of a %d-byte packet", off, len(p))
					}
					if binary.BigEndian.Uint16(p[off:]) != seg.SrcPort || binary.BigEndian.Uint32(p[off+4:]) != uint32(seg.Seq) {
						t.Fatalf("segment's ports or sequence number not those at %d", off)
					}
				}
				if seg.Tunnel != 0 {
					if tun, ok := d.Tunnel(seg.Tunnel); !ok || tun.Depth == 0 || tun.Depth > tracker.MaxTunnelDepth {
						t.Fatalf("tunnel %#x: %+v %v", seg.Tunnel, tun, ok)
					}
				}
			}
		}
	})
}

// TestMPLSControlWordGuessLeavesNoState: a pseudowire payload starting with
// a 0 nibble is first tried as a control word and an Ethernet frame; when
// that fails, the frame without a control word is decoded afresh, with
// nothing the failed try found (here a later IPv4 fragment, which would
// hold the real segment back) left over.
func TestMPLSControlWordGuessLeavesNoState(t *testing.T) {
	// The frame without a control word: Ethernet, IPv6, TCP. Four bytes
	// on, the flow label reads as the IPv4 ethertype, and the payload
	// length, next header, hop limit and source address as an IPv4 later
	// fragment with a right header checksum.
	seg := tcpSeg(tcpSpec{flags: 0x18, payload: 0x4500 - 20})
	ip := ipv6(protoTCP, seg)
	ip[2], ip[3] = 0x08, 0x00 // flow label
	ip[7] = 0x40              // hop limit
	src := ip[8:24]
	copy(src, []byte{0x12, 0x34, 0x00, 0x01, 64, protoTCP, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	v4 := ip[4:24] // its first byte, the payload length's high one, 0x45
	setIPv4Checksum(v4)
	if !ipv4ChecksumOK(v4, 0, 20) {
		t.Fatal("the decoy IPv4 header's checksum is wrong")
	}
	p := eth(0x8847, cat(mplsLabel(100, true), eth(0x86dd, ip)))
	var d Decoder
	var s tracker.Segment
	if k := d.Decode(layers.LinkTypeEthernet, p, len(p), &s); k != TCP {
		t.Fatalf("Decode = %v, want TCP", k)
	}
	if s.Payload != 0x4500-20 || s.Tunnel != 0 || s.Src != tracker.AddrFrom16([16]byte(src)) {
		t.Errorf("payload %d, tunnel %#x, from %v; want %d, none (MPLS is no tunnel context), the IPv6 source",
			s.Payload, s.Tunnel, s.Src.IP(), 0x4500-20)
	}
	if st := d.FragmentStats(); st != (FragmentStats{}) {
		t.Errorf("fragment stats %+v, want none", st)
	}
}

// TestTunnelledSuperPacket: a segmentation-offload super-packet (BIG TCP)
// captured on the sending host has zero IP lengths, outer and inner; inside
// a tunnel it is taken as on the plain path, its length the wire's, and its
// checksum unverified. A zero length with no super-packet around it is no
// header a guess can trust.
func TestTunnelledSuperPacket(t *testing.T) {
	inner := ipv4(6, tcpSeg(tcpSpec{flags: 0x10, payload: 3000}))
	zero := withIPv4Total(inner, 0, true)
	zero6 := ipv6(6, tcpSeg(tcpSpec{flags: 0x10, payload: 3000}))
	zero6[4], zero6[5] = 0, 0
	for _, tc := range []struct {
		name string
		data []byte
		want Kind
	}{
		{"IP in IP, both lengths zero", withIPv4Total(outer4(4, out4a, out4b, zero), 0, true), TCP},
		{"GRE over IPv4, both lengths zero", withIPv4Total(outer4(47, out4a, out4b, cat(greHdr(0, 0x0800, 0, 0), zero)), 0, true), TCP},
		{"IPv6 in IPv4, both lengths zero", withIPv4Total(outer4(41, out4a, out4b, zero6), 0, true), TCP},
		{"inner length zero only", outer4(4, out4a, out4b, zero), NotTCP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var seg tracker.Segment
			k := d.Decode(layers.LinkTypeRaw, tc.data, len(tc.data), &seg)
			if k != tc.want {
				t.Fatalf("Decode = %v, want %v", k, tc.want)
			}
			if k == TCP && (seg.Payload != 3000 || seg.Checksum != tracker.ChecksumUnverified) {
				t.Errorf("payload %d checksum %v, want 3000 unverified", seg.Payload, seg.Checksum)
			}
		})
	}
}
