package capture

import (
	"encoding/binary"
	"math/bits"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Checksums (RFC 791 §3.1, RFC 793 §3.1, RFC 8200 §8.1; RFC 1071 for the
// sum). A segment can be judged only when it was captured whole: the
// snaplen cuts most (the live default keeps 256 bytes), and a
// segmentation-offload super-packet or a reassembled datagram was never on
// the wire as captured; those are ChecksumUnverified, taken as fine.

// sum16 adds b to s as big-endian 16-bit words (an odd last byte padded
// with zero), in ones' complement arithmetic modulo 0xffff. It adds b as
// 64-bit words in the machine's little-endian order, with each carry out
// of the top added back in (the end-around carry: 2^64 is 1 modulo 0xffff),
// eight at a time in one chain of add-with-carry instructions, and folds
// the total once. Summing byte-swapped words gives the byte-swapped sum
// (RFC 1071 §2(B)), so the folded total is shifted up a byte, which is
// that swap modulo 0xffff. The result is s plus a number of at most 25
// bits, zero only when b is all zeros, and it folds to what adding b's
// words one by one folds to (FuzzSum16).
func sum16(s uint64, b []byte) uint64 {
	var acc, c uint64
	for len(b) >= 64 {
		_ = b[63]
		acc, c = bits.Add64(acc, le64(b), c)
		acc, c = bits.Add64(acc, le64(b[8:]), c)
		acc, c = bits.Add64(acc, le64(b[16:]), c)
		acc, c = bits.Add64(acc, le64(b[24:]), c)
		acc, c = bits.Add64(acc, le64(b[32:]), c)
		acc, c = bits.Add64(acc, le64(b[40:]), c)
		acc, c = bits.Add64(acc, le64(b[48:]), c)
		acc, c = bits.Add64(acc, le64(b[56:]), c)
		b = b[64:]
	}
	if len(b) >= 32 {
		_ = b[31]
		acc, c = bits.Add64(acc, le64(b), c)
		acc, c = bits.Add64(acc, le64(b[8:]), c)
		acc, c = bits.Add64(acc, le64(b[16:]), c)
		acc, c = bits.Add64(acc, le64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, le64(b), c)
		b = b[8:]
	}
	// The last 0 to 7 bytes, where a whole word would hold them.
	var t uint64
	var sh uint
	if len(b) >= 4 {
		t, sh, b = uint64(binary.LittleEndian.Uint32(b)), 32, b[4:]
	}
	if len(b) >= 2 {
		t |= uint64(binary.LittleEndian.Uint16(b)) << sh
		sh, b = sh+16, b[2:]
	}
	if len(b) == 1 {
		t |= uint64(b[0]) << sh
	}
	acc, c = bits.Add64(acc, t, c)
	return s + (uint64(fold(acc))+c)<<8
}

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// fold folds a sum into 16 bits, end-around carries included: 64 bits to
// 32 with an add-with-carry, then to 16 twice, without a loop, whose
// branch the sums' varying sizes mispredicted. A sum that is not 0 folds
// into 1 to 0xffff.
func fold(s uint64) uint16 {
	x, c := bits.Add32(uint32(s), uint32(s>>32), 0)
	x += c // cannot carry: after a carry x is at most 2^32-2
	x = x&0xffff + x>>16
	return uint16(x&0xffff + x>>16)
}

// tcpChecksum judges the TCP segment of n bytes at off whose pseudo-header
// sum is pseudo: Good when the sum over both is all ones; Offloaded when the
// checksum field holds just the pseudo-header's sum (Linux) or 0 (macOS,
// Windows), as a sending host that leaves the checksum to its NIC captures
// it; Bad otherwise.
func (w *walk) tcpChecksum(pseudo uint64, off, n int) tracker.Checksum {
	if w.d.NoChecksums || w.d.frag.valid || off+n > len(w.data) || n < 20 {
		return tracker.ChecksumUnverified
	}
	pseudo += uint64(protoTCP) + uint64(n)
	if fold(sum16(pseudo, w.data[off:off+n])) == 0xffff {
		return tracker.ChecksumGood
	}
	if v := binary.BigEndian.Uint16(w.data[off+16:]); v == fold(pseudo) || v == 0 {
		return tracker.ChecksumOffloaded
	}
	return tracker.ChecksumBad
}

// checksum4 judges an IPv4 packet's header (at off, ihl bytes) and its TCP
// segment (tcpLen bytes behind the header); total 0 is a segmentation-
// offload super-packet.
func (w *walk) checksum4(off, ihl, total int) tracker.Checksum {
	if w.d.NoChecksums {
		return tracker.ChecksumUnverified
	}
	if !ipv4ChecksumOK(w.data, off, ihl) && binary.BigEndian.Uint16(w.data[off+10:]) != 0 {
		return tracker.ChecksumBad // 0: the header checksum left to the NIC as well
	}
	if binary.BigEndian.Uint16(w.data[off+2:]) == 0 {
		return tracker.ChecksumUnverified
	}
	// The addresses' sum as two 32-bit words: 2^16 is 1 modulo 0xffff.
	h := w.data[off : off+20]
	pseudo := uint64(binary.BigEndian.Uint32(h[12:])) + uint64(binary.BigEndian.Uint32(h[16:]))
	return w.tcpChecksum(pseudo, off+ihl, total-ihl)
}

// checksum6 judges an IPv6 packet's TCP segment of n bytes at p, for the
// IPv6 header at off; a zero payload length is a super-packet or jumbogram.
// Behind a Routing header the pseudo-header holds the final destination
// (RFC 8200 §8.1), not the Destination Address.
func (w *walk) checksum6(off, p, n int) tracker.Checksum {
	if w.d.NoChecksums || w.routeUnknown || binary.BigEndian.Uint16(w.data[off+4:]) == 0 {
		return tracker.ChecksumUnverified
	}
	dst := off + 24
	if w.finalDst > 0 {
		dst = w.finalDst
	}
	return w.tcpChecksum(sum16(sum16(0, w.data[off+8:off+24]), w.data[dst:dst+16]), p, n)
}
