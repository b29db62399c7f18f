package capture

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// withTCPChecksum returns a copy of the bare IPv4 or IPv6 packet p with its
// TCP checksum field set to the right value, or, with partial, to the
// pseudo-header's sum alone (what a sending host with checksum offload
// captures).
func withTCPChecksum(p []byte, partial bool) []byte {
	p = append([]byte(nil), p...)
	var pseudo uint64
	var tcp []byte
	if p[0]>>4 == 4 {
		pseudo, tcp = sum16(0, p[12:20]), p[20:]
	} else {
		pseudo, tcp = sum16(0, p[8:40]), p[40:]
	}
	pseudo += protoTCP + uint64(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], 0)
	v := ^fold(sum16(pseudo, tcp))
	if partial {
		v = fold(pseudo)
	}
	binary.BigEndian.PutUint16(tcp[16:], v)
	return p
}

func TestChecksums(t *testing.T) {
	v4 := ipv4(6, tcpSeg(tcpSpec{flags: 0x18, payload: 101})) // an odd length
	v6 := ipv6(6, tcpSeg(tcpSpec{flags: 0x18, payload: 100}))
	good4, good6 := withTCPChecksum(v4, false), withTCPChecksum(v6, false)
	flip := func(p []byte, i int) []byte { p = append([]byte(nil), p...); p[i] ^= 0x40; return p }
	opts4 := cat([]byte{0x46}, good4[1:20], []byte{1, 1, 1, 0}, good4[20:]) // an options field of NOPs
	binary.BigEndian.PutUint16(opts4[2:], uint16(len(opts4)))
	setIPv4Checksum(opts4)
	tso := withTCPChecksum(v4, false)
	binary.BigEndian.PutUint16(tso[2:], 0)
	setIPv4Checksum(tso)
	for _, tc := range []struct {
		name   string
		data   []byte
		wire   int
		noSums bool
		want   tracker.Checksum
	}{
		{"IPv4 right", good4, 0, false, tracker.ChecksumGood},
		{"IPv4 payload corrupted", flip(good4, 60), 0, false, tracker.ChecksumBad},
		{"IPv4 header checksum wrong", flip(good4, 10), 0, false, tracker.ChecksumBad},
		{"IPv4 with options right", opts4, 0, false, tracker.ChecksumGood},
		{"IPv4 options corrupted", flip(opts4, 21), 0, false, tracker.ChecksumBad},
		{"IPv4 header and TCP checksums left to the NIC", func() []byte {
			p := append([]byte(nil), v4...)
			p[10], p[11] = 0, 0
			return p
		}(), 0, false, tracker.ChecksumOffloaded},
		{"IPv4 sending host's offload", withTCPChecksum(v4, true), 0, false, tracker.ChecksumOffloaded},
		{"IPv4 cut by the snaplen", good4[:60], len(good4), false, tracker.ChecksumUnverified},
		{"IPv4 segmentation offload", tso, 0, false, tracker.ChecksumUnverified},
		{"IPv4 not asked to", flip(good4, 60), 0, true, tracker.ChecksumUnverified},
		{"IPv6 right", good6, 0, false, tracker.ChecksumGood},
		{"IPv6 corrupted", flip(good6, 80), 0, false, tracker.ChecksumBad},
		{"IPv6 sending host's offload", withTCPChecksum(v6, true), 0, false, tracker.ChecksumOffloaded},
		{"IPv6 cut by the snaplen", good6[:70], len(good6), false, tracker.ChecksumUnverified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{NoChecksums: tc.noSums}
			var seg tracker.Segment
			wire := max(tc.wire, len(tc.data))
			if k := d.Decode(layers.LinkTypeRaw, tc.data, wire, &seg); k != TCP {
				t.Fatalf("Decode = %v", k)
			}
			if seg.Checksum != tc.want {
				t.Errorf("checksum %v, want %v", seg.Checksum, tc.want)
			}
		})
	}
}

