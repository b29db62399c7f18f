package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// Kind says what a packet turned out to be.
type Kind uint8

// Packet kinds. Only TCP packets carry a Segment.
const (
	TCP       Kind = iota // a TCP segment; Packet.Seg is valid
	NotTCP                // anything else: ARP, UDP, ICMP, an unknown EtherType, ...
	Fragment              // an IP fragment that did not complete a datagram carrying TCP (held, or a later piece)
	Truncated             // the TCP header (or an IP header before it) was cut by the snaplen
	Malformed             // lengths or header fields that cannot be right
	Filtered              // rejected by the BPF filter
	// ICMPError: an ICMP or ICMPv6 error quoting a TCP segment (destination
	// unreachable, time exceeded, parameter problem); Packet.Seg is the
	// quoted segment as its sender sent it, Seg.ICMP the error. It is not
	// TCP: Stats counts it in NotTCP.
	ICMPError
)

var kindNames = [...]string{"TCP", "NotTCP", "Fragment", "Truncated", "Malformed", "Filtered", "ICMPError"}

// String returns the constant's name, or "Kind(N)" for an unknown value.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + itoa(uint64(k)) + ")"
}

// EtherTypes and protocol numbers the decoder walks through.
const (
	etherIPv4      = 0x0800
	etherIPv6      = 0x86dd
	etherVLAN      = 0x8100 // IEEE 802.1Q
	etherQinQ      = 0x88a8 // IEEE 802.1ad service tag
	etherQinQOld1  = 0x9100 // pre-standard QinQ
	etherQinQOld2  = 0x9200
	etherPPPoE     = 0x8864 // PPPoE session stage
	etherFabric    = 0x8903 // Cisco FabricPath: a 16-byte outer header before a whole Ethernet frame
	etherVNTag     = 0x8926 // Cisco VN-Tag: a 4-byte tag, then the EtherType
	etherPBB       = 0x88e7 // IEEE 802.1ah backbone service instance tag (I-TAG)
	etherMPLS      = 0x8847 // MPLS unicast label stack
	etherMPLSMulti = 0x8848 // MPLS multicast label stack

	pppIPv4 = 0x0021
	pppIPv6 = 0x0057

	protoICMP     = 1
	protoTCP      = 6
	protoICMPv6   = 58
	protoHopByHop = 0
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoNoNext   = 59
	protoDstOpts  = 60

	maxTags      = 8  // VLAN tags, PPPoE and FabricPath headers peeled before giving up, per layer
	maxTagsInAll = 24 // and in all, whatever the tunnels
)

// Decoder turns a captured packet into a tracker.Segment. It parses the
// headers by hand, in place, and allocates nothing per packet; the zero
// value is ready to use and opens tunnels (see tunnel.go). It remembers the
// tunnel contexts it has seen ([Decoder.Tunnel]), so callers reuse one per
// input.
//
// Hand-written parsing was chosen over gopacket's DecodingLayerParser after
// measuring both (see BenchmarkDecode and BenchmarkDecodeGopacket): the
// parser needs only a dozen fields, and copying every layer's fields into
// reused structs costs several times more than reading those fields directly.
type Decoder struct {
	// NoDecap leaves tunnels closed: their outer packets are NotTCP.
	NoDecap bool
	// MergeTunnels opens tunnels but leaves Segment.Tunnel 0, so that the
	// same inner 4-tuple in different tunnels is one connection.
	MergeTunnels bool
	// NoChecksums leaves checksums unverified (Segment.Checksum is always
	// tracker.ChecksumUnverified).
	NoChecksums bool

	tunnels tunnelRegistry
	frags   fragTable

	// The packet being decoded, kept here rather than in its walk so that
	// nothing this size is cleared per packet: the tunnels entered (Depth
	// reset per packet), the IP fragment it is, if any (the outermost one
	// only: valid reset per packet), and how many tunnels enclose that.
	tun       tracker.Tunnel
	frag      fragInfo
	fragDepth uint8
	w         walk  // reused: every field is set at the start of a packet
	now       int64 // the packet's capture time (fragment timeouts), set by Reader
	tcpOff    int   // where the last TCP header decoded started in its packet (tests)
}

