package capture

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// frags4 cuts an IPv4 datagram (20-byte header) into fragments at the
// given payload offsets (multiples of 8), in order.
func frags4(dgram []byte, id uint16, cuts ...int) [][]byte {
	payload := dgram[20:]
	bounds := append(append([]int{0}, cuts...), len(payload))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		p := make([]byte, 20, 20+bounds[i+1]-bounds[i])
		copy(p, dgram[:20])
		p = append(p, payload[bounds[i]:bounds[i+1]]...)
		binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
		binary.BigEndian.PutUint16(p[4:], id)
		f := uint16(bounds[i] / 8)
		if i+2 < len(bounds) {
			f |= 0x2000
		}
		binary.BigEndian.PutUint16(p[6:], f)
		setIPv4Checksum(p)
		out = append(out, p)
	}
	return out
}

// frags6 cuts an IPv6 datagram (40-byte header, next header nh) the same
// way, with a fragment header in each piece.
func frags6(dgram []byte, id uint32, cuts ...int) [][]byte {
	payload, nh := dgram[40:], dgram[6]
	bounds := append(append([]int{0}, cuts...), len(payload))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		fh := []byte{nh, 0, 0, 0}
		f := uint16(bounds[i])
		if i+2 < len(bounds) {
			f |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], f)
		p := ipv6(44, cat(fh, be32(id), payload[bounds[i]:bounds[i+1]]))
		copy(p[8:], dgram[8:40])
		p[6] = 44
		out = append(out, p)
	}
	return out
}

// TestFragments feeds fragments in the given order: the segment comes out
// of the packet that completes the datagram, with the whole datagram's
// payload, or never.
func TestFragments(t *testing.T) {
	data := ipv4(6, tcpSeg(tcpSpec{flags: 0x18, payload: 1000})) // 20 + 1020 bytes
	f4 := frags4(data, 7, 512, 1016)
	data6 := ipv6(6, tcpSeg(tcpSpec{flags: 0x18, payload: 1000}))
	f6 := frags6(data6, 9, 512)
	vx := outer4(17, out4a, out4b, udp(1, 4789, cat(vxlanHdr(5), eth(0x0800, data))))
	fvx := frags4(vx, 3, 72) // the first holds the inner TCP header
	dupFirst := [][]byte{f4[0], f4[0], f4[1], f4[2]}
	overlap := append([]byte(nil), f4[1]...)
	binary.BigEndian.PutUint16(overlap[6:], 0x2000|(504/8)) // starts 8 bytes into the first
	setIPv4Checksum(overlap)
	// Nine 8,000-byte fragments and a last one ending at 72,000 bytes.
	big := ipv4(6, tcpSeg(tcpSpec{flags: 0x18, payload: 72000 - 20}))
	fbig := frags4(big, 11, 8000, 16000, 24000, 32000, 40000, 48000, 56000, 64000)
	empty := func(p []byte, more bool) []byte {
		q := append([]byte(nil), p[:20]...)
		binary.BigEndian.PutUint16(q[2:], 20)
		if !more {
			binary.BigEndian.PutUint16(q[6:], binary.BigEndian.Uint16(q[6:])&^0x2000)
		}
		setIPv4Checksum(q)
		return q
	}
	emptyFirst, emptyMid := empty(f4[0], true), empty(f4[1], true)
	// An empty last fragment at the end of f4[1] (offset 1016): with it,
	// f4[0] and f4[1] are the whole datagram, as the one that comes last
	// completes it.
	emptyLast := empty(f4[2], false)
	for _, tc := range []struct {
		name     string
		pkts     [][]byte
		times    []int64 // capture time of each packet, ns (default all 0)
		complete int     // index of the packet that gives the segment; -1: none
		payload  uint32
		stats    FragmentStats
	}{
		{"in order", f4, nil, 2, 1000, FragmentStats{Reassembled: 1}},
		{"last first", [][]byte{f4[2], f4[1], f4[0]}, nil, 2, 1000, FragmentStats{Reassembled: 1}},
		{"first last", [][]byte{f4[1], f4[2], f4[0]}, nil, 2, 1000, FragmentStats{Reassembled: 1}},
		{"exact duplicate ignored", dupFirst, nil, 3, 1000, FragmentStats{Reassembled: 1}},
		{"overlap discards the datagram", [][]byte{f4[0], overlap, f4[1], f4[2]}, nil, -1, 0, FragmentStats{Overlaps: 1, Incomplete: 1}},
		{"a fragment missing never delivers", [][]byte{f4[0], f4[2]}, nil, -1, 0, FragmentStats{Incomplete: 1}},
		{"timed out after 30 s", f4, []int64{0, 1e9, 31e9}, -1, 0, FragmentStats{Incomplete: 2}},
		{"IPv6", f6, nil, 1, 1000, FragmentStats{Reassembled: 1}},
		{"reassembly past 65,535 bytes discards the datagram", fbig, nil, -1, 0, FragmentStats{Oversize: 1}},
		{"empty first fragment ignored", [][]byte{emptyFirst, f4[0], f4[1], f4[2]}, nil, 3, 1000, FragmentStats{Reassembled: 1}},
		{"empty first fragment after the first ignored", [][]byte{f4[0], emptyFirst, f4[1], f4[2]}, nil, 3, 1000, FragmentStats{Reassembled: 1}},
		{"empty middle fragment ignored", [][]byte{f4[0], emptyMid, f4[1], f4[2]}, nil, 3, 1000, FragmentStats{Reassembled: 1}},
		{"empty last fragment ends the datagram", [][]byte{f4[0], emptyLast, f4[1]}, nil, 2, 1016 - 20, FragmentStats{Reassembled: 1}},
		{"IPv6 out of order", [][]byte{f6[1], f6[0]}, nil, 1, 1000, FragmentStats{Reassembled: 1}},
		{"outer fragments of VXLAN", fvx, nil, 1, 1000, FragmentStats{Reassembled: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var seg tracker.Segment
			got := -1
			for i, p := range tc.pkts {
				if tc.times != nil {
					d.now = tc.times[i]
				}
				k := d.Decode(layers.LinkTypeRaw, p, len(p), &seg)
				switch {
				case k == TCP && got >= 0:
					t.Fatalf("packet %d: a second segment", i)
				case k == TCP:
					got = i
				case k != Fragment:
					t.Fatalf("packet %d: %v, want Fragment", i, k)
				}
			}
			if got != tc.complete {
				t.Fatalf("segment from packet %d, want %d", got, tc.complete)
			}
			if got >= 0 && (seg.Payload != tc.payload || seg.Flags != tracker.PSH|tracker.ACK) {
				t.Errorf("payload %d flags %v, want %d P.", seg.Payload, seg.Flags, tc.payload)
			}
			if st := d.FragmentStats(); st != tc.stats {
				t.Errorf("stats %+v, want %+v", st, tc.stats)
			}
		})
	}
}

