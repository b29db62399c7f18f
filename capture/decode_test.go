package capture

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Shorthands for the packets most cases are built from.
var (
	v4SYN  = ipv4(6, tcpSeg(synSpec))
	v4Data = ipv4(6, tcpSeg(dataSpec))
	v6SYN  = ipv6(6, tcpSeg(synSpec))
)

func vlan(tpid uint16, vid uint16, inner uint16, payload []byte) []byte {
	return cat(be16(tpid), be16(vid), be16(inner), payload)
}

// etherWith builds an Ethernet frame whose EtherType field is typ and whose
// body is body, for tag stacks where the first EtherType is a tag.
func withIPv4Total(p []byte, total uint16, fixChecksum bool) []byte {
	p = append([]byte(nil), p...)
	binary.BigEndian.PutUint16(p[2:], total)
	if fixChecksum {
		setIPv4Checksum(p)
	}
	return p
}

// withOpts is the IPv4 packet of spec with these TCP options.
func withOpts(spec tcpSpec, opts []byte) []byte {
	spec.opts = opts
	return ipv4(6, tcpSeg(spec))
}

func TestDecode(t *testing.T) {
	type want struct {
		kind    Kind
		payload uint32
		wscale  int8
		v6      bool
	}
	syn := want{kind: TCP, payload: 0, wscale: 7}
	data := want{kind: TCP, payload: 100, wscale: -1}
	syn6 := want{kind: TCP, wscale: 7, v6: true}

	frag := ipv4(6, tcpSeg(dataSpec))
	binary.BigEndian.PutUint16(frag[6:], 185) // offset 185*8
	setIPv4Checksum(frag)
	firstFrag := ipv4(6, tcpSeg(dataSpec))
	firstFrag[6] = 0x20 // MF, offset 0
	setIPv4Checksum(firstFrag)

	tso := withIPv4Total(v4Data, 0, true)
	longBadSum := withIPv4Total(v4Data, 1500, false)
	longGoodSum := withIPv4Total(v4Data, 1500, true)

	hbhDstRtFragAH := ipv6(0, cat(ext6(0, 60, 0), ext6(60, 43, 8), ext6(43, 44, 0), ext6(44, 51, 0), ext6(51, 6, 4), tcpSeg(synSpec)))
	frag6 := ipv6(44, cat([]byte{6, 0, 0x00, 0x10, 0, 0, 0, 1}, tcpSeg(dataSpec))) // offset 2
	frag6udp := ipv6(44, cat([]byte{17, 0, 0x00, 0x10, 0, 0, 0, 1}, make([]byte, 16)))
	frag6icmp := ipv6(44, cat([]byte{58, 0, 0x00, 0x10, 0, 0, 0, 1}, make([]byte, 16)))
	badExt := ipv6(0, cat([]byte{6, 200, 0, 0, 0, 0, 0, 0}, tcpSeg(synSpec))) // 1608-byte HBH
	noNext := ipv6(59, nil)

	nflogRec := func(order order, family byte, pkt []byte) []byte {
		b := []byte{family, 0, 0, 0}
		tlv := func(typ uint16, v []byte) {
			n := 4 + len(v)
			b = order.AppendUint16(b, uint16(n))
			b = order.AppendUint16(b, typ)
			b = append(b, v...)
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
		}
		tlv(1, []byte{8, 0, 3, 0})      // packet header
		tlv(10, []byte("a prefix\x00")) // prefix, needs padding
		tlv(9, pkt)                     // payload
		return b
	}

	for _, tc := range []struct {
		name    string
		lt      layers.LinkType
		data    []byte
		wireLen int // 0: len(data)
		want    want
	}{
		// Ethernet and what can sit between it and IP.
		{"ether ipv4 syn", layers.LinkTypeEthernet, eth(0x0800, v4SYN), 0, syn},
		{"ether ipv4 data", layers.LinkTypeEthernet, eth(0x0800, v4Data), 0, data},
		{"ether padding not payload", layers.LinkTypeEthernet, cat(eth(0x0800, ipv4(6, tcpSeg(tcpSpec{flags: 0x10}))), make([]byte, 6)), 0, want{kind: TCP, wscale: -1}},
		{"ether fcs not payload", layers.LinkTypeEthernet, cat(eth(0x0800, v4Data), []byte{1, 2, 3, 4}), 0, data},
		{"ether payload cut by snaplen", layers.LinkTypeEthernet, eth(0x0800, v4Data)[:14+40+10], 14 + 140, data},
		{"ether ipv6", layers.LinkTypeEthernet, eth(0x86dd, v6SYN), 0, syn6},
		{"802.1Q", layers.LinkTypeEthernet, eth(0x8100, cat(be16(100), be16(0x0800), v4SYN)), 0, syn},
		{"QinQ 88a8", layers.LinkTypeEthernet, eth(0x88a8, cat(be16(10), vlan(0x8100, 20, 0x0800, v4SYN))), 0, syn},
		{"QinQ 9100", layers.LinkTypeEthernet, eth(0x9100, cat(be16(10), be16(0x8100), be16(20), be16(0x86dd), v6SYN)), 0, syn6},
		{"PPPoE session", layers.LinkTypeEthernet, eth(0x8864, cat([]byte{0x11, 0, 0, 1}, be16(uint16(2+len(v4SYN))), be16(0x0021), v4SYN)), 0, syn},
		{"PPPoE ipv6", layers.LinkTypeEthernet, eth(0x8864, cat([]byte{0x11, 0, 0, 1}, be16(uint16(2+len(v6SYN))), be16(0x0057), v6SYN)), 0, syn6},
		{"PPPoE LCP", layers.LinkTypeEthernet, eth(0x8864, cat([]byte{0x11, 0, 0, 1}, be16(6), be16(0xc021), make([]byte, 4))), 0, want{kind: NotTCP}},
		{"VN-Tag", layers.LinkTypeEthernet, eth(0x8100, cat(be16(250), be16(0x8926), []byte{0, 0, 0, 0x33}, be16(0x0800), v4SYN)), 0, syn},
		{"FabricPath", layers.LinkTypeEthernet, eth(0x8903, cat(make([]byte, 2), make([]byte, 12), be16(0x0800), v4SYN)), 0, syn},
		{"802.3 LLC SNAP", layers.LinkTypeEthernet, eth(uint16(8+len(v4SYN)), cat([]byte{0xaa, 0xaa, 3, 0, 0, 0}, be16(0x0800), v4SYN)), 0, syn},
		{"802.3 LLC STP", layers.LinkTypeEthernet, eth(38, cat([]byte{0x42, 0x42, 3}, make([]byte, 35))), 0, want{kind: NotTCP}},
		{"ARP", layers.LinkTypeEthernet, eth(0x0806, make([]byte, 28)), 0, want{kind: NotTCP}},
		{"too many tags", layers.LinkTypeEthernet, eth(0x8100, cat(bytes.Repeat(cat(be16(1), be16(0x8100)), 9), be16(1), be16(0x0800), v4SYN)), 0, want{kind: NotTCP}},
		{"eight tags", layers.LinkTypeEthernet, eth(0x8100, cat(bytes.Repeat(cat(be16(1), be16(0x8100)), 7), be16(1), be16(0x0800), v4SYN)), 0, syn},
		{"ether header cut", layers.LinkTypeEthernet, eth(0x0800, nil)[:10], 60, want{kind: Truncated}},
		{"ether runt", layers.LinkTypeEthernet, eth(0x0800, nil)[:10], 0, want{kind: Malformed}},

		// Other link types.
		{"raw 101 v4", layers.LinkTypeRaw, v4SYN, 0, syn},
		{"raw 101 v6", layers.LinkTypeRaw, v6SYN, 0, syn6},
		{"raw 12", 12, v4SYN, 0, syn},
		{"raw 14", 14, v6SYN, 0, syn6},
		{"IPV4 228", layers.LinkTypeIPv4, v4SYN, 0, syn},
		{"IPV6 229", layers.LinkTypeIPv6, v6SYN, 0, syn6},
		{"raw not IP", layers.LinkTypeRaw, []byte{0x50, 1, 2, 3}, 0, want{kind: NotTCP}},
		{"SLL", layers.LinkTypeLinuxSLL, cat([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, be16(0x0800), v4SYN), 0, syn},
		{"SLL vlan", layers.LinkTypeLinuxSLL, cat([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, be16(0x8100), be16(5), be16(0x86dd), v6SYN), 0, syn6},
		{"SLL2", layers.LinkTypeLinuxSLL2, cat(be16(0x86dd), []byte{0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0}, v6SYN), 0, syn6},
		{"NULL little-endian AF_INET", layers.LinkTypeNull, cat(le32(2), v4SYN), 0, syn},
		{"NULL big-endian AF_INET", layers.LinkTypeNull, cat(be32(2), v4SYN), 0, syn},
		{"NULL AF_INET6 24", layers.LinkTypeNull, cat(le32(24), v6SYN), 0, syn6},
		{"NULL AF_INET6 28", layers.LinkTypeNull, cat(le32(28), v6SYN), 0, syn6},
		{"NULL AF_INET6 30", layers.LinkTypeNull, cat(le32(30), v6SYN), 0, syn6},
		{"LOOP AF_INET", layers.LinkTypeLoop, cat(be32(2), v4SYN), 0, syn},
		{"LOOP AF_INET6 30", layers.LinkTypeLoop, cat(be32(30), v6SYN), 0, syn6},
		{"NULL other family", layers.LinkTypeNull, cat(le32(7), v4SYN), 0, want{kind: NotTCP}},
		{"NFLOG v4", linkTypeNFLOG, nflogRec(binary.LittleEndian, 2, v4SYN), 0, syn},
		{"NFLOG v6 big-endian TLVs", linkTypeNFLOG, nflogRec(binary.BigEndian, 10, v6SYN), 0, syn6},
		{"NFLOG no payload", linkTypeNFLOG, []byte{2, 0, 0, 0, 8, 0, 1, 0, 8, 0, 3, 0}, 0, want{kind: NotTCP}},
		{"FDDI", layers.LinkTypeFDDI, cat([]byte{0x50}, make([]byte, 12), []byte{0xaa, 0xaa, 3, 0, 0, 0}, be16(0x0800), v4SYN), 0, syn},
		{"PPP", layers.LinkTypePPP, cat(be16(0x0021), v4SYN), 0, syn},
		{"PPP HDLC framing", layers.LinkTypePPP_HDLC, cat([]byte{0xff, 0x03}, be16(0x0057), v6SYN), 0, syn6},
		{"C_HDLC", layers.LinkTypeC_HDLC, cat([]byte{0x0f, 0}, be16(0x0800), v4SYN), 0, syn},
		{"unsupported link type", layers.LinkTypeIEEE802_11, eth(0x0800, v4SYN), 0, want{kind: NotTCP}},

		// IPv4.
		{"ipv4 udp", layers.LinkTypeRaw, ipv4(17, make([]byte, 8)), 0, want{kind: NotTCP}},
		{"ipv4 later fragment", layers.LinkTypeRaw, frag, 0, want{kind: Fragment}},
		{"ipv4 first fragment is held until the datagram is whole", layers.LinkTypeRaw, firstFrag, 0, want{kind: Fragment}},
		{"ipv4 TSO zero total length", layers.LinkTypeRaw, tso, 0, data},
		{"ipv4 total beyond wire, bad checksum", layers.LinkTypeRaw, longBadSum, 0, want{kind: Malformed}},
		{"ipv4 total beyond wire, good checksum", layers.LinkTypeRaw, longGoodSum, 0, want{kind: TCP, payload: 1500 - 40, wscale: -1}},
		{"ipv4 ihl below 5", layers.LinkTypeRaw, func() []byte { p := append([]byte(nil), v4SYN...); p[0] = 0x44; return p }(), 0, want{kind: Malformed}},
		{"ipv4 total below ihl", layers.LinkTypeRaw, withIPv4Total(v4SYN, 12, true), 0, want{kind: Malformed}},
		{"ipv4 header cut", layers.LinkTypeRaw, v4SYN[:16], len(v4SYN), want{kind: Truncated}},
		{"ipv4 wrong version in ethernet", layers.LinkTypeEthernet, eth(0x0800, v6SYN), 0, want{kind: Malformed}},

		// IPv6.
		{"ipv6 extension headers", layers.LinkTypeRaw, hbhDstRtFragAH, 0, syn6},
		{"ipv6 later fragment", layers.LinkTypeRaw, frag6, 0, want{kind: Fragment, v6: true}},
		{"ipv6 later fragment of udp may be a tunnel's", layers.LinkTypeRaw, frag6udp, 0, want{kind: Fragment, v6: true}},
		{"ipv6 later fragment of icmp", layers.LinkTypeRaw, frag6icmp, 0, want{kind: NotTCP, v6: true}},
		{"ipv6 extension past the end", layers.LinkTypeRaw, badExt, 0, want{kind: Malformed, v6: true}},
		{"ipv6 no next header", layers.LinkTypeRaw, noNext, 0, want{kind: NotTCP, v6: true}},
		{"ipv6 icmp", layers.LinkTypeRaw, ipv6(58, make([]byte, 8)), 0, want{kind: NotTCP, v6: true}},
		{"ipv6 payload length beyond wire", layers.LinkTypeRaw, func() []byte { p := append([]byte(nil), v6SYN...); p[4] = 9; return p }(), 0, want{kind: Malformed, v6: true}},
		{"ipv6 payload cut by snaplen", layers.LinkTypeRaw, ipv6(6, tcpSeg(dataSpec))[:60], 140 + 40, want{kind: TCP, payload: 100, wscale: -1, v6: true}},

		// TCP.
		{"tcp header cut", layers.LinkTypeRaw, v4SYN[:30], len(v4SYN), want{kind: Truncated}},
		{"tcp options cut before the window scale: the largest", layers.LinkTypeRaw, v4SYN[:44], len(v4SYN), want{kind: TCP, wscale: 14}},
		{"tcp options cut after the window scale", layers.LinkTypeRaw, withOpts(synSpec, []byte{1, 3, 3, 7, 2, 4, 5, 0xb4})[:44], 48, want{kind: TCP, wscale: 7}},
		{"tcp options of an ACK cut", layers.LinkTypeRaw, withOpts(dataSpec, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})[:44], 152, want{kind: TCP, payload: 100, wscale: -1}},
		{"tcp options cut, not by snaplen", layers.LinkTypeRaw, withIPv4Total(v4SYN[:44], 44, true), 0, want{kind: Malformed}},
		{"tcp header cut, not by snaplen", layers.LinkTypeRaw, withIPv4Total(v4SYN[:30], 30, true), 0, want{kind: Malformed}},
		{"tcp data offset below 5", layers.LinkTypeRaw, func() []byte { p := ipv4(6, tcpSeg(dataSpec)); p[32] = 0x40; return p }(), 0, want{kind: Malformed}},
		{"tcp data offset beyond ip", layers.LinkTypeRaw, func() []byte { p := ipv4(6, tcpSeg(tcpSpec{})); p[32] = 0xf0; return p }(), 0, want{kind: Malformed}},
		{"tcp ip payload shorter than header", layers.LinkTypeRaw, withIPv4Total(v4SYN, 30, true), 0, want{kind: Malformed}},
		{"wscale above 14", layers.LinkTypeRaw, ipv4(6, tcpSeg(tcpSpec{flags: 2, opts: []byte{3, 3, 20}})), 0, want{kind: TCP, wscale: 14}},
		{"wscale after EOL", layers.LinkTypeRaw, ipv4(6, tcpSeg(tcpSpec{flags: 2, opts: []byte{0, 3, 3, 2}})), 0, want{kind: TCP, wscale: -1}},
		{"broken option list", layers.LinkTypeRaw, ipv4(6, tcpSeg(tcpSpec{flags: 2, opts: []byte{2, 0, 3, 3, 2}})), 0, want{kind: TCP, wscale: -1}},
		{"option past header", layers.LinkTypeRaw, ipv4(6, tcpSeg(tcpSpec{flags: 2, opts: []byte{1, 1, 1, 3}})), 0, want{kind: TCP, wscale: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := tc.wireLen
			if wire == 0 {
				wire = len(tc.data)
			}
			var d Decoder
			seg := tracker.Segment{WScale: 99}
			got := d.Decode(tc.lt, tc.data, wire, &seg)
			if got != tc.want.kind {
				t.Fatalf("Decode = %v, want %v", got, tc.want.kind)
			}
			if got != TCP {
				return
			}
			if seg.Payload != tc.want.payload || seg.WScale != tc.want.wscale {
				t.Errorf("payload %d wscale %d, want %d %d", seg.Payload, seg.WScale, tc.want.payload, tc.want.wscale)
			}
			wantSrc, wantDst := tracker.AddrFrom4(ip4a), tracker.AddrFrom4(ip4b)
			if tc.want.v6 {
				wantSrc, wantDst = tracker.AddrFrom16(ip6a), tracker.AddrFrom16(ip6b)
			}
			if seg.Src != wantSrc || seg.Dst != wantDst {
				t.Errorf("addresses %v > %v", seg.Src.IP(), seg.Dst.IP())
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	spec := tcpSpec{sport: 1234, dport: 80, seq: 0xfffffff0, ack: 7, flags: 0x1ff, win: 0xabcd, payload: 3}
	var d Decoder
	var seg tracker.Segment
	if k := d.Decode(layers.LinkTypeEthernet, eth(0x0800, ipv4(6, tcpSeg(spec))), 0, &seg); k != TCP {
		t.Fatalf("kind %v", k)
	}
	want := tracker.Segment{
		Src: tracker.AddrFrom4(ip4a), Dst: tracker.AddrFrom4(ip4b), SrcPort: 1234, DstPort: 80,
		Seq: 0xfffffff0, Ack: 7, Window: 0xabcd, WScale: -1, Payload: 3,
		Checksum: tracker.ChecksumOffloaded, // tcpSeg leaves the TCP checksum 0, as a sending host with offload captures it
		Flags:    tracker.FIN | tracker.SYN | tracker.RST | tracker.PSH | tracker.ACK | tracker.URG | tracker.ECE | tracker.CWR | tracker.NS,
	}
	if seg != want {
		t.Errorf("got  %+v\nwant %+v", seg, want)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{TCP: "TCP", Filtered: "Filtered", 42: "Kind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
}

// TestDecodeNoAllocs fails if decoding allocates.
func TestDecodeNoAllocs(t *testing.T) {
	pkts := [][]byte{eth(0x0800, v4SYN), eth(0x86dd, v6SYN), eth(0x8100, cat(be16(1), be16(0x0800), v4Data))}
	var d Decoder
	var seg tracker.Segment
	for _, p := range pkts {
		if n := testing.AllocsPerRun(1000, func() { d.Decode(layers.LinkTypeEthernet, p, len(p), &seg) }); n != 0 {
			t.Errorf("Decode allocates %.1f times per packet", n)
		}
	}
}

// TestDecodeReadsTimestamps: the timestamps option's TSval and TSecr are
// read wherever it is among the options; one of another length, one cut
// by the snaplen, one after the end of the list or a broken list's are
// not; of two, the first counts.
func TestDecodeReadsTimestamps(t *testing.T) {
	ts := func(val, ecr uint32) []byte {
		b := []byte{8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[2:], val)
		binary.BigEndian.PutUint32(b[6:], ecr)
		return b
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	type want struct {
		has      bool
		val, ecr uint32
	}
	for _, tc := range []struct {
		name string
		opts []byte
		cut  int // bytes of the packet the snaplen kept, 0: all
		want want
	}{
		{"aligned after two no-operations", cat([]byte{1, 1}, ts(7, 9)), 0, want{true, 7, 9}},
		{"in a SYN's options", cat([]byte{2, 4, 5, 0xb4, 4, 2}, ts(0xfffffffe, 0), []byte{1, 3, 3, 7}), 0, want{true, 0xfffffffe, 0}},
		{"none", []byte{1, 1, 4, 2}, 0, want{}},
		{"another length", []byte{8, 8, 0, 0, 0, 1, 0, 2}, 0, want{}},
		{"after the end of the list", cat([]byte{0}, ts(1, 2)), 0, want{}},
		{"after a broken option", cat([]byte{5, 1}, ts(1, 2)), 0, want{}},
		{"cut by the snaplen", cat([]byte{1, 1}, ts(7, 9)), 20 + 20 + 8, want{}},
		{"two: the first", cat([]byte{1, 1}, ts(3, 4), []byte{1, 1}, ts(5, 6)), 0, want{true, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ipv4(6, tcpSeg(tcpSpec{flags: 0x10, opts: tc.opts}))
			wire := len(p)
			if tc.cut > 0 {
				p = p[:tc.cut]
			}
			var d Decoder
			seg := tracker.Segment{HasTS: true, TSVal: 99, TSEcr: 99} // (left from an earlier packet)
			if k := d.Decode(layers.LinkTypeRaw, p, wire, &seg); k != TCP {
				t.Fatalf("Decode = %v", k)
			}
			if got := (want{seg.HasTS, seg.TSVal, seg.TSEcr}); got != tc.want {
				t.Errorf("timestamps %+v, want %+v", got, tc.want)
			}
		})
	}
}
