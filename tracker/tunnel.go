package tracker

import (
	"errors"
	"strconv"
)

// TunnelKind is one kind of encapsulation a segment can arrive in.
type TunnelKind uint8

// Tunnel kinds. Link-level tags (802.1Q, MPLS labels, PBB, VN-Tag) are not
// tunnels here: like VLAN tags they can differ between the two directions of
// one connection (MPLS labels are chosen per hop and direction), so they are
// not part of its identity.
const (
	TunnelNone   TunnelKind = iota
	TunnelIPinIP            // IPv4 or IPv6 in IPv4 or IPv6 (protocols 4 and 41)
	TunnelGRE               // GRE (ID: its key, when present)
	TunnelERSPAN            // ERSPAN type I, II or III over GRE (ID: session)
	TunnelVXLAN             // VXLAN (ID: VNI)
	TunnelGeneve            // Geneve (ID: VNI)
	TunnelGTPU              // GTP-U (ID: the TEID of the first packet seen)
	TunnelTeredo            // Teredo
	TunnelAYIYA             // AYIYA
)

var tunnelNames = [...]string{"none", "ip-in-ip", "gre", "erspan", "vxlan", "geneve", "gtp-u", "teredo", "ayiya"}

// String returns the kind's name ("vxlan"), or "TunnelKind(N)".
func (k TunnelKind) String() string {
	if int(k) < len(tunnelNames) {
		return tunnelNames[k]
	}
	return "TunnelKind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (k TunnelKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// HashesID reports whether the kind's ID is the same in both directions and
// so part of the tunnel's identity. GTP-U's TEID is not: each end chooses
// the TEID it receives on, so the two directions of one connection carry
// different TEIDs.
func (k TunnelKind) HashesID() bool { return k != TunnelGTPU }

// MaxTunnelDepth bounds the tunnels the decoder opens inside one another.
const MaxTunnelDepth = 4

// TunnelLayer is one encapsulation: its kind, the outer packet's source and
// destination as first seen, and the kind's identifier (HasID says whether
// the header carried one).
type TunnelLayer struct {
	Kind     TunnelKind
	HasID    bool
	ID       uint32
	Src, Dst Addr
}

// Tunnel is a segment's tunnel context, outermost layer first. It is a
// value with no pointers.
type Tunnel struct {
	Layers [MaxTunnelDepth]TunnelLayer
	Depth  uint8 // layers in use
}

// Push appends a layer; it reports false when the context is full.
func (t *Tunnel) Push(l TunnelLayer) bool {
	if int(t.Depth) >= MaxTunnelDepth {
		return false
	}
	t.Layers[t.Depth] = l
	t.Depth++
	return true
}

// ID hashes the context into the value Segment.Tunnel carries: the same for
// both directions (each layer's endpoints are taken in order, whichever sent
// the packet), never 0 for a context with at least one layer.
func (t *Tunnel) ID() uint32 {
	if t.Depth == 0 {
		return 0
	}
	h := uint64(0x9E3779B97F4A7C15)
	for i := range t.Depth {
		l := &t.Layers[i]
		a, b := l.Src, l.Dst
		if b.less(a) {
			a, b = b, a
		}
		id := uint64(0)
		if l.HasID && l.Kind.HashesID() {
			id = 1<<32 | uint64(l.ID)
		}
		h = mix(h^uint64(l.Kind)<<40^id, 0xBF58476D1CE4E5B9)
		h = mix(h^a.hi, a.lo^0x94D049BB133111EB)
		h = mix(h^b.hi, b.lo^0x9E3779B97F4A7C15)
	}
	v := uint32(h ^ h>>32)
	if v == 0 {
		v = 1
	}
	return v
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *TunnelKind) UnmarshalText(b []byte) error {
	for i, n := range tunnelNames {
		if n == string(b) {
			*k = TunnelKind(i)
			return nil
		}
	}
	return errors.New("unknown tunnel type " + strconv.Quote(string(b)))
}
