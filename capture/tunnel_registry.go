package capture

import (
	"sync"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// maxTunnelsKept bounds the tunnel contexts a Decoder remembers for
// [Decoder.Tunnel]; beyond it, new contexts still get their ID (and so
// their own connections) but no description.
const maxTunnelsKept = 65536

// tunnelRegistry maps tunnel IDs to the contexts they were hashed from. The
// map is written once per new context, never per packet: the last ID seen
// is checked first. The decoder's goroutine writes it under mu, so that
// Tunnel may be called from another (a fanout capture's tracker).
type tunnelRegistry struct {
	mu   sync.RWMutex
	m    map[uint32]tracker.Tunnel
	last uint32
}

// tunnelID is the ID of the tunnel context t for Segment.Tunnel, recording
// the context the first time it is seen.
func (d *Decoder) tunnelID(t *tracker.Tunnel) uint32 {
	if t.Depth == 0 || d.MergeTunnels {
		return 0
	}
	id := t.ID()
	r := &d.tunnels
	if id == r.last {
		return id
	}
	r.last = id
	if _, ok := r.m[id]; !ok && len(r.m) < maxTunnelsKept {
		if r.m == nil {
			r.mu.Lock()
			r.m = make(map[uint32]tracker.Tunnel)
			r.mu.Unlock()
		}
		c := *t
		clear(c.Layers[c.Depth:]) // what a deeper packet left behind
		r.mu.Lock()
		r.m[id] = c
		r.mu.Unlock()
	}
	return id
}

// Tunnel returns the tunnel context whose ID segments carry in
// Segment.Tunnel, as first seen; ok is false for 0 and for an ID the
// decoder did not keep.
func (d *Decoder) Tunnel(id uint32) (t tracker.Tunnel, ok bool) {
	d.tunnels.mu.RLock()
	defer d.tunnels.mu.RUnlock()
	t, ok = d.tunnels.m[id]
	return t, ok
}

// Decoder returns the reader's decoder, to set its options before the first
// packet is read and to look up tunnel contexts.
func (r *Reader) Decoder() *Decoder { return &r.dec }