// FragmentStats returns the counts of IP reassembly so far.
func (d *Decoder) FragmentStats() FragmentStats { return d.frags.Stats() }

// Decode decodes one packet of the given link type. data holds the captured
// bytes and wireLen the packet's length on the wire (data may be shorter when
// the snaplen cut it). When the result is TCP, seg holds the segment, except
// for seg.Time and seg.Packet, which Decode leaves alone; otherwise seg's
// contents are unspecified.
//
// Link types that Supported reports false for decode as NotTCP.
func (d *Decoder) Decode(linkType layers.LinkType, data []byte, wireLen int, seg *tracker.Segment) Kind {
	seg.ICMP = 0 // (set only for an ICMPError)
	if wireLen < len(data) {
		wireLen = len(data)
	}
	off, ether, ok := linkHeader(linkType, data)
	if !ok {
		return shortOrMalformed(data, wireLen)
	}
	d.tun.Depth, d.frag.valid = 0, false
	w := &d.w
	w.d, w.data, w.wireLen, w.limit, w.seg = d, data, wireLen, wireLen, seg
	w.guessed, w.fragment, w.tags, w.tcpOff, w.super = false, false, 0, 0, false
	k := decodeEther(w, ether, off)
	if k == TCP {
		seg.Tunnel = d.tunnelID(&d.tun)
		d.tcpOff = w.tcpOff
	}
	if k == ICMPError {
		seg.Tunnel = d.tunnelID(&d.tun) // (the quoted segment's connection is in the same tunnel)
	}
	if d.frag.valid {
		k = d.frags.add(&d.frag, k, seg, d.tun.Depth == d.fragDepth, d.now)
	}
	return k
}

// walk is the decoding of one packet: its bytes, where the payload that
// encloses the current header ends, and the tunnels entered on the way.
type walk struct {
	d       *Decoder
	data    []byte
	wireLen int
	seg     *tracker.Segment
	// limit is where the enclosing payload ends on the wire: wireLen for
	// the outermost header, the end of the outer payload inside a tunnel.
	limit int
	// guessed is set once the decoder took a header for what its context
	// suggests (a UDP port, an MPLS payload's first nibble): every header
	// after it must prove itself (fit in limit, a correct IPv4 checksum).
	guessed bool
	// fragment is set inside a first IP fragment: the inner lengths reach
	// past the fragment's end, up to the whole datagram's.
	fragment bool
	tags     int // link-level tags peeled in all (bounded by maxTags per layer)
	tcpOff   int // where the innermost TCP header starts, once found
	// finalDst is where, in data, the final destination of the innermost
	// IPv6 header's Routing header starts (0: the Destination Address is
	// the final one); routeUnknown says that a Routing header holds a
	// destination still to come that cannot be read.
	finalDst     int
	routeUnknown bool
	// super is set once an outer IP header's zero length was taken for
	// a segmentation-offload super-packet's: the headers inside it may
	// have a zero length too, and theirs is then what encloses them.
	super bool
}

// Supported reports whether the decoder understands the link type.
func Supported(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		layers.LinkTypeNull, layers.LinkTypeLoop, linkTypeNFLOG, layers.LinkTypeFDDI,
		layers.LinkTypePPP, layers.LinkTypePPP_HDLC, layers.LinkTypeC_HDLC:
		return true
	}
	return false
}

const linkTypeNFLOG layers.LinkType = 239

// shortOrMalformed classifies a packet whose headers do not fit in the
// captured bytes: cut by the snaplen, or too short on the wire as well.
func shortOrMalformed(data []byte, wireLen int) Kind {
	if len(data) < wireLen {
		return Truncated
	}
	return Malformed
}

