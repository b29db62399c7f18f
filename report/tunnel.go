package report

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TunnelLayer is one encapsulation a connection's segments arrived in,
// outermost first: its type, the outer packet's endpoints (as first seen)
// and its identifier, when the header carries one (VXLAN and Geneve VNI,
// GRE key, ERSPAN session, GTP-U TEID of the first packet seen).
type TunnelLayer struct {
	Type  tracker.TunnelKind `json:"type"`
	Outer [2]netip.Addr      `json:"outer"`
	ID    *uint32            `json:"id,omitempty"`
}

// Decapsulation counts what the decoder did beyond plain TCP: the tunnel
// contexts connections were seen in and the IP datagrams reassembled from
// fragments. It is left out of the report when all are zero.
type Decapsulation struct {
	Tunnels   int       `json:"tunnels"`
	Fragments Fragments `json:"fragments"`
	// Checksums is left out when no checksum was wrong other than by the
	// sending host's offload.
	Checksums *Checksums `json:"checksums,omitempty"`
}

// Checksums says what the IPv4 and TCP checksums showed: segments ignored
// because their checksum was wrong (their receiver dropped them), and the
// hosts whose wrong checksums were taken as checksum offload on the
// capturing host (their segments carried only the pseudo-header's sum, or
// their peer answered them as fine), whose segments were tracked.
type Checksums struct {
	Dropped    uint64       `json:"dropped"`
	Offloading []netip.Addr `json:"offloading_hosts"`
	Trusted    []netip.Addr `json:"trusted_hosts"`
	// Unfollowed counts segments whose sender the full host tables could
	// not take (their checksums still judged, their hosts not followed).
	Unfollowed uint64 `json:"unfollowed,omitempty"`
}

// Fragments counts IP reassembly: datagrams completed that carried a TCP
// segment, datagrams discarded for overlapping fragments (as Linux does),
// and datagrams never completed (timed out, evicted or open at the end:
// their segments never reached TCP).
type Fragments struct {
	Reassembled uint64 `json:"reassembled"`
	Overlaps    uint64 `json:"overlaps"`
	Incomplete  uint64 `json:"incomplete"`
	Oversize    uint64 `json:"oversize,omitempty"` // discarded for reaching past 65,535 bytes
}

// tunnelOf converts a tunnel context.
func tunnelOf(t tracker.Tunnel) []TunnelLayer {
	out := make([]TunnelLayer, 0, t.Depth)
	for _, l := range t.Layers[:t.Depth] {
		x := TunnelLayer{Type: l.Kind, Outer: [2]netip.Addr{l.Src.IP(), l.Dst.IP()}}
		if l.HasID {
			id := l.ID
			x.ID = &id
		}
		out = append(out, x)
	}
	return out
}

// tunnelFor looks up tunnel context id (0: none); nil when there is no
// lookup or it does not know id.
func tunnelFor(lookup func(uint32) (tracker.Tunnel, bool), id uint32) []TunnelLayer {
	if lookup == nil || id == 0 {
		return nil
	}
	if t, ok := lookup(id); ok {
		return tunnelOf(t)
	}
	return nil
}

// addTunnels counts the tunnel contexts the connections were seen in, in
// the input's decapsulation summary (each connection's is filled in as it
// is made: connSource.conn).
func addTunnels(r *Report, conns []*tracker.Record, lookup func(uint32) (tracker.Tunnel, bool)) {
	if lookup == nil {
		return
	}
	seen := make(map[uint32]bool)
	for _, c := range conns {
		if id := c.Key.Tunnel; id != 0 {
			seen[id] = true
		}
	}
	if len(seen) > 0 {
		r.decap().Tunnels = len(seen)
	}
}

// decap returns the input's decapsulation summary, made if need be.
func (r *Report) decap() *Decapsulation {
	if r.Input.Decapsulation == nil {
		r.Input.Decapsulation = &Decapsulation{}
	}
	return r.Input.Decapsulation
}

// addChecksums fills in what the checksums showed over the input, when
// they showed anything (each connection's count is filled in as it is
// made: connSource.conn).
func addChecksums(r *Report, tr *tracker.Tracker) {
	st := tr.Checksums()
	if st.Dropped == 0 && len(st.Trusted) == 0 && st.Unfollowed == 0 {
		// Nothing wrong but the pseudo-header sums of a sending host's
		// offload (every recording made on Linux with tcpdump): not worth
		// a word.
		return
	}
	d := r.decap()
	d.Checksums = &Checksums{Dropped: st.Dropped, Offloading: st.Offloading, Trusted: st.Trusted, Unfollowed: st.Unfollowed}
	if d.Checksums.Offloading == nil {
		d.Checksums.Offloading = []netip.Addr{}
	}
	if d.Checksums.Trusted == nil {
		d.Checksums.Trusted = []netip.Addr{}
	}
}

