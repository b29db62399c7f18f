package capture

import "github.com/tcpwatch/tcpwatch/tracker"

// IP fragments are reassembled far enough to know that the datagram
// arrived whole: the first fragment's headers are decoded into a segment,
// held, and handed on when the last missing fragment arrives, as the
// receiver's kernel delivers the datagram then. A datagram that never
// completes never reaches TCP (Linux drops it after ipfrag_time, 30 s), so
// neither does its segment. The bytes are not copied: only offsets are kept.
//
// Overlaps follow Linux (net/ipv4/inet_fragment.c, inet_frag_queue_insert):
// a fragment that repeats one already held exactly is ignored; any other
// overlap discards the whole datagram (RFC 5722 for IPv6; Linux does the
// same for IPv4 since 4.19). A fragment that carries no bytes is ignored,
// as Linux drops it (ip_frag_queue, ip6_frag_queue: end == offset), but
// the end of the datagram a last one gives is kept, as Linux keeps it. A
// datagram whose fragments reach past maxDatagram (IPv4: with its header;
// IPv6: its payload) is discarded, as Linux drops it (ip_frag_reasm,
// ip6_frag_queue: oversize).
const (
	maxFragDatagrams = 64    // datagrams being reassembled at once; the oldest gives way
	maxFragPieces    = 16    // fragments held per datagram; more discards it
	fragTimeout      = 30e9  // ns, Linux's net.ipv4.ipfrag_time
	maxDatagram      = 65535 // an IPv4 datagram's limit (IPv6's without jumbograms)
)

// fragKey identifies a datagram: source, destination, protocol and
// identification (RFC 791 §3.2; RFC 8200 §4.5 without the protocol).
type fragKey struct {
	src, dst tracker.Addr
	id       uint32
	proto    uint8
	v6       bool
}

// fragInfo is what decoding learnt of the fragment in a packet.
type fragInfo struct {
	key      fragKey
	off, end int  // the bytes of the datagram's payload it carries
	max      int  // the largest end a datagram's payload can have
	more     bool // more fragments follow
	valid    bool
}

// fragmentIPv4 records the IPv4 header h (ihl and total bytes long), whose
// fragment field is not zero, as this packet's fragment. It reports whether
// decoding goes on: for a first fragment, which holds the headers, and an
// unfragmented datagram that merely says so (DF alone is not in the mask).
func (w *walk) fragmentIPv4(h []byte, ihl, total int) bool {
	frag := int(h[6])<<8 | int(h[7])
	off, more := frag&0x1fff*8, frag&0x2000 != 0
	if off == 0 && !more {
		return true
	}
	if w.d.frag.valid {
		return false // a fragment inside a fragment: not followed
	}
	w.d.frag = fragInfo{
		key: fragKey{src: tracker.AddrFrom4([4]byte(h[12:16])), dst: tracker.AddrFrom4([4]byte(h[16:20])),
			id: uint32(h[4])<<8 | uint32(h[5]), proto: h[9]},
		off: off, end: off + total - ihl, max: maxDatagram - ihl, more: more, valid: true,
	}
	w.d.fragDepth = w.d.tun.Depth
	w.fragment = w.fragment || off == 0
	return off == 0
}

// fragmentIPv6 records the fragment header at the start of fh, with n bytes
// of fragment after it, as this packet's fragment. done says that decoding
// stops here, with kind k: at a later fragment.
func (w *walk) fragmentIPv6(fh []byte, n int) (k Kind, done bool) {
	off, more := int(fh[2])<<8|int(fh[3]&0xf8), fh[3]&1 != 0
	if off == 0 && !more {
		return 0, false // an atomic fragment (RFC 6946): a whole datagram
	}
	if w.d.frag.valid {
		return Fragment, true
	}
	w.d.frag = fragInfo{
		key: fragKey{src: w.seg.Src, dst: w.seg.Dst, v6: true, proto: fh[0],
			id: uint32(fh[4])<<24 | uint32(fh[5])<<16 | uint32(fh[6])<<8 | uint32(fh[7])},
		off: off, end: off + n, max: maxDatagram, more: more, valid: true,
	}
	w.d.fragDepth = w.d.tun.Depth
	if off != 0 {
		if fh[0] == protoTCP || w.opens(fh[0]) {
			return Fragment, true
		}
		w.d.frag.valid = false
		return NotTCP, true
	}
	w.fragment = true
	return 0, false
}

type fragPiece struct{ off, end int32 }

// fragDatagram is one datagram being reassembled: pointer-free.
type fragDatagram struct {
	key     fragKey
	first   int64 // time of its first fragment seen
	used    bool
	haveSeg bool  // the first fragment decoded to a TCP segment, held in seg
	dead    bool  // the first fragment was not TCP: swallow the rest
	total   int32 // payload length, known from the last fragment; -1 until then
	hlen    int32 // for TCP directly in the fragmented IP: its header's length
	direct  bool
	n       int
	pieces  [maxFragPieces]fragPiece
	seg     tracker.Segment
}

