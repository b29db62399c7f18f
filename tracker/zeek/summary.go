package zeek

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// Flags are a TCP header's control bits, at their positions in the header
// (RFC 793 §3.1), so that a caller holding the header's bits converts them
// with a plain conversion. The summary looks only at the four below; any
// other bit may be set and is ignored.
type Flags uint16

// The control bits Zeek's history and conn_state depend on.
const (
	FIN Flags = 0x01
	SYN Flags = 0x02
	RST Flags = 0x04
	ACK Flags = 0x10
)

// Segment is what the summary needs of one TCP segment: a small value with
// no pointers. Every field is valid for every segment unless its comment
// says otherwise.
type Segment struct {
	Seq, Ack         seqnum.Value // Ack is meaningful only when Flags has ACK
	Payload          uint32       // TCP payload length on the wire (not cut by a snaplen)
	SrcPort, DstPort uint16       // the sender's and the receiver's port
	Window           uint16       // raw advertised window; only zero matters
	Flags            Flags
	// FromClient tells which side sent the segment. It only has to be
	// consistent for the life of the connection (see Orientation on
	// Summary).
	FromClient bool
}

// seqLen mirrors get_segment_len: SYN and FIN take a sequence number each; a
// RST's payload is not part of the stream.
func (s *Segment) seqLen() seqnum.Size {
	n := seqnum.Size(s.Payload)
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	if s.Flags&RST != 0 {
		n -= seqnum.Size(s.Payload)
	}
	return n
}

// Bits of first_packet_seen, by role.
const (
	seenOrig = 1
	seenResp = 2
)

// Summary follows one TCP connection the way Zeek's conn.log summarizes it:
// History is the history column and ConnState the conn_state column that
// Zeek would print for the same packets (checksums as the decoder judged
// them: see BadChecksum). It is a fixed-size value with no
// pointers; the zero value is ready to use, and Observe does not allocate.
//
// # Orientation
//
// Zeek names the two sides originator and responder, and writes the
// originator's letters in upper case. Summary reproduces Zeek's choice of
// originator instead of imposing tcpwatch's client, because the point of
// both columns is to match Zeek's log:
//
//   - Zeek's originator is the sender of the first packet seen, except that a
//     connection first seen mid-stream or by its SYN-ACK is flipped at once
//     ("^" as the first letter) when the sender's port is a likely server
//     port and the receiver's is not (or, both likely and no SYN, when the
//     sender's port is the lower). Zeek's likely_server_ports is whatever the
//     loaded analyzers register; Summary uses the TCP ports that Zeek's
//     default base/protocols scripts register (see likelyServerPort), so
//     it agrees with Zeek run with its default scripts but not always with
//     `zeek -b`, where few or no analyzers are loaded.
//   - A SYN answering a SYN-ACK that came first flips the roles later in the
//     history ("Hs^"), exactly as Zeek does; an ACK or data after an opening
//     SYN-ACK flips them too, rewriting "H" as "^h" (Zeek 5.1 and later).
//
// tcpwatch's client is the sender of the first SYN, or mid-stream the side
// on the higher / not well-known port. The two therefore differ when a
// connection is picked up mid-stream and Zeek keeps the first sender as
// originator (two ports Zeek does not know, or the client spoke first of two
// known ones), and when a SYN-ACK's receiver never sends its SYN and the
// server's port is not one Zeek knows. OrigIsClient reports which case holds,
// so a report can say that the upper-case letters are the server's.
//
// # Limits
//
//   - 'C' (bad checksum) is added by BadChecksum, which the tracker calls
//     for a segment whose checksum the decoder found wrong; with
//     --no-checksums it never appears, as with Zeek's -C.
//   - 'G' (content gap) is modelled from sequence and acknowledgment numbers
//     the way Zeek's reassembler reports it, but Zeek also counts payload
//     that a short snaplen cut off as missing; Segment.Payload is the length
//     on the wire, so such gaps are not seen here. At most four separate
//     out-of-order ranges are kept per direction.
//   - Letters past 46 are dropped.
//   - Which packets form one connection (4-tuple reuse, Zeek's inactivity
//     and SYN-attempt timeouts) is the caller's decision, not this type's.
type Summary struct {
	ep       [2]endpoint // indexed by side: 0 client, 1 server (as the caller's FromClient says)
	origSide uint8       // index in ep of Zeek's originator
	started  bool
	partial  bool  // is_partial
	seen     uint8 // first_packet_seen, by role
	histLen  uint8
	histSeen uint32 // hist_seen: originator's bits low, responder's high
	hist     [maxHistory]byte
}

