package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestICMPErrorsQuotingTCP: an ICMP or ICMPv6 error quoting a TCP segment
// decodes as that segment, as its sender sent it, with the error; one that
// is no error for TCP, or quotes no TCP, is NotTCP.
func TestICMPErrorsQuotingTCP(t *testing.T) {
	syn := tcpSeg(tcpSpec{sport: 40000, dport: 8080, seq: 1000, flags: 0x02, win: 64240})
	quoted4 := ipv4(6, syn)
	quoted6 := ipv6(6, syn)
	icmp := func(typ, code byte, quote []byte) []byte { return cat([]byte{typ, code, 0, 0, 0, 0, 0, 0}, quote) }
	for _, tc := range []struct {
		name string
		pkt  []byte
		kind Kind
		want tracker.ICMPError
	}{
		{"port unreachable", eth(0x0800, ipv4(1, icmp(3, 3, quoted4))), ICMPError, tracker.ICMPPortUnreachable},
		{"host unreachable", eth(0x0800, ipv4(1, icmp(3, 1, quoted4))), ICMPError, tracker.ICMPHostUnreachable},
		{"administratively prohibited", eth(0x0800, ipv4(1, icmp(3, 13, quoted4))), ICMPError, tracker.ICMPProhibited},
		{"time exceeded", eth(0x0800, ipv4(1, icmp(11, 0, quoted4))), ICMPError, tracker.ICMPTimeExceeded},
		{"only 8 bytes of TCP quoted (RFC 792's least)", eth(0x0800, ipv4(1, icmp(3, 3, quoted4[:28]))), ICMPError, tracker.ICMPPortUnreachable},
		{"fragmentation needed is no error", eth(0x0800, ipv4(1, icmp(3, 4, quoted4))), NotTCP, 0},
		{"an echo request", eth(0x0800, ipv4(1, icmp(8, 0, quoted4))), NotTCP, 0},
		{"quoting UDP", eth(0x0800, ipv4(1, icmp(3, 3, ipv4(17, syn)))), NotTCP, 0},
		{"quote cut before the sequence number", eth(0x0800, ipv4(1, icmp(3, 3, quoted4[:24]))), NotTCP, 0},
		{"ICMPv6 port unreachable", eth(0x86dd, ipv6(58, icmp(1, 4, quoted6))), ICMPError, tracker.ICMPPortUnreachable},
		{"ICMPv6 no route", eth(0x86dd, ipv6(58, icmp(1, 0, quoted6))), ICMPError, tracker.ICMPHostUnreachable},
		{"ICMPv6 packet too big is no error", eth(0x86dd, ipv6(58, icmp(2, 0, quoted6))), NotTCP, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			seg := tracker.Segment{ICMP: 9} // (stale from an earlier packet)
			k := d.Decode(layers.LinkTypeEthernet, tc.pkt, len(tc.pkt), &seg)
			flags := tracker.SYN
			if len(tc.pkt) < 14+20+8+20+14 {
				flags = 0 // (quoted too short to hold them)
			}
			if k != tc.kind || k == ICMPError && (seg.ICMP != tc.want || seg.SrcPort != 40000 || seg.DstPort != 8080 ||
				seg.Seq != seqnum.Value(1000) || seg.Flags != flags) {
				t.Errorf("%v, %+v; want %v, %v quoting the SYN from port 40000", k, seg, tc.kind, tc.want)
			}
		})
	}
	var d Decoder
	seg := tracker.Segment{ICMP: tracker.ICMPPortUnreachable}
	if d.Decode(layers.LinkTypeEthernet, eth(0x0800, quoted4), 14+len(quoted4), &seg); seg.ICMP != 0 {
		t.Errorf("a TCP segment after an ICMP error keeps its ICMP %v", seg.ICMP)
	}
}