// TestTunnelledChecksum: the inner segment's checksum is the one judged.
func TestTunnelledChecksum(t *testing.T) {
	good := withTCPChecksum(v4Data, false)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	for _, tc := range []struct {
		inner []byte
		want  tracker.Checksum
	}{{good, tracker.ChecksumGood}, {bad, tracker.ChecksumBad}} {
		p := outer4(17, out4a, out4b, udp(1, 4789, cat(vxlanHdr(1), eth(0x0800, tc.inner))))
		var d Decoder
		var seg tracker.Segment
		if k := d.Decode(layers.LinkTypeRaw, p, len(p), &seg); k != TCP || seg.Checksum != tc.want {
			t.Errorf("Decode = %v, checksum %v; want TCP, %v", k, seg.Checksum, tc.want)
		}
	}
}

// BenchmarkChecksum compares decoding a full-sized segment captured whole
// with checksums verified and without.
func BenchmarkChecksum(b *testing.B) {
	p := withTCPChecksum(ipv4(6, tcpSeg(tcpSpec{flags: 0x10, payload: 1448})), false)
	for _, bc := range []struct {
		name string
		no   bool
	}{{"verified", false}, {"skipped", true}} {
		b.Run(bc.name, func(b *testing.B) {
			d := Decoder{NoChecksums: bc.no}
			var seg tracker.Segment
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				d.Decode(layers.LinkTypeRaw, p, len(p), &seg)
			}
		})
	}
}

// wordByWord is RFC 1071's sum as written there, the reference for sum16:
// s plus b's big-endian 16-bit words one by one, an odd last byte padded
// with zero.
func wordByWord(s uint64, b []byte) uint64 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	return s
}

// TestSum16MatchesWordByWord checks the 64-bit sum against RFC 1071's
// 16-bit loop for every length up to 100 and a few offsets.
func TestSum16MatchesWordByWord(t *testing.T) {
	b := make([]byte, 140)
	for i := range b {
		b[i] = byte(i*131 + 7)
		if i%5 == 0 {
			b[i] = 0xff
		}
	}
	for off := range 4 {
		for n := range 100 {
			p := b[off : off+n]
			want := wordByWord(0, p)
			if got := fold(sum16(0x1234, p)); got != fold(want+0x1234) {
				t.Fatalf("offset %d length %d: %#x, want %#x", off, n, got, fold(want+0x1234))
			}
		}
	}
}

// BenchmarkDecodeNoChecksums is BenchmarkDecode with checksums not
// verified: the difference is what verifying costs on those packets.
func BenchmarkDecodeNoChecksums(b *testing.B) {
	benchDecode(b, &Decoder{NoChecksums: true})
}

// TestSum16EqualsWordByWord: the unrolled sum folds to what
// adding big-endian 16-bit words one by one folds to, for every length
// and offset (an odd last byte padded with zero), carries included.
func TestSum16EqualsWordByWord(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 300)
	for trial := 0; trial < 2000; trial++ {
		for i := range buf {
			buf[i] = byte(rng.Uint32())
			if trial%3 == 0 {
				buf[i] = 0xff // all ones: the carries' worst case
			}
		}
		b := buf[rng.IntN(8) : rng.IntN(len(buf)-8)+8]
		start := rng.Uint64() >> 20
		want := wordByWord(start, b)
		// Exactly, not only modulo 0xffff: 0 and 0xffff are the same number
		// in one's complement, but a checksum field holding the
		// pseudo-header's folded sum is compared as it is.
		got, w := fold(sum16(start, b)), fold(want)
		if got != w {
			t.Fatalf("%d bytes from %#x: sum16 folds to %#04x, word by word %#04x", len(b), start, got, w)
		}
	}
}

