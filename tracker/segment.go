package tracker

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// Flags are the TCP header's control bits, in the header's bit order.
type Flags uint16

// TCP control bits (RFC 793 §3.1, RFC 3168 for ECE and CWR, RFC 3540 for NS).
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String renders the flags tcpdump-style: "S", "S.", "F.", "R.", "P." and
// "none" for a segment with no control bit set.
func (f Flags) String() string {
	var b [10]byte
	n := 0
	for _, x := range [...]struct {
		f Flags
		c byte
	}{{SYN, 'S'}, {FIN, 'F'}, {RST, 'R'}, {PSH, 'P'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {NS, 'N'}, {ACK, '.'}} {
		if f&x.f != 0 {
			b[n] = x.c
			n++
		}
	}
	if n == 0 {
		return "none"
	}
	return string(b[:n])
}

// Addr is an IP address as two big-endian 64-bit words: IPv6 as is, IPv4
// as an IPv4-mapped IPv6 address (::ffff:a.b.c.d). It is comparable, holds
// no pointers, and compares, orders and hashes in a few instructions, so it
// can be part of a map key on the packet path.
type Addr struct{ hi, lo uint64 }

// AddrFrom4 packs an IPv4 address.
func AddrFrom4(a [4]byte) Addr {
	return Addr{lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(a[:]))}
}

// AddrFrom16 packs an IPv6 address.
func AddrFrom16(a [16]byte) Addr {
	return Addr{hi: binary.BigEndian.Uint64(a[:8]), lo: binary.BigEndian.Uint64(a[8:])}
}

// As16 returns the address as 16 bytes.
func (a Addr) As16() (b [16]byte) {
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

// Is4 reports whether a is an IPv4-mapped address.
func (a Addr) Is4() bool { return a.hi == 0 && a.lo>>32 == 0xffff }

// less orders addresses as their bytes would.
func (a Addr) less(b Addr) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// IP returns a as a netip.Addr: a plain IPv4 address for a mapped one.
func (a Addr) IP() netip.Addr { return netip.AddrFrom16(a.As16()).Unmap() }

// Segment is one TCP segment as the tracker sees it: a small value with no
// pointers, decoded from a packet by the capture package. Every field is valid
// for every segment unless its comment says otherwise.
type Segment struct {
	Time   int64  // capture time, nanoseconds since the Unix epoch
	Packet uint64 // 1-based number of the packet in the input (all packets, TCP or not)

	Src, Dst         Addr
	SrcPort, DstPort uint16

	Seq, Ack seqnum.Value // Ack is meaningful only when Flags has ACK
	Flags    Flags
	Window   uint16 // raw advertised window, before any window scaling
	// WScale is the window-scale option's shift count (RFC 7323 §2), or -1
	// when the segment carries no such option. Only SYN segments carry it.
	WScale int8
	// Checksum is what the decoder found of the IPv4 header and TCP
	// checksums (ChecksumUnverified when it could not tell).
	Checksum Checksum
	// Payload is the TCP payload length in bytes, from the IP header's length
	// fields: correct even when the capture's snaplen cut the payload.
	Payload uint32
	// Tunnel identifies the tunnel context the segment arrived in (outer
	// endpoints and VNI, key or session of every layer, hashed by the
	// decoder), 0 when it was not tunnelled or tunnels are merged. It is
	// part of the connection's identity (FlowKey.Tunnel).
	Tunnel uint32
	// ICMP is, for a segment quoted by an ICMP or ICMPv6 error (given to
	// Tracker.ObserveICMP), which error it was; 0 for a segment captured.
	ICMP ICMPError
	// HasTS says the segment carries the timestamps option (RFC 7323
	// §3.2), whose TSval and TSecr are TSVal and TSEcr.
	HasTS        bool
	TSVal, TSEcr uint32
}

// ICMPError is the ICMP or ICMPv6 error that quoted a segment.
type ICMPError uint8

// The errors that end a connection still opening on Linux (tcp_v4_err,
// tcp_v6_err); others (fragmentation needed, packet too big, source
// quench, redirects) carry no error for TCP and are not ICMPErrors.
const (
	ICMPPortUnreachable  ICMPError = iota + 1 // destination unreachable: port (ICMPv6: port)
	ICMPHostUnreachable                       // destination unreachable: network or host, or any other code
	ICMPProhibited                            // destination unreachable: communication administratively prohibited
	ICMPProtoUnreachable                      // destination unreachable: protocol
	ICMPTimeExceeded                          // time exceeded (TTL or hop limit)
	ICMPParameterProblem                      // parameter problem
)

var icmpNames = [...]string{"", "port unreachable", "host unreachable", "administratively prohibited",
	"protocol unreachable", "time exceeded", "parameter problem"}

// String names the error as a sentence does: "port unreachable".
func (e ICMPError) String() string {
	if int(e) < len(icmpNames) {
		return icmpNames[e]
	}
	return "ICMP error"
}

// Len is the amount of sequence space the segment occupies: its payload plus
// one for SYN and one for FIN (RFC 793 §3.3).
func (s *Segment) Len() seqnum.Size {
	n := seqnum.Size(s.Payload)
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}

// End is the sequence number just past the segment.
func (s *Segment) End() seqnum.Value { return s.Seq.Add(s.Len()) }

// SrcAddrPort and DstAddrPort return the endpoints for printing.
func (s *Segment) SrcAddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Src.IP(), s.SrcPort) }

// DstAddrPort returns the destination endpoint for printing.
func (s *Segment) DstAddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Dst.IP(), s.DstPort) }