// FragmentStats counts reassembly.
type FragmentStats struct {
	Reassembled uint64 // datagrams completed that carried a TCP segment
	Overlaps    uint64 // datagrams discarded for overlapping fragments
	Incomplete  uint64 // datagrams given up: timed out, evicted, or open at the end
	Oversize    uint64 // datagrams discarded for reaching past 65,535 bytes
}

// fragTable holds the datagrams being reassembled.
type fragTable struct {
	d     [maxFragDatagrams]fragDatagram
	stats FragmentStats
}

// add records the fragment f of a packet that decoded to k (seg holding
// the segment when k is TCP and f is the first fragment). It returns TCP,
// with the datagram's segment in seg, when f completed a datagram that
// carries one, and Fragment otherwise, except that a first fragment that
// is not TCP (or is cut by the snaplen) keeps its kind.
func (t *fragTable) add(f *fragInfo, k Kind, seg *tracker.Segment, direct bool, now int64) Kind {
	if f.end == f.off {
		if !f.more {
			t.find(&f.key, now).empty(int32(f.end))
		}
		return Fragment
	}
	dg := t.find(&f.key, now)
	if f.end > f.max {
		t.stats.Oversize++
		*dg = fragDatagram{}
		return Fragment
	}
	if f.off == 0 && k != TCP && !dg.dead {
		dg.dead = true
		if f.key.proto == protoTCP {
			// A TCP datagram whose first fragment does not decode (cut
			// by the snaplen, or malformed) never reaches TCP.
			t.stats.Incomplete++
		}
	}
	switch {
	case dg.dead && f.off == 0:
		return k
	case dg.dead && f.key.proto == protoTCP:
		return Fragment
	case dg.dead:
		return NotTCP
	}
	switch dg.insert(int32(f.off), int32(f.end), f.more) {
	case pieceDuplicate:
		return Fragment
	case pieceOverlap, pieceTooMany:
		t.stats.Overlaps++
		*dg = fragDatagram{}
		return Fragment
	}
	if f.off == 0 {
		dg.haveSeg, dg.seg, dg.direct = true, *seg, direct
		dg.hlen = int32(f.end - int(seg.Payload))
	}
	if !dg.complete() {
		return Fragment
	}
	*seg = dg.seg
	if dg.direct {
		seg.Payload = uint32(dg.total - dg.hlen)
	}
	*dg = fragDatagram{}
	t.stats.Reassembled++
	return TCP
}

// find returns the datagram for key, a new one if there is none: a free or
// expired slot, or else the oldest.
func (t *fragTable) find(key *fragKey, now int64) *fragDatagram {
	var free, oldest *fragDatagram
	for i := range t.d {
		dg := &t.d[i]
		if dg.used && now-dg.first > fragTimeout {
			t.giveUp(dg)
		}
		switch {
		case dg.used && dg.key == *key:
			return dg
		case !dg.used:
			if free == nil {
				free = dg
			}
		case oldest == nil || dg.first < oldest.first:
			oldest = dg
		}
	}
	if free == nil {
		t.giveUp(oldest)
		free = oldest
	}
	*free = fragDatagram{key: *key, first: now, used: true, total: -1}
	return free
}

// Stats returns the counts, datagrams still open counted as incomplete.
func (t *fragTable) Stats() FragmentStats {
	st := t.stats
	for i := range t.d {
		if t.d[i].used && !t.d[i].dead {
			st.Incomplete++
		}
	}
	return st
}

// giveUp discards an incomplete datagram.
func (t *fragTable) giveUp(dg *fragDatagram) {
	if !dg.dead {
		t.stats.Incomplete++
	}
	*dg = fragDatagram{}
}

type pieceResult uint8

const (
	pieceAdded pieceResult = iota
	pieceDuplicate
	pieceOverlap
	pieceTooMany
)

// insert adds the bytes off..end, the last fragment's when !more.
func (dg *fragDatagram) insert(off, end int32, more bool) pieceResult {
	for _, p := range dg.pieces[:dg.n] {
		if p.off == off && p.end == end {
			return pieceDuplicate
		}
		if off < p.end && p.off < end {
			return pieceOverlap
		}
	}
	if !more {
		if dg.total >= 0 && dg.total != end {
			return pieceOverlap // two different ends
		}
		dg.total = end
	}
	if dg.total >= 0 && end > dg.total || dg.n == maxFragPieces {
		return pieceTooMany
	}
	dg.pieces[dg.n] = fragPiece{off, end}
	dg.n++
	return pieceAdded
}

// empty takes note of a last fragment that carries no bytes, ending at
// end: the datagram's end, when it agrees with the pieces held.
func (dg *fragDatagram) empty(end int32) {
	if dg.total >= 0 {
		return
	}
	for _, p := range dg.pieces[:dg.n] {
		if p.end > end {
			return
		}
	}
	dg.total = end
}

// complete reports whether the pieces cover the datagram from 0 to its
// end and the first one held a segment.
func (dg *fragDatagram) complete() bool {
	if !dg.haveSeg || dg.total < 0 {
		return false
	}
	var covered int32
	for covered < dg.total {
		next := covered
		for _, p := range dg.pieces[:dg.n] {
			if p.off == covered {
				next = p.end
			}
		}
		if next == covered {
			return false
		}
		covered = next
	}
	return true
}