// linkHeader strips the link-layer header. It returns where the next header
// starts and what it is, as an EtherType (IPv4 and IPv6 only for link types
// that carry bare IP). ok is false when the link header itself is cut short.
// An EtherType of 0 means "not something we follow".
func linkHeader(lt layers.LinkType, data []byte) (off int, ether uint16, ok bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return 0, 0, false
		}
		return 14, binary.BigEndian.Uint16(data[12:14]), true

	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if len(data) < 1 {
			return 0, 0, false
		}
		return 0, ipVersion(data[0]), true

	case layers.LinkTypeLinuxSLL:
		// packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2)
		if len(data) < 16 {
			return 0, 0, false
		}
		return 16, binary.BigEndian.Uint16(data[14:16]), true

	case layers.LinkTypeLinuxSLL2:
		// protocol(2) reserved(2) interface(4) ARPHRD type(2) packet type(1) address length(1) address(8)
		if len(data) < 20 {
			return 0, 0, false
		}
		return 20, binary.BigEndian.Uint16(data[0:2]), true

	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// A 4-byte address family: host byte order of the capturing machine
		// for NULL, network byte order for LOOP; accept both for both.
		if len(data) < 4 {
			return 0, 0, false
		}
		af := binary.LittleEndian.Uint32(data[0:4])
		if af > 0xffff {
			af = binary.BigEndian.Uint32(data[0:4])
		}
		switch af {
		case 2: // AF_INET everywhere
			return 4, etherIPv4, true
		case 10, 24, 28, 30: // AF_INET6: Linux, OpenBSD/NetBSD, FreeBSD, Darwin
			return 4, etherIPv6, true
		}
		return 4, 0, true

	case layers.LinkTypeFDDI:
		// frame control(1) destination(6) source(6), then 802.2 LLC.
		if len(data) < 13 {
			return 0, 0, false
		}
		return llcSNAP(data, 13)

	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		// Optional HDLC-like address 0xff and control 0x03, then a 1- or
		// 2-byte protocol field (RFC 1661 §2, RFC 1662 §3.1).
		off := 0
		if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
			off = 2
		}
		if len(data) < off+1 {
			return 0, 0, false
		}
		var proto uint16
		if data[off]&1 == 1 { // compressed protocol field
			proto, off = uint16(data[off]), off+1
		} else {
			if len(data) < off+2 {
				return 0, 0, false
			}
			proto, off = binary.BigEndian.Uint16(data[off:]), off+2
		}
		return off, pppToEther(proto), true

	case layers.LinkTypeC_HDLC:
		// address(1) control(1) EtherType(2)
		if len(data) < 4 {
			return 0, 0, false
		}
		return 4, binary.BigEndian.Uint16(data[2:4]), true

	case linkTypeNFLOG:
		return nflog(data)
	}
	return 0, 0, true
}

// ipVersion maps the first nibble of a bare IP packet to an EtherType.
func ipVersion(b byte) uint16 {
	switch b >> 4 {
	case 4:
		return etherIPv4
	case 6:
		return etherIPv6
	}
	return 0
}

func pppToEther(proto uint16) uint16 {
	switch proto {
	case pppIPv4:
		return etherIPv4
	case pppIPv6:
		return etherIPv6
	}
	return 0
}

// llcSNAP reads an 802.2 LLC header at off and, for SNAP with a zero OUI
// (RFC 1042 encapsulation), the EtherType behind it.
func llcSNAP(data []byte, off int) (int, uint16, bool) {
	if len(data) < off+3 {
		return 0, 0, false
	}
	if data[off] != 0xaa || data[off+1] != 0xaa || data[off+2] != 0x03 {
		return off + 3, 0, true // plain LLC: not IP as far as we care
	}
	if len(data) < off+8 {
		return 0, 0, false
	}
	if data[off+3]|data[off+4]|data[off+5] != 0 {
		return off + 8, 0, true
	}
	return off + 8, binary.BigEndian.Uint16(data[off+6:]), true
}

// nflog finds the packet payload TLV of a Linux NFLOG record: family(1)
// version(1) resource id(2), then TLVs of length(2) type(2) value, padded to
// four bytes, with length and type in the capturing host's byte order.
func nflog(data []byte) (int, uint16, bool) {
	const nfulaPayload = 9
	if len(data) < 4 {
		return 0, 0, false
	}
	var ether uint16
	switch data[0] {
	case 2: // AF_INET
		ether = etherIPv4
	case 10: // AF_INET6
		ether = etherIPv6
	}
	for _, order := range [2]binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		off := 4
		for off+4 <= len(data) {
			n := int(order.Uint16(data[off:]))
			typ := order.Uint16(data[off+2:]) & 0x7fff
			if n < 4 || off+n > len(data) && typ != nfulaPayload {
				break // try the other byte order
			}
			if typ == nfulaPayload {
				if ether == 0 && off+4 < len(data) {
					ether = ipVersion(data[off+4])
				}
				return off + 4, ether, true
			}
			off += (n + 3) &^ 3
		}
	}
	return 4, 0, true // no payload: a log record without the packet
}

