package capture

import (
	"encoding/binary"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Tunnels the decoder opens, innermost TCP tracked (tracker.TunnelKind names
// them). Each is recognized by its IP protocol, GRE protocol type or UDP
// port; since a port is only a guess, every header found inside must prove
// itself (walk.guessed): an IP version that matches, lengths that fit in the
// outer payload, a correct IPv4 header checksum, a TCP data offset that fits.
// A packet whose inner headers do not is the UDP (or GRE) packet it seemed:
// NotTCP, never a connection.
const (
	protoIPv4inIP = 4
	protoIPv6inIP = 41
	protoUDP      = 17
	protoGRE      = 47

	portVXLAN      = 4789 // IANA
	portVXLANLinux = 8472 // Linux's default before IANA's assignment
	portGeneve     = 6081
	portGTPU       = 2152
	portTeredo     = 3544
	portAYIYA      = 5072

	greIPv4     = 0x0800
	greIPv6     = 0x86dd
	greTEB      = 0x6558 // transparent Ethernet bridging: a whole Ethernet frame
	greERSPAN2  = 0x88be // ERSPAN type II (type I when the sequence bit is clear)
	greERSPAN3  = 0x22eb
	greMPLS     = 0x8847
	grePPP      = 0x880b // PPTP's enhanced GRE (version 1)
	maxMPLSTags = 16
)

// opens reports whether the decoder looks inside IP protocol proto.
func (w *walk) opens(proto byte) bool {
	if w.d.NoDecap || int(w.d.tun.Depth) >= tracker.MaxTunnelDepth {
		return false
	}
	switch proto {
	case protoIPv4inIP, protoIPv6inIP, protoUDP, protoGRE:
		return true
	}
	return false
}

// decodeIPv4Tunnel checks an IPv4 header at off that carries something
// other than TCP and opens what it carries, if it is a tunnel; decodeIPv4
// has read its lengths (a super-packet's zero total length replaced).
// Anything wrong with the outer header makes the packet NotTCP: it is not
// TCP whatever else it is.
func decodeIPv4Tunnel(w *walk, off, ihl, total int) Kind {
	data := w.data
	h := data[off:]
	if !w.opens(h[9]) || ihl < 20 || total < ihl {
		return NotTCP
	}
	if !w.ipv4Fits(off, ihl, total) {
		return w.shortNotTCP(off + ihl)
	}
	if frag := binary.BigEndian.Uint16(h[6:8]); frag&0x3fff != 0 && !w.fragmentIPv4(h, ihl, total) {
		return Fragment // a later fragment: the tunnel's headers are in the first
	}
	if len(data) < off+ihl {
		return w.shortNotTCP(off + ihl)
	}
	w.seg.Src = tracker.AddrFrom4([4]byte(h[12:16]))
	w.seg.Dst = tracker.AddrFrom4([4]byte(h[16:20]))
	return decodeInIP(w, h[9], off+ihl, off+total)
}

// shortNotTCP is Truncated when a header that ends at need was cut by the
// snaplen, NotTCP otherwise (a guess that does not fit is no tunnel).
func (w *walk) shortNotTCP(need int) Kind {
	if len(w.data) < need && len(w.data) < w.wireLen {
		return Truncated
	}
	return NotTCP
}

// decodeInIP opens the payload of IP protocol proto at off..end, whose outer
// addresses are in w.seg. A payload that is not a tunnel, or whose inner
// headers do not hold up, is NotTCP.
func decodeInIP(w *walk, proto byte, off, end int) Kind {
	if !w.opens(proto) {
		return NotTCP
	}
	if w.fragment {
		end = off + 0xffff // the rest of the datagram is in later fragments
	}
	layer := tracker.TunnelLayer{Src: w.seg.Src, Dst: w.seg.Dst}
	var k Kind
	switch proto {
	case protoIPv4inIP, protoIPv6inIP:
		layer.Kind = tracker.TunnelIPinIP
		w.enter(layer, end)
		if proto == protoIPv4inIP {
			k = decodeIPv4(w, off)
		} else {
			k = decodeIPv6(w, off)
		}
	case protoGRE:
		k = decodeGRE(w, layer, off, end)
	case protoUDP:
		k = decodeUDP(w, layer, off, end)
	}
	if k == Malformed {
		return NotTCP
	}
	return k
}

// enter records a tunnel layer; the headers inside it must fit before end.
func (w *walk) enter(l tracker.TunnelLayer, end int) {
	w.d.tun.Push(l)
	w.guessed = true
	w.limit = end
}

// innerIP decodes the IP packet at off by its version nibble.
func innerIP(w *walk, off int) Kind {
	if len(w.data) <= off {
		return w.shortNotTCP(off + 1)
	}
	switch w.data[off] >> 4 {
	case 4:
		return decodeIPv4(w, off)
	case 6:
		return decodeIPv6(w, off)
	}
	return NotTCP
}

// innerEthernet decodes the Ethernet frame at off.
func innerEthernet(w *walk, off int) Kind {
	if len(w.data) < off+14 {
		return w.shortNotTCP(off + 14)
	}
	if off+14 > w.limit && !w.fragment {
		return NotTCP
	}
	return decodeEther(w, binary.BigEndian.Uint16(w.data[off+12:]), off+14)
}

// decodeUDP opens a UDP datagram at off..end by its ports.
func decodeUDP(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	if len(data) < off+8 {
		return w.shortNotTCP(off + 8)
	}
	sp, dp := binary.BigEndian.Uint16(data[off:]), binary.BigEndian.Uint16(data[off+2:])
	ulen := int(binary.BigEndian.Uint16(data[off+4:]))
	if ulen < 8 || off+ulen > end {
		return NotTCP
	}
	if !w.fragment {
		end = off + ulen
	}
	p := off + 8
	switch {
	case dp == portVXLAN || dp == portVXLANLinux:
		return decodeVXLAN(w, layer, p, end)
	case dp == portGeneve:
		return decodeGeneve(w, layer, p, end)
	case sp == portGTPU || dp == portGTPU:
		return decodeGTPU(w, layer, p, end)
	case sp == portTeredo || dp == portTeredo:
		return decodeTeredo(w, layer, p, end)
	case sp == portAYIYA || dp == portAYIYA:
		return decodeAYIYA(w, layer, p, end)
	}
	return NotTCP
}

// decodeVXLAN: flags(1) reserved(3) VNI(3) reserved(1), then an Ethernet
// frame (RFC 7348 §5). The I flag must be set.
func decodeVXLAN(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	if len(data) < off+8 {
		return w.shortNotTCP(off + 8)
	}
	if data[off]&0x08 == 0 {
		return NotTCP
	}
	layer.Kind, layer.HasID, layer.ID = tracker.TunnelVXLAN, true, binary.BigEndian.Uint32(data[off+4:])>>8
	w.enter(layer, end)
	return innerEthernet(w, off+8)
}

// decodeGeneve: version and option length(1) flags(1) protocol type(2)
// VNI(3) reserved(1), options (RFC 8926 §3.4).
func decodeGeneve(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	if len(data) < off+8 {
		return w.shortNotTCP(off + 8)
	}
	if data[off]>>6 != 0 {
		return NotTCP // an unknown version
	}
	p := off + 8 + int(data[off]&0x3f)*4
	layer.Kind, layer.HasID, layer.ID = tracker.TunnelGeneve, true, binary.BigEndian.Uint32(data[off+4:])>>8
	w.enter(layer, end)
	switch binary.BigEndian.Uint16(data[off+2:]) {
	case greTEB:
		return innerEthernet(w, p)
	case greIPv4, greIPv6:
		return innerIP(w, p)
	}
	return NotTCP
}

// decodeGTPU: a GTPv1-U G-PDU (3GPP TS 29.281 §5): flags(1) type(1)
// length(2) TEID(4), then sequence number(2) N-PDU number(1) next extension
// type(1) when any of E, S, PN is set, then the extension headers, then an
// IP packet.
func decodeGTPU(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	if len(data) < off+8 {
		return w.shortNotTCP(off + 8)
	}
	flags := data[off]
	if flags>>5 != 1 || flags&0x10 == 0 || data[off+1] != 0xff {
		return NotTCP // not GTPv1, GTP' or not a G-PDU (echo, error indication)
	}
	if n := int(binary.BigEndian.Uint16(data[off+2:])); off+8+n > end {
		return NotTCP
	} else if !w.fragment {
		end = off + 8 + n
	}
	p := off + 8
	if flags&0x07 != 0 {
		if len(data) < off+12 {
			return w.shortNotTCP(off + 12)
		}
		next := data[off+11]
		p = off + 12
		for i := 0; next != 0; i++ {
			if i == maxTags || len(data) <= p {
				return w.shortNotTCP(p + 1)
			}
			n := int(data[p]) * 4
			if n == 0 || len(data) < p+n {
				return w.shortNotTCP(p + max(n, 4))
			}
			next, p = data[p+n-1], p+n
		}
	}
	layer.Kind, layer.HasID, layer.ID = tracker.TunnelGTPU, true, binary.BigEndian.Uint32(data[off+4:])
	w.enter(layer, end)
	return innerIP(w, p)
}

// decodeTeredo: an IPv6 packet in UDP (RFC 4380 §5.1.1), after an optional
// authentication indicator (0x0001) and an optional origin indication
// (0x0000, 8 bytes).
func decodeTeredo(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	p := off
	if len(data) >= p+4 && data[p] == 0 && data[p+1] == 1 {
		p += 4 + int(data[p+2]) + int(data[p+3]) + 8 + 1 // ids, auth value, nonce, confirmation
	}
	if len(data) >= p+2 && data[p] == 0 && data[p+1] == 0 {
		p += 8
	}
	if len(data) <= p {
		return w.shortNotTCP(p + 1)
	}
	if data[p]>>4 != 6 {
		return NotTCP
	}
	// The IPv6 packet fills the datagram exactly (RFC 4380 §5.2.1 leaves
	// no room for anything after it): a stronger check than fitting.
	if len(data) >= p+6 && !w.fragment && p+40+int(binary.BigEndian.Uint16(data[p+4:])) != end {
		return NotTCP
	}
	layer.Kind = tracker.TunnelTeredo
	w.enter(layer, end)
	return decodeIPv6(w, p)
}

// decodeAYIYA: identity length and type(1) signature length and hash(1)
// authentication and opcode(1) next header(1) epoch(4) identity signature,
// then the packet; opcode 1 forwards one.
func decodeAYIYA(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	if len(data) < off+8 {
		return w.shortNotTCP(off + 8)
	}
	if data[off+2]&0x0f != 1 {
		return NotTCP
	}
	p := off + 8 + 1<<(data[off]>>4) + int(data[off+1]>>4)*4
	layer.Kind = tracker.TunnelAYIYA
	w.enter(layer, end)
	switch data[off+3] {
	case protoIPv4inIP:
		return decodeIPv4(w, p)
	case protoIPv6inIP:
		return decodeIPv6(w, p)
	}
	return NotTCP
}
