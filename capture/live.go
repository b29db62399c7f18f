package capture

import (
	"errors"
	"time"
)

// ErrTimeout is returned by [Reader.Next] on a live capture when no packet
// arrived within [LiveOptions.Timeout]. It is not final: the caller runs its
// timers, checks whether it should stop, and calls Next again.
var ErrTimeout = errors.New("capture: no packet within the read timeout")

// Causes wrapped by [OpenLive]'s errors, for errors.Is.
var (
	ErrNoInterface      = errors.New("no such interface")
	ErrPermission       = errors.New("permission denied")
	ErrInterfaceDown    = errors.New("interface is down")
	errActivateFallback = errors.New("cannot capture")
)

// Live capture defaults.
const (
	DefaultSnaplen     = 262144   // libpcap's maximum, tcpdump's default
	DefaultBufferSize  = 32 << 20 // kernel ring buffer
	DefaultReadTimeout = 100 * time.Millisecond
)

// LiveOptions configure [OpenLive]. The zero value takes every default.
type LiveOptions struct {
	Snaplen int  // bytes kept of each packet; 0: DefaultSnaplen
	Promisc bool // put the interface into promiscuous mode (ignored for "any")
	// Filter is a BPF expression exactly as tcpdump takes it, compiled by
	// libpcap for the interface's link type and run in the kernel: packets
	// it rejects are never copied to tcpwatch (nor counted in [Stats]).
	Filter     string
	BufferSize int // kernel buffer in bytes; 0: DefaultBufferSize
	// Timeout is how long Next waits for a packet before it returns
	// ErrTimeout; 0: DefaultReadTimeout.
	Timeout time.Duration
}

// LiveStats are libpcap's counters for a live capture (pcap_stats): on
// Linux, Received counts the packets that passed the kernel filter, Dropped
// those the kernel dropped because the buffer was full, IfDropped those the
// interface dropped.
type LiveStats struct {
	Received, Dropped, IfDropped uint64
}

// OpenLive starts capturing on the interface iface ("any": every interface)
// and returns a Reader whose Next returns its packets as they arrive, or
// ErrTimeout when none came within o.Timeout. The handle uses immediate
// mode (every packet is delivered as soon as it arrives) and a kernel buffer
// of o.BufferSize bytes. Close releases the handle.
//
// Errors are an [*Error] naming the interface that says what to do: no
// such interface (with the list of those that exist), permission denied,
// interface down, unsupported link type, a filter that does not compile
// for the interface's link type; or, for an expression that compiles for
// no link type, the filter's own error. Live capture needs libpcap: a
// tcpwatch built without cgo returns [ErrNoLibpcap].
func OpenLive(iface string, o LiveOptions) (*Reader, error) {
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultReadTimeout
	}
	src, err := openLive(iface, o)
	if err != nil {
		return nil, err
	}
	r := &Reader{src: src, name: iface, live: src}
	r.lastType, r.lastOK = src.lt, true
	return r, nil
}

// liveError is the error OpenLive returns for iface.
func liveError(iface string, err error) error {
	return &Error{Op: "open", Input: iface, Live: true, Err: err}
}

// LiveStats returns libpcap's received and dropped counts for a live
// capture, read now (or at Close, after it); ok is false for files.
//
// libpcap keeps them in 32 bits (struct pcap_stat), so they wrap after
// 2^32 packets.
func (r *Reader) LiveStats() (st LiveStats, ok bool) {
	if r.live == nil {
		return LiveStats{}, false
	}
	r.live.update()
	return r.live.stats, true
}

// Live reports whether r captures from an interface.
func (r *Reader) Live() bool { return r.live != nil }