// decodeEther follows EtherTypes from off: VLAN tags, PPPoE, FabricPath,
// VN-Tag, PBB, MPLS, then IPv4 or IPv6.
func decodeEther(w *walk, ether uint16, off int) Kind {
	data, wireLen := w.data, w.wireLen
	for i := 0; ; i++ {
		switch ether {
		case etherIPv4:
			return decodeIPv4(w, off)
		case etherIPv6:
			return decodeIPv6(w, off)
		case etherMPLS, etherMPLSMulti:
			return decodeMPLS(w, off)
		}
		w.tags++
		if i == maxTags || w.tags > maxTagsInAll {
			return NotTCP
		}
		switch ether {
		case etherVLAN, etherQinQ, etherQinQOld1, etherQinQOld2:
			// TCI(2) EtherType(2)
			if len(data) < off+4 {
				return shortOrMalformed(data, wireLen)
			}
			ether, off = binary.BigEndian.Uint16(data[off+2:]), off+4
		case etherPPPoE:
			// version/type(1) code(1) session(2) length(2), PPP protocol(2)
			if len(data) < off+8 {
				return shortOrMalformed(data, wireLen)
			}
			if data[off] != 0x11 || data[off+1] != 0 {
				return NotTCP
			}
			ether, off = pppToEther(binary.BigEndian.Uint16(data[off+6:])), off+8
		case etherVNTag:
			if len(data) < off+6 {
				return shortOrMalformed(data, wireLen)
			}
			ether, off = binary.BigEndian.Uint16(data[off+4:]), off+6
		case etherPBB:
			// 802.1ah I-TAG: flags and I-SID(4), then the customer's
			// destination(6), source(6) and EtherType(2).
			if len(data) < off+18 {
				return shortOrMalformed(data, wireLen)
			}
			ether, off = binary.BigEndian.Uint16(data[off+16:]), off+18
		case etherFabric:
			// FabricPath's outer header replaces the Ethernet header's
			// EtherType with its own 4-byte tag and carries the original
			// frame (destination, source, EtherType) behind it.
			if len(data) < off+16 {
				return shortOrMalformed(data, wireLen)
			}
			ether, off = binary.BigEndian.Uint16(data[off+14:]), off+16
		default:
			if ether < 0x0600 { // an 802.3 length: LLC follows
				var ok bool
				off, ether, ok = llcSNAP(data, off)
				if !ok {
					return shortOrMalformed(data, wireLen)
				}
				if ether == 0 {
					return NotTCP
				}
				continue
			}
			return NotTCP
		}
	}
}