// TestRoutingHeaderChecksum: behind a Routing header with a destination
// still to come, the pseudo-header holds the final destination (RFC 8200
// §8.1): a Segment Routing Header's first segment, Mobile IPv6's home
// address; a type that cannot be read leaves the checksum unverified.
func TestRoutingHeaderChecksum(t *testing.T) {
	final := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 0x99}
	routed := func(typ, left byte, pseudoDst [16]byte, corrupt bool) []byte {
		seg := tcpSeg(tcpSpec{flags: 0x18, payload: 100})
		rh := cat([]byte{protoTCP, 2, typ, left, 0, 0, 0, 0}, final[:])
		pseudo := sum16(sum16(0, ip6a[:]), pseudoDst[:]) + protoTCP + uint64(len(seg))
		binary.BigEndian.PutUint16(seg[16:], ^fold(sum16(pseudo, seg)))
		if corrupt {
			seg[len(seg)-1] ^= 1
		}
		return ipv6(43, cat(rh, seg))
	}
	for _, tc := range []struct {
		name string
		data []byte
		want tracker.Checksum
	}{
		{"segment routing summed over the final destination", routed(4, 1, final, false), tracker.ChecksumGood},
		{"segment routing corrupted", routed(4, 1, final, true), tracker.ChecksumBad},
		{"segment routing summed over the next hop", routed(4, 1, ip6b, false), tracker.ChecksumBad},
		{"segment routing at its last hop", routed(4, 0, ip6b, false), tracker.ChecksumGood},
		{"mobile IPv6 home address", routed(2, 1, final, false), tracker.ChecksumGood},
		{"unknown routing type unverified", routed(3, 1, ip6b, true), tracker.ChecksumUnverified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var seg tracker.Segment
			wire := len(routed(4, 1, final, false))
			if k := d.Decode(layers.LinkTypeRaw, tc.data, wire, &seg); k != TCP {
				t.Fatalf("Decode = %v", k)
			}
			if seg.Checksum != tc.want {
				t.Errorf("checksum %v, want %v", seg.Checksum, tc.want)
			}
		})
	}
}

// FuzzSum16 checks the 64-bit sum against RFC 1071's 16-bit loop on any
// bytes from any offset (the packet's headers are at any alignment), odd
// lengths and carries out of every word included: both fold to the same
// 16 bits exactly, and the sum is zero only for a zero start and all-zero
// bytes.
func FuzzSum16(f *testing.F) {
	ones := bytes.Repeat([]byte{0xff}, 300)
	f.Add(uint64(0), uint8(0), ones)
	f.Add(uint64(0xffff), uint8(1), ones[:129])
	f.Add(uint64(0), uint8(3), make([]byte, 71))
	f.Add(uint64(1)<<40, uint8(5), []byte{0x80, 0, 0x7f, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, start uint64, off uint8, data []byte) {
		start >>= 20 // the callers' starts are sums of a few words
		b := data[min(int(off)%8, len(data)):]
		got, want := sum16(start, b), wordByWord(start, b)
		if fold(got) != fold(want) {
			t.Fatalf("%d bytes from %#x: sum16 folds to %#04x, word by word %#04x", len(b), start, fold(got), fold(want))
		}
		if (got == 0) != (want == 0) {
			t.Fatalf("%d bytes from %#x: sum16 %#x, word by word %#x", len(b), start, got, want)
		}
	})
}

// TestFoldIsTheCarryLoop: fold gives what folding the carries back in one
// 16-bit step at a time gives, for the edges of every width.
func TestFoldIsTheCarryLoop(t *testing.T) {
	loop := func(s uint64) uint16 {
		for s > 0xffff {
			s = s&0xffff + s>>16
		}
		return uint16(s)
	}
	values := []uint64{0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xffff_fffe, 0xffff_ffff,
		1 << 32, 1<<32 + 1, 0xffff_ffff_0000_0001, 1<<64 - 2, 1<<64 - 1}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		values = append(values, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range values {
		if got, want := fold(v), loop(v); got != want {
			t.Fatalf("fold(%#x) = %#04x, want %#04x", v, got, want)
		}
	}
}
