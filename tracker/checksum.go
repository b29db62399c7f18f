package tracker

import (
	"net/netip"
	"slices"
	"strconv"
)

// Checksum is what the decoder found of a segment's checksums: the IPv4
// header's (when there is one) and the TCP checksum over the pseudo-header
// and the whole segment.
type Checksum uint8

const (
	// ChecksumUnverified: not checked (not asked to, or the snaplen cut the
	// segment, or a segmentation-offload super-packet): taken as fine.
	ChecksumUnverified Checksum = iota
	ChecksumGood
	// ChecksumOffloaded: the TCP checksum field holds only the
	// pseudo-header's sum, as Linux leaves it for a NIC that computes the
	// rest (CHECKSUM_PARTIAL): captured on the sending host before the NIC
	// filled it in. Taken as fine.
	ChecksumOffloaded
	// ChecksumBad: wrong. The receiver's kernel drops such a segment.
	ChecksumBad
)

// checksums follows the hosts whose segments had bad checksums, to tell a
// corrupted segment from a sending host's checksum offload that leaves other
// values than the pseudo-header sum: a host none of whose segments had a
// good checksum, and whose peer acknowledged one of its bad ones, is trusted
// from then on (the peer received it, so the wire carried it right).
// Nothing is allocated until the first bad checksum.
//
// A bad segment that its receiver's acknowledgment later covers was
// received after all (the capture's copy was the corrupt one, or its
// sender offloads checksums): the last one a host sent on a connection
// that occupied sequence space is kept, and applied before the
// acknowledgment that covers it, unless a good copy came first.
//
// Both tables are capped at MaxChecksumHosts, so that spoofed sources do
// not grow them without bound: a host is entered for a bad segment only
// when the segment belongs to a connection followed and occupies sequence
// space; when a table is full, new hosts are not entered (those held stay)
// and their segments are counted in unfollowed.
type checksums struct {
	hosts      map[Addr]*hostSums
	dropped    uint64
	unfollowed uint64
	offload    map[Addr]bool // hosts seen with ChecksumOffloaded segments
}

// MaxChecksumHosts caps each of the checksum tables.
const MaxChecksumHosts = 16384

type hostSums struct {
	good, bad uint64
	trusted   bool
	// pending: last, the last bad segment of the host that occupied
	// sequence space, is not yet acknowledged.
	pending bool
	last    Segment
}

// dropChecksum reports whether the segment must be ignored for its bad
// checksum, and records what its checksum says of its sender.
func (t *Tracker) dropChecksum(seg *Segment) bool {
	cs := &t.sums
	switch seg.Checksum {
	case ChecksumOffloaded:
		cs.offloading(seg.Src)
	case ChecksumGood:
		if h := cs.hosts[seg.Src]; h != nil {
			h.good++
			h.resent(seg)
		}
	}
	if seg.Flags&ACK != 0 && len(cs.hosts) > 0 {
		if h := cs.answered(seg); h != nil {
			held := h.last
			held.Checksum, held.Time = ChecksumUnverified, max(held.Time, seg.Time)
			t.Observe(&held)
		}
	}
	if seg.Checksum != ChecksumBad {
		return false
	}
	h := cs.hosts[seg.Src]
	if h != nil && h.trusted {
		h.bad++
		return false
	}
	cs.dropped++
	k, fromA := keyOf(seg)
	c := t.table.get(&k)
	if c == nil {
		return true
	}
	c.BadChecksums++
	c.zeek.BadChecksum(c.sideOf(fromA) == Client)
	if h == nil && seg.Len() > 0 {
		h = cs.enter(seg.Src)
	}
	if h != nil {
		h.bad++
		if seg.Len() > 0 {
			h.last, h.pending = *seg, true
		}
	}
	return true
}

// offloading records a as a host whose segments carry the pseudo-header's
// sum, if the table has room.
func (cs *checksums) offloading(a Addr) {
	switch {
	case cs.offload[a]:
	case len(cs.offload) >= MaxChecksumHosts:
		cs.unfollowed++
	default:
		if cs.offload == nil {
			cs.offload = make(map[Addr]bool)
		}
		cs.offload[a] = true
	}
}

// enter returns a new entry for a host, nil when the table is full.
func (cs *checksums) enter(a Addr) *hostSums {
	if len(cs.hosts) >= MaxChecksumHosts {
		cs.unfollowed++
		return nil
	}
	if cs.hosts == nil {
		cs.hosts = make(map[Addr]*hostSums)
	}
	h := &hostSums{}
	cs.hosts[a] = h
	return h
}

// resent forgets the held bad segment once a good segment of its
// connection carried all it did.
func (h *hostSums) resent(seg *Segment) {
	l := &h.last
	if h.pending && seg.Len() > 0 && sameFlow(seg, l) && !l.Seq.LessThan(seg.Seq) && !seg.End().LessThan(l.End()) {
		h.pending = false
	}
}

// sameFlow reports whether a and b go the same way on one connection.
func sameFlow(a, b *Segment) bool {
	return a.Src == b.Src && a.Dst == b.Dst && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort && a.Tunnel == b.Tunnel
}

// answered returns the host whose held bad segment seg acknowledges, nil
// if none: the segment is to be applied. The host is trusted from then on
// when it never sent a good one.
func (cs *checksums) answered(seg *Segment) *hostSums {
	h := cs.hosts[seg.Dst]
	if h == nil || !h.pending || seg.Checksum == ChecksumBad {
		return nil
	}
	l := &h.last
	if l.Dst != seg.Src || l.SrcPort != seg.DstPort || l.DstPort != seg.SrcPort || l.Tunnel != seg.Tunnel || seg.Ack.LessThan(l.End()) {
		return nil
	}
	h.pending = false
	h.trusted = h.good == 0
	return h
}

// ChecksumStats is what the checksums showed over the input.
type ChecksumStats struct {
	Dropped uint64 // segments ignored for a bad checksum
	// Unfollowed counts the segments whose sender could not be entered in
	// the full host tables (MaxChecksumHosts each).
	Unfollowed uint64
	// Offloading are the hosts whose segments carried only the
	// pseudo-header's sum (captured on the sending host); Trusted those
	// whose bad checksums their peers answered as fine. Both are taken as
	// checksum offload on the capturing host, and their segments tracked.
	Offloading, Trusted []netip.Addr
}

// Checksums returns the checksum statistics, hosts in address order.
func (t *Tracker) Checksums() ChecksumStats {
	st := ChecksumStats{Dropped: t.sums.dropped, Unfollowed: t.sums.unfollowed}
	for a := range t.sums.offload {
		st.Offloading = append(st.Offloading, a.IP())
	}
	for a, h := range t.sums.hosts {
		if h.trusted {
			st.Trusted = append(st.Trusted, a.IP())
		}
	}
	slices.SortFunc(st.Offloading, netip.Addr.Compare)
	slices.SortFunc(st.Trusted, netip.Addr.Compare)
	return st
}

var checksumNames = [...]string{"unverified", "good", "offloaded", "bad"}

// String returns "good", "bad", ... or "Checksum(N)".
func (c Checksum) String() string {
	if int(c) < len(checksumNames) {
		return checksumNames[c]
	}
	return "Checksum(" + strconv.Itoa(int(c)) + ")"
}