// decodeIPv4 decodes an IPv4 header at off and the TCP header (or the
// tunnel) behind it.
func decodeIPv4(w *walk, off int) Kind {
	data, wireLen := w.data, w.wireLen
	if len(data) < off+20 {
		return shortOrMalformed(data, wireLen)
	}
	h := data[off:]
	if h[0]>>4 != 4 {
		return Malformed
	}
	ihl := int(h[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(h[2:4]))
	if total == 0 && (!w.guessed || w.super) {
		// Linux reports segmentation-offload super-packets (BIG TCP
		// among them) with a zero total length; the wire length, or
		// inside a tunnel the length of the super-packet around it, is
		// the best estimate there is.
		total, w.super = w.limit-off, true
	}
	if h[9] == protoICMP {
		return decodeICMP4(w, off, ihl, total)
	}
	if h[9] != protoTCP {
		return decodeIPv4Tunnel(w, off, ihl, total)
	}
	if ihl < 20 || total < ihl {
		return Malformed
	}
	if !w.ipv4Fits(off, ihl, total) {
		if w.guessed && len(data) < off+ihl {
			return shortOrMalformed(data, wireLen)
		}
		return Malformed
	}
	if frag := binary.BigEndian.Uint16(h[6:8]); frag&0x3fff != 0 && !w.fragmentIPv4(h, ihl, total) {
		return Fragment
	}
	if len(data) < off+ihl {
		return shortOrMalformed(data, wireLen)
	}
	w.seg.Src = tracker.AddrFrom4([4]byte(h[12:16]))
	w.seg.Dst = tracker.AddrFrom4([4]byte(h[16:20]))
	w.tcpOff = off + ihl
	k := decodeTCP(data, off+ihl, total-ihl, wireLen, w.seg)
	if k == TCP {
		w.seg.Checksum = w.checksum4(off, ihl, total)
	}
	return k
}

// ipv4Fits reports whether the IPv4 header at off, ihl bytes long and
// total bytes with its payload, holds up where it was found. A header found
// by a guess must prove itself: it fits in the payload that carries it and
// its checksum is right. Any other may claim more bytes than went over the
// wire only with a valid checksum: some capture tools record a short wire
// length, and a valid header checksum says the total length is the
// sender's, the one to trust; otherwise the length is garbage.
func (w *walk) ipv4Fits(off, ihl, total int) bool {
	return !w.guessed && off+total <= w.wireLen || w.ipv4Proves(off, ihl, total)
}

// ipv4Proves is ipv4Fits for a header that is guessed or claims more than
// went over the wire. It is kept out of line so that ipv4Fits, whose common
// case is a comparison, is inlined on the packet path.
//
//go:noinline
func (w *walk) ipv4Proves(off, ihl, total int) bool {
	if w.guessed && !w.fragment && off+total > w.limit {
		return false
	}
	return ipv4ChecksumOK(w.data, off, ihl)
}

// ipv4ChecksumOK reports whether the IPv4 header at off, ihl bytes long,
// is captured whole and has a correct checksum (RFC 791 §3.1, RFC 1071).
func ipv4ChecksumOK(data []byte, off, ihl int) bool {
	if len(data) < off+ihl {
		return false
	}
	if ihl == 20 { // no options: five 32-bit words, summed in line
		h := data[off : off+20]
		be := binary.BigEndian
		s := uint64(be.Uint32(h)) + uint64(be.Uint32(h[4:])) + uint64(be.Uint32(h[8:])) +
			uint64(be.Uint32(h[12:])) + uint64(be.Uint32(h[16:]))
		return fold(s) == 0xffff
	}
	return fold(sum16(0, data[off:off+ihl])) == 0xffff
}

// decodeIPv6 decodes an IPv6 header at off, walks its extension headers and
// decodes the TCP header (or the tunnel) behind them.
func decodeIPv6(w *walk, off int) Kind {
	data, wireLen := w.data, w.wireLen
	if len(data) < off+40 {
		return shortOrMalformed(data, wireLen)
	}
	h := data[off:]
	if h[0]>>4 != 6 {
		return Malformed
	}
	plen := int(binary.BigEndian.Uint16(h[4:6]))
	if plen == 0 && (!w.guessed || w.super) {
		// A jumbogram (RFC 2675) or a segmentation-offload super-packet,
		// or such a packet's inner header.
		plen, w.super = w.limit-off-40, true
	}
	if off+40+plen > wireLen || w.guessed && !w.fragment && off+40+plen > w.limit {
		return Malformed
	}
	next := h[6]
	w.finalDst, w.routeUnknown = 0, false
	w.seg.Src = tracker.AddrFrom16([16]byte(h[8:24]))
	w.seg.Dst = tracker.AddrFrom16([16]byte(h[24:40]))
	p := off + 40 // start of the next header
	end := p + plen
	for {
		var n int
		switch next {
		case protoTCP:
			w.tcpOff = p
			k := decodeTCP(data, p, end-p, wireLen, w.seg)
			if k == TCP {
				w.seg.Checksum = w.checksum6(off, p, end-p)
			}
			return k
		case protoHopByHop, protoRouting, protoDstOpts:
			if len(data) < p+2 {
				return shortOrMalformed(data, wireLen)
			}
			n = (int(data[p+1]) + 1) * 8
			if next == protoRouting {
				w.routing(p, n)
			}
		case protoAH:
			if len(data) < p+2 {
				return shortOrMalformed(data, wireLen)
			}
			n = (int(data[p+1]) + 2) * 4
		case protoFragment:
			if len(data) < p+8 {
				return shortOrMalformed(data, wireLen)
			}
			if k, done := w.fragmentIPv6(data[p:], end-p-8); done {
				return k
			}
			n = 8
		case protoICMPv6:
			return decodeICMP6(w, p, end)
		default:
			return decodeInIP(w, next, p, end)
		}
		if p+n > end {
			return Malformed
		}
		next = data[p]
		p += n
	}
}

// routing notes the final destination a Routing header at p, n bytes long,
// gives when it has a destination still to come (Segments Left above 0),
// for the TCP pseudo-header (RFC 8200 §8.1): a Segment Routing Header's
// (type 4, RFC 8754) first segment, Mobile IPv6's (type 2, RFC 6275 §6.4)
// home address. Any other type, or one not captured whole, leaves the
// checksum unverified.
func (w *walk) routing(p, n int) {
	if len(w.data) < p+4 || w.data[p+3] == 0 {
		return
	}
	typ := w.data[p+2]
	if typ != 2 && typ != 4 || n < 24 || len(w.data) < p+24 {
		w.routeUnknown = true
		return
	}
	w.finalDst = p + 8
}

// decodeTCP decodes a TCP header at off whose IP payload is ipLen bytes.
func decodeTCP(data []byte, off, ipLen, wireLen int, seg *tracker.Segment) Kind {
	if ipLen < 20 {
		if len(data) < off+20 && len(data) < wireLen {
			return Truncated
		}
		return Malformed
	}
	if len(data) < off+20 {
		return shortOrMalformed(data, wireLen)
	}
	h := data[off:]
	hlen := int(h[12]>>4) * 4
	if hlen < 20 || hlen > ipLen {
		return Malformed
	}
	opts, cut := h[20:min(hlen, len(h))], len(h) < hlen
	if cut && len(data) >= wireLen {
		return Malformed
	}
	seg.SrcPort = binary.BigEndian.Uint16(h[0:2])
	seg.DstPort = binary.BigEndian.Uint16(h[2:4])
	seg.Seq = seqnum.Value(binary.BigEndian.Uint32(h[4:8]))
	seg.Ack = seqnum.Value(binary.BigEndian.Uint32(h[8:12]))
	seg.Flags = tracker.Flags(h[13]) | tracker.Flags(h[12]&1)<<8
	seg.Window = binary.BigEndian.Uint16(h[14:16])
	seg.Payload = uint32(ipLen - hlen)
	seg.WScale, seg.TSVal, seg.TSEcr, seg.HasTS = tcpOptions(opts)
	if cut && seg.WScale < 0 && seg.Flags&tracker.SYN != 0 {
		// The snaplen cut the options before a window scale was found:
		// unknown, so the largest (RFC 7323 §2.3), as for a connection
		// picked up mid-stream: the window is never taken smaller than
		// it is. Only SYNs carry the option; others lose nothing.
		seg.WScale = 14
	}
	return TCP
}

// tcpOptions returns what the tracker reads of a segment's options: the
// window-scale option's shift count (RFC 7323 §2.2), or -1 when there is
// none, and the timestamps option's TSval and TSecr (§3.2), with whether
// there is one. A shift above 14 is taken as 14, as RFC 7323 §2.3 tells the
// receiver to do. The first of each counts; a broken option list is read
// up to where it breaks.
func tcpOptions(opts []byte) (wscale int8, tsVal, tsEcr uint32, hasTS bool) {
	wscale = -1
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0: // end of option list
			return
		case 1: // no-operation
			i++
			continue
		}
		if i+1 >= len(opts) {
			return
		}
		n := int(opts[i+1])
		if n < 2 || i+n > len(opts) {
			return // a broken option list: stop reading it
		}
		switch {
		case opts[i] == 3 && n == 3 && wscale < 0:
			wscale = int8(min(opts[i+2], 14))
		case opts[i] == 8 && n == 10 && !hasTS:
			tsVal, tsEcr, hasTS = binary.BigEndian.Uint32(opts[i+2:]), binary.BigEndian.Uint32(opts[i+6:]), true
		}
		i += n
	}
	return
}

// itoa formats n without fmt, for String methods that must not allocate
// more than the result.
func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