// TestFragmentTableBounded: more datagrams than the table holds give way,
// oldest first, and are counted.
func TestFragmentTableBounded(t *testing.T) {
	var d Decoder
	var seg tracker.Segment
	data := ipv4(6, tcpSeg(tcpSpec{flags: 0x10, payload: 100}))
	for i := range maxFragDatagrams + 10 {
		p := frags4(data, uint16(i), 64)[0]
		d.now = int64(i)
		d.Decode(layers.LinkTypeRaw, p, len(p), &seg)
	}
	if st := d.FragmentStats(); st.Incomplete != maxFragDatagrams+10 {
		t.Errorf("incomplete %d, want %d (10 evicted, the rest open)", st.Incomplete, maxFragDatagrams+10)
	}
	p := frags4(data, 1, 64)
	if n := testing.AllocsPerRun(100, func() {
		d.Decode(layers.LinkTypeRaw, p[0], len(p[0]), &seg)
		d.Decode(layers.LinkTypeRaw, p[1], len(p[1]), &seg)
	}); n != 0 {
		t.Errorf("reassembling a datagram: %v allocations", n)
	}
}

// TestFragmentedTCPWhoseFirstFragmentDoesNotDecode: the first fragment
// holds 8 bytes of the TCP header, too few to decode: the datagram never
// reaches TCP, and is counted incomplete (the other fragments are
// swallowed, as fragments), not left out of the counts.
func TestFragmentedTCPWhoseFirstFragmentDoesNotDecode(t *testing.T) {
	f := frags4(ipv4(6, tcpSeg(tcpSpec{flags: 0x18, payload: 1000})), 7, 8, 512)
	var d Decoder
	var seg tracker.Segment
	for i, p := range f {
		if k := d.Decode(layers.LinkTypeRaw, p, len(p), &seg); k == TCP || i > 0 && k != Fragment {
			t.Fatalf("packet %d: %v", i, k)
		}
	}
	if st := d.FragmentStats(); st != (FragmentStats{Incomplete: 1}) {
		t.Errorf("stats %+v, want one incomplete", st)
	}
}
