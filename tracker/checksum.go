package tracker

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
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
type checksums struct {
	hosts   map[Addr]*hostSums
	dropped uint64
	offload map[Addr]bool // hosts seen with ChecksumOffloaded segments
}

type hostSums struct {
	good, bad uint64
	trusted   bool
	// The last bad segment that occupied sequence space: its receiver and
	// ports, and where it ended.
	peer       Addr
	sport, dpt uint16
	end        seqnum.Value
	pending    bool
}

// dropChecksum reports whether the segment must be ignored for its bad
// checksum, and records what its checksum says of its sender.
func (t *Tracker) dropChecksum(seg *Segment) bool {
	cs := &t.sums
	switch seg.Checksum {
	case ChecksumOffloaded:
		if !cs.offload[seg.Src] {
			if cs.offload == nil {
				cs.offload = make(map[Addr]bool)
			}
			cs.offload[seg.Src] = true
		}
	case ChecksumGood:
		if h := cs.hosts[seg.Src]; h != nil {
			h.good++
		}
	}
	if seg.Flags&ACK != 0 && len(cs.hosts) > 0 {
		cs.answered(seg)
	}
	if seg.Checksum != ChecksumBad {
		return false
	}
	h := cs.hosts[seg.Src]
	if h == nil {
		if cs.hosts == nil {
			cs.hosts = make(map[Addr]*hostSums)
		}
		h = &hostSums{}
		cs.hosts[seg.Src] = h
	}
	h.bad++
	if h.trusted {
		return false
	}
	if seg.Len() > 0 {
		h.peer, h.sport, h.dpt, h.end, h.pending = seg.Dst, seg.SrcPort, seg.DstPort, seg.End(), true
	}
	cs.dropped++
	k, fromA := keyOf(seg)
	if c := t.table.get(&k); c != nil {
		c.BadChecksums++
		c.zeek.BadChecksum(c.sideOf(fromA) == Client)
	}
	return true
}

// answered trusts the host seg acknowledges when the acknowledgment covers
// its last bad segment to seg's sender and the host never sent a good one.
func (cs *checksums) answered(seg *Segment) {
	h := cs.hosts[seg.Dst]
	if h == nil || !h.pending || h.good > 0 || h.peer != seg.Src || h.sport != seg.DstPort || h.dpt != seg.SrcPort {
		return
	}
	if seg.Checksum != ChecksumBad && !seg.Ack.LessThan(h.end) {
		h.trusted, h.pending = true, false
	}
}

// ChecksumStats is what the checksums showed over the input.
type ChecksumStats struct {
	Dropped uint64 // segments ignored for a bad checksum
	// Offloading are the hosts whose segments carried only the
	// pseudo-header's sum (captured on the sending host); Trusted those
	// whose bad checksums their peers answered as fine. Both are taken as
	// checksum offload on the capturing host, and their segments tracked.
	Offloading, Trusted []netip.Addr
}

// Checksums returns the checksum statistics, hosts in address order.
func (t *Tracker) Checksums() ChecksumStats {
	st := ChecksumStats{Dropped: t.sums.dropped}
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
