package capture

import (
	"encoding/binary"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// decodeGRE opens a GRE packet at off..end: flags and version(2) protocol
// type(2), then checksum and reserved(4) when C is set, key(4) when K is,
// sequence number(4) when S is (RFC 2784, RFC 2890); version 1 (PPTP,
// RFC 2637 §4.1) always has a key and may have an acknowledgment(4).
// Source routing (R, RFC 1701) is not followed.
func decodeGRE(w *walk, layer tracker.TunnelLayer, off, end int) Kind {
	data := w.data
	if len(data) < off+4 {
		return w.shortNotTCP(off + 4)
	}
	f0, f1 := data[off], data[off+1]
	proto := binary.BigEndian.Uint16(data[off+2:])
	switch ver := f1 & 7; {
	case f0&0x4f != 0: // routing, strict source route, recursion
		return NotTCP
	case ver == 0 && f1&0xf8 != 0,
		ver == 1 && (f0&0x20 == 0 || f1&0x78 != 0 || proto != grePPP),
		ver > 1:
		return NotTCP
	}
	p := off + 4
	if f0&0x80 != 0 {
		p += 4
	}
	if f0&0x20 != 0 {
		if len(data) < p+4 {
			return w.shortNotTCP(p + 4)
		}
		layer.HasID, layer.ID = true, binary.BigEndian.Uint32(data[p:])
		p += 4
	}
	seq := f0&0x10 != 0
	if seq {
		p += 4
	}
	if f1&0x80 != 0 {
		p += 4
	}
	layer.Kind = tracker.TunnelGRE
	switch proto {
	case greIPv4, greIPv6:
		w.enter(layer, end)
		return innerIP(w, p)
	case greTEB:
		w.enter(layer, end)
		return innerEthernet(w, p)
	case greMPLS:
		w.enter(layer, end)
		return decodeMPLS(w, p)
	case grePPP:
		w.enter(layer, end)
		return innerPPP(w, p)
	case greERSPAN2, greERSPAN3:
		return decodeERSPAN(w, layer, proto, seq, p, end)
	}
	if proto&0xff00 == 0x8200 || proto&0xff00 == 0x8300 {
		w.enter(layer, end)
		return decodeAruba(w, p)
	}
	return NotTCP
}

// decodeERSPAN opens a mirrored Ethernet frame: ERSPAN type I (protocol
// 0x88BE without a sequence number) has no header of its own; type II has 8
// bytes (version 1, session ID in the low 10 bits of the second 16); type
// III has 12 (version 2), and 8 more of platform-specific subheader when
// its O flag is set.
func decodeERSPAN(w *walk, layer tracker.TunnelLayer, proto uint16, seq bool, off, end int) Kind {
	data := w.data
	layer.Kind = tracker.TunnelERSPAN
	p := off
	if proto == greERSPAN2 && seq || proto == greERSPAN3 {
		n, ver := 8, byte(1)
		if proto == greERSPAN3 {
			n, ver = 12, 2
		}
		if len(data) < off+n {
			return w.shortNotTCP(off + n)
		}
		if data[off]>>4 != ver {
			return NotTCP
		}
		layer.HasID, layer.ID = true, uint32(binary.BigEndian.Uint16(data[off+2:])&0x3ff)
		p = off + n
		if proto == greERSPAN3 && data[off+11]&1 != 0 {
			p += 8
		}
	}
	w.enter(layer, end)
	return innerEthernet(w, p)
}

// innerPPP decodes a PPP frame (optional address 0xff and control 0x03,
// then a 1- or 2-byte protocol field) carrying IP.
func innerPPP(w *walk, off int) Kind {
	data := w.data
	if len(data) >= off+2 && data[off] == 0xff && data[off+1] == 0x03 {
		off += 2
	}
	if len(data) < off+2 {
		return w.shortNotTCP(off + 2)
	}
	proto, p := uint16(data[off]), off+1
	if proto&1 == 0 {
		proto, p = binary.BigEndian.Uint16(data[off:]), off+2
	}
	switch pppToEther(proto) {
	case etherIPv4:
		return decodeIPv4(w, p)
	case etherIPv6:
		return decodeIPv6(w, p)
	}
	return NotTCP
}

// decodeMPLS walks an MPLS label stack at off to its bottom (S bit) and
// decodes what follows by its first nibble: 4 and 6 are IP; 0 is a
// pseudowire control word (RFC 4385) before an Ethernet frame, or, when
// that does not decode, the frame itself without one; anything else is an
// Ethernet pseudowire without a control word (RFC 4448).
func decodeMPLS(w *walk, off int) Kind {
	data := w.data
	for i := 0; ; i++ {
		if i == maxMPLSTags {
			return NotTCP
		}
		if len(data) < off+4 {
			return shortOrMalformed(data, w.wireLen)
		}
		bottom := data[off+2]&1 != 0
		off += 4
		if bottom {
			break
		}
	}
	if len(data) <= off {
		return shortOrMalformed(data, w.wireLen)
	}
	w.guessed = true
	switch data[off] >> 4 {
	case 4, 6:
		return nonMalformed(innerIP(w, off))
	case 0:
		// The guess of a control word leaves nothing behind when it fails:
		// no tunnel layer, tag or fragment it found.
		saved, depth, frag := *w, w.d.tun.Depth, w.d.frag.valid
		if k := innerEthernet(w, off+4); k == TCP || k == Truncated {
			return k
		}
		*w, w.d.tun.Depth, w.d.frag.valid = saved, depth, frag
	}
	return nonMalformed(innerEthernet(w, off))
}

// nonMalformed is k, except that a guess that did not hold is NotTCP.
func nonMalformed(k Kind) Kind {
	if k == Malformed {
		return NotTCP
	}
	return k
}

// decodeAruba opens the 802.11 frame that Aruba access points send to their
// controller over GRE (protocol types 0x8200-0x83ff): a data frame's MAC
// header (24 bytes, 30 with four addresses, 2 more with QoS), then LLC/SNAP,
// or for an aggregate MSDU (QoS control bit 7) the first subframe's
// destination(6) source(6) length(2) and LLC/SNAP. One packet gives one
// segment: later subframes of an aggregate are not read.
func decodeAruba(w *walk, off int) Kind {
	data := w.data
	if len(data) < off+24 {
		return w.shortNotTCP(off + 24)
	}
	fc0, fc1 := data[off], data[off+1]
	if fc0&0x0c != 0x08 || fc1&0x40 != 0 {
		return NotTCP // not a data frame, or protected
	}
	p := off + 24
	if fc1&0x03 == 0x03 {
		p += 6
	}
	amsdu := false
	if fc0&0x80 != 0 { // QoS data
		if len(data) < p+2 {
			return w.shortNotTCP(p + 2)
		}
		amsdu = data[p]&0x80 != 0
		p += 2
	}
	if fc0&0x40 != 0 {
		return NotTCP // a null function: no payload
	}
	if fc0&0x80 != 0 && fc1&0x80 != 0 {
		p += 4 // HT control
	}
	if amsdu {
		p += 14
	}
	q, ether, ok := llcSNAP(data, p)
	if !ok {
		return w.shortNotTCP(p + 8)
	}
	switch ether {
	case etherIPv4, etherIPv6:
		return nonMalformed(decodeEther(w, ether, q))
	}
	return NotTCP
}