// likelyServerPort approximates Zeek's likely_server_ports for TCP: the
// ports registered by the analyzers of Zeek's default base/protocols scripts
// (DCE-RPC, DNP3, DNS, FTP, HTTP, IMAP, IRC, Kerberos, LDAP, Modbus, MQTT,
// MySQL, POP3, PostgreSQL, RDP, Redis, SMB, SMTP, SOCKS, SSH, SSL/TLS, XMPP,
// Finger, Telnet).
func likelyServerPort(p uint16) bool {
	switch p {
	case 21, 22, 23, 25, 53, 79, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445,
		465, 502, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995,
		1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432,
		6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000:
		return true
	}
	return false
}

// flipAtStart mirrors TCPAnalyzer::WantConnection: whether Zeek makes the
// receiver of a connection's first packet its originator.
func flipAtStart(seg *Segment) bool {
	if seg.Flags&SYN != 0 && seg.Flags&ACK == 0 {
		return false // an initial SYN: its sender originates
	}
	if !likelyServerPort(seg.SrcPort) {
		return false
	}
	if likelyServerPort(seg.DstPort) {
		// Both plausible: flip only without a SYN (not to confuse stealth
		// scans) and towards the lower port.
		return seg.Flags&SYN == 0 && seg.SrcPort < seg.DstPort
	}
	return true
}

func (z *Summary) isOrig(side int) bool { return side == int(z.origSide) }

func (z *Summary) roleBit(side int) uint8 {
	if z.isOrig(side) {
		return seenOrig
	}
	return seenResp
}

// swapRoles exchanges originator and responder.
func (z *Summary) swapRoles() {
	z.origSide ^= 1
	z.seen = (z.seen&seenOrig)<<1 | (z.seen&seenResp)>>1
	z.partial = false
}

// flip mirrors Connection::FlipRoles and TCPSessionAdapter::FlipRoles.
func (z *Summary) flip() {
	z.swapRoles()
	z.addHistory(-1, '^')
}

// openedBySynAck reports whether the history is exactly the SYN-ACK that
// opened the connection, with nothing yet from its receiver.
func (z *Summary) openedBySynAck() bool {
	return z.histLen == 1 && z.hist[0] == 'H' &&
		z.ep[z.origSide].state == synAckSent && z.ep[z.origSide^1].state == inactive
}

// flipAfterSynAck makes the receiver of a connection's opening SYN-ACK its
// originator once an ACK or data follows, and rewrites the history as though
// the roles had been right from the start ("H" becomes "^h"). Zeek does this
// since 5.1 (zeek/zeek#2191, "flip connections that begin with SYN-ACKs if
// subsequent acks or data seen"): a stealth scan's SYN-ACK draws a RST or
// nothing, never an ACK or data. The trigger (history exactly "H", the next
// segment without SYN, FIN or RST) is inferred from that change's description
// and from Zeek's baseline for testing/btest/Traces/tcp/ctu-64702-888.pcap.
func (z *Summary) flipAfterSynAck() {
	z.swapRoles()
	z.histSeen = z.histSeen>>16 | z.histSeen<<16
	z.hist[0], z.hist[1], z.histLen = '^', 'h', 2
}

// begin sets up the summary for the connection's first segment, sent by
// side.
func (z *Summary) begin(side int, seg *Segment) {
	z.started = true
	z.ep[0].reassem, z.ep[0].trim = 1, 1 // the reassembler starts at relative 1
	z.ep[1].reassem, z.ep[1].trim = 1, 1
	z.origSide = uint8(side)
	if flipAtStart(seg) {
		z.flip()
	}
}

// setPartial mirrors SetPartialStatus for a segment arriving in the
// originator's role or not.
func (z *Summary) setPartial(isOrig bool, f Flags) {
	syn, ack := f&SYN != 0, f&ACK != 0
	if isOrig {
		if z.seen&seenOrig == 0 {
			z.partial = !syn || ack
		}
	} else if z.seen&seenResp == 0 && !z.partial {
		z.partial = !syn
	}
}