// TunnelString renders a tunnel context on one line:
// "vxlan 10.1.200.131 ↔ 10.1.1.172 id 1 / ..." (the outer addresses as
// first seen).
func TunnelString(ls []TunnelLayer) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteString(" / ")
		}
		fmt.Fprintf(&b, "%s %s ↔ %s", l.Type, l.Outer[0], l.Outer[1])
		if l.ID != nil {
			fmt.Fprintf(&b, " id %d", *l.ID)
		}
	}
	return b.String()
}

// tunnels lists the tunnel contexts the connections were seen in, one row
// each with its connections (the first few by ID), and says how many IP
// datagrams were reassembled and what the checksums showed.
func (p *printer) tunnels(r *Report) {
	type group struct {
		ids []uint64
		n   int
	}
	var order []string
	groups := make(map[string]*group)
	if d := r.Input.Decapsulation; d != nil && d.Tunnels > 0 {
		r.each(func(c *Connection) bool {
			if len(c.Tunnel) == 0 {
				return true
			}
			k := TunnelString(c.Tunnel)
			g := groups[k]
			if g == nil {
				g = &group{}
				groups[k] = g
				order = append(order, k)
			}
			if g.n++; len(g.ids) < 5 {
				g.ids = append(g.ids, c.ID)
			}
			return true
		})
	}
	if len(order) > 0 {
		rows := make([][]string, 0, len(order))
		for _, k := range order {
			g := groups[k]
			ids := make([]string, len(g.ids))
			for i, id := range g.ids {
				ids[i] = fmt.Sprintf("#%d", id)
			}
			list := strings.Join(ids, " ")
			if g.n > len(g.ids) {
				list += fmt.Sprintf(" and %s more", count(uint64(g.n-len(g.ids))))
			}
			rows = append(rows, []string{k, count(uint64(g.n)), list})
		}
		p.printf("\nTunnels (a connection's identity includes its tunnel; --merge-tunnels ignores them)\n")
		p.table([]string{"TUNNEL", "CONNECTIONS", "IDS"}, rows, nil)
	}
	d := r.Input.Decapsulation
	if d == nil {
		return
	}
	if f := d.Fragments; f != (Fragments{}) {
		p.printf("\nIP fragments: %s datagrams reassembled, %s discarded for overlapping fragments, %s never completed",
			count(f.Reassembled), count(f.Overlaps), count(f.Incomplete))
		if f.Oversize > 0 {
			p.printf(", %s discarded for passing 65,535 bytes", count(f.Oversize))
		}
		p.printf("\n")
	}
	cs := d.Checksums
	if cs == nil {
		return
	}
	if cs.Dropped > 0 {
		p.printf("\nChecksums: %s ignored for a wrong checksum (their receiver dropped them; --no-checksums to track them)\n", plural(cs.Dropped, "segment"))
	}
	if cs.Unfollowed > 0 {
		p.printf("\nChecksums: %s segments from hosts past the checksum tables' cap (%s hosts each), their hosts not followed\n", count(cs.Unfollowed), count(tracker.MaxChecksumHosts))
	}
	if hosts := cs.Trusted; len(hosts) > 0 {
		// Hosts whose segments carried the pseudo-header's sum are certain
		// offload (JSON lists them); these were inferred.
		p.printf("\nChecksum offload on the capturing host: every checksum of %s is wrong as captured, yet its peers answer its segments, so they are taken as right\n", addrList(hosts))
	}
}

// addrList joins addresses with commas, the first 5 and a count of the rest.
func addrList(as []netip.Addr) string {
	var parts []string
	for i, a := range as {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("%d more", len(as)-5))
			break
		}
		parts = append(parts, a.String())
	}
	return strings.Join(parts, ", ")
}

// SetTunnels gives the events the lookup of tunnel contexts
// (capture.Decoder.Tunnel), so that "end" events carry "tunnel" too.
func (e *Events) SetTunnels(lookup func(uint32) (tracker.Tunnel, bool)) { e.tunnels = lookup }
