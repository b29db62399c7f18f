package capture

import (
	"encoding/binary"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// An ICMP or ICMPv6 error carries the start of the packet it is about
// (RFC 792: its IP header and 8 bytes at least, RFC 4443: as much as
// fits; Linux quotes up to 576 bytes in all): for a TCP segment, its
// ports and sequence number, which name the connection and the segment.
// The decoder hands the quoted segment to the tracker as an ICMPError
// packet: Linux ends a connection still opening on such an error.

// decodeICMP4 decodes the ICMP message of the IPv4 header at off (ihl
// bytes, total with its payload): an ICMPError when it is an error that
// quotes a TCP segment, NotTCP otherwise.
func decodeICMP4(w *walk, off, ihl, total int) Kind {
	data := w.data
	p := off + ihl
	if ihl < 20 || total < ihl+8 || binary.BigEndian.Uint16(data[off+6:off+8])&0x1fff != 0 || len(data) < p+8 {
		return NotTCP // (a later fragment, or too short to quote anything)
	}
	e := icmp4Error(data[p], data[p+1])
	if e == 0 {
		return NotTCP
	}
	return quotedTCP(w, p+8, min(off+total, len(data)), false, e)
}

// decodeICMP6 decodes the ICMPv6 message at p, which ends at end.
func decodeICMP6(w *walk, p, end int) Kind {
	if len(w.data) < p+8 || end < p+8 {
		return NotTCP
	}
	e := icmp6Error(w.data[p], w.data[p+1])
	if e == 0 {
		return NotTCP
	}
	return quotedTCP(w, p+8, min(end, len(w.data)), true, e)
}

// icmp4Error is the error an ICMP type and code are, 0 for one that is
// none for TCP (an echo, fragmentation needed, a redirect, ...).
func icmp4Error(typ, code byte) tracker.ICMPError {
	switch typ {
	case 3: // destination unreachable
		switch code {
		case 4: // fragmentation needed: path MTU discovery, no error
			return 0
		case 2:
			return tracker.ICMPProtoUnreachable
		case 3:
			return tracker.ICMPPortUnreachable
		case 9, 10, 13: // network, host, communication administratively prohibited
			return tracker.ICMPProhibited
		}
		return tracker.ICMPHostUnreachable
	case 11:
		return tracker.ICMPTimeExceeded
	case 12:
		return tracker.ICMPParameterProblem
	}
	return 0
}

// icmp6Error is icmp4Error for ICMPv6 (RFC 4443).
func icmp6Error(typ, code byte) tracker.ICMPError {
	switch typ {
	case 1: // destination unreachable
		switch code {
		case 4:
			return tracker.ICMPPortUnreachable
		case 1, 5, 6: // administratively prohibited, source address failed policy, reject route
			return tracker.ICMPProhibited
		}
		return tracker.ICMPHostUnreachable
	case 3:
		return tracker.ICMPTimeExceeded
	case 4:
		return tracker.ICMPParameterProblem
	}
	return 0 // (2, packet too big: path MTU discovery)
}

// quotedTCP reads the packet an error quotes, from q to end: an IPv4 (or,
// v6, an IPv6 header with TCP next) header, then at least the 8 bytes of
// TCP that hold its ports and sequence number. It fills w.seg with that
// segment, as its sender sent it, and returns ICMPError, or NotTCP when
// the quote is not of a TCP segment.
func quotedTCP(w *walk, q, end int, v6 bool, e tracker.ICMPError) Kind {
	data, seg := w.data, w.seg
	var t int // the quoted TCP header
	switch {
	case !v6 && end >= q+20 && data[q]>>4 == 4 && data[q+9] == protoTCP:
		t = q + int(data[q]&0x0f)*4
		seg.Src = tracker.AddrFrom4([4]byte(data[q+12 : q+16]))
		seg.Dst = tracker.AddrFrom4([4]byte(data[q+16 : q+20]))
	case v6 && end >= q+40 && data[q]>>4 == 6 && data[q+6] == protoTCP:
		t = q + 40
		seg.Src = tracker.AddrFrom16([16]byte(data[q+8 : q+24]))
		seg.Dst = tracker.AddrFrom16([16]byte(data[q+24 : q+40]))
	default:
		return NotTCP
	}
	if t < q+20 || end < t+8 {
		return NotTCP
	}
	h := data[t:end]
	seg.SrcPort = binary.BigEndian.Uint16(h[0:2])
	seg.DstPort = binary.BigEndian.Uint16(h[2:4])
	seg.Seq = seqnum.Value(binary.BigEndian.Uint32(h[4:8]))
	seg.Ack, seg.Flags, seg.Window, seg.WScale, seg.Payload = 0, 0, 0, -1, 0
	seg.HasTS, seg.TSVal, seg.TSEcr = false, 0, 0
	if len(h) >= 14 {
		seg.Flags = tracker.Flags(h[13]) | tracker.Flags(h[12]&1)<<8
	}
	seg.Checksum = tracker.ChecksumUnverified
	seg.ICMP = e
	return ICMPError
}
