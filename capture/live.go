package capture

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
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
	// Engine is what reads the interface: an AF_PACKET ring or libpcap
	// (see [Engine]); the zero value picks the ring where it can.
	Engine Engine
}

// LiveStats are the kernel's counters for a live capture (libpcap's
// pcap_stats, or an AF_PACKET ring's PACKET_STATISTICS): on Linux, Received
// counts the packets that passed the kernel filter, Dropped those the
// kernel dropped because the buffer was full, IfDropped those the
// interface dropped (libpcap only: a ring leaves it 0).
type LiveStats struct {
	Received, Dropped, IfDropped uint64
}

// OpenLive starts capturing on the interface iface ("any": every interface)
// and returns a Reader whose Next returns its packets as they arrive, or
// ErrTimeout when none came within o.Timeout. Close releases the handle.
//
// On Linux, an Ethernet or loopback interface is read through an AF_PACKET
// TPACKET_V3 ring (ring_linux.go) with the filter and the snapshot length
// in the kernel; "any", other link types and other systems go through a
// libpcap handle in immediate mode (every packet is delivered as soon as it
// arrives). Either has a kernel buffer of o.BufferSize bytes. o.Engine
// forces one or the other.
//
// Errors are an [*Error] naming the interface that says what to do: no
// such interface (with the list of those that exist), permission denied,
// interface down, unsupported link type, a filter that does not compile
// for the interface's link type; or, for an expression that compiles for
// no link type, the filter's own error. libpcap needs cgo: a tcpwatch built
// without it returns [ErrNoLibpcap] for what only libpcap can do (a
// filter, "any", an interface that is not Ethernet).
func OpenLive(iface string, o LiveOptions) (*Reader, error) {
	o = o.withDefaults()
	if o.Engine == EngineLibpcap || !ringCandidate(iface, o) {
		if o.Engine == EngineRing {
			return nil, ringRefused(iface, o)
		}
		return openPcapReader(iface, o)
	}
	rs, err := openRings(iface, 1, o)
	if err != nil && o.Engine == EngineAuto && !ringFinal(err) {
		return openPcapReader(iface, o)
	}
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// OpenFanout opens n AF_PACKET rings on iface (Linux) joined in one
// PACKET_FANOUT_HASH group: the kernel hands each packet to one of them by
// a hash of its addresses and ports that is the same both ways, so both
// directions of a TCP connection reach the same Reader, in order. Each
// Reader has its own decoder and counters and is read on a goroutine of
// its own; together they see each packet once. o.Engine must not be
// EngineLibpcap. The errors are OpenLive's.
func OpenFanout(iface string, n int, o LiveOptions) ([]*Reader, error) {
	o = o.withDefaults()
	if n < 1 {
		return nil, liveError(iface, fmt.Errorf("fanout of %d sockets: want 1 or more", n))
	}
	if o.Engine == EngineLibpcap || !ringCandidate(iface, o) {
		return nil, ringRefused(iface, o)
	}
	return openRings(iface, n, o)
}

// withDefaults fills in the zero fields.
func (o LiveOptions) withDefaults() LiveOptions {
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultReadTimeout
	}
	return o
}

// openPcapReader opens iface through libpcap.
func openPcapReader(iface string, o LiveOptions) (*Reader, error) {
	h, lt, err := openPcap(iface, o)
	if err != nil {
		return nil, err
	}
	return newLiveReader(iface, h, lt, EngineLibpcap), nil
}

// newLiveReader is the Reader of a live handle.
func newLiveReader(iface string, h liveHandle, lt layers.LinkType, e Engine) *Reader {
	src := &liveSource{h: h, lt: lt, engine: e}
	r := &Reader{src: src, name: iface, live: src}
	r.lastType, r.lastOK = lt, true
	return r
}

// Engine is what reads a live interface.
type Engine uint8

// Engines.
const (
	EngineAuto    Engine = iota // the ring where it can be opened, libpcap otherwise
	EngineLibpcap               // libpcap (needs cgo)
	EngineRing                  // an AF_PACKET TPACKET_V3 ring (Linux), or an error
)

var engineNames = [...]string{"auto", "libpcap", "afpacket"}

// String returns "auto", "libpcap" or "afpacket", or "Engine(N)".
func (e Engine) String() string {
	if int(e) < len(engineNames) {
		return engineNames[e]
	}
	return "Engine(" + itoa(uint64(e)) + ")"
}

// liveHandle is what a live capture reads: a libpcap handle or a ring.
type liveHandle interface {
	readPacket() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, err error)
	close() error
	counters() (LiveStats, bool) // the kernel's counts now; false if unreadable
}

// liveSource reads a live handle and keeps its last counters, which stay
// readable after it is closed.
type liveSource struct {
	h      liveHandle // nil once closed
	lt     layers.LinkType
	engine Engine
	stats  LiveStats
}

func (s *liveSource) readPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if s.h == nil {
		return nil, gopacket.CaptureInfo{}, s.lt, ErrClosed
	}
	return s.h.readPacket()
}

func (s *liveSource) close() error {
	if s.h == nil {
		return nil
	}
	s.update()
	err := s.h.close()
	s.h = nil
	return err
}

// update reads the kernel's counters.
func (s *liveSource) update() {
	if s.h == nil {
		return
	}
	if st, ok := s.h.counters(); ok {
		s.stats = st
	}
}

// permissionHint is what to do when capturing is not permitted.
const permissionHint = "run as root or grant the capability: setcap cap_net_raw,cap_net_admin+eip $(which tcpwatch)"

// liveError is the error OpenLive returns for iface.
func liveError(iface string, err error) error {
	return &Error{Op: "open", Input: iface, Live: true, Err: err}
}

// LiveStats returns the kernel's received and dropped counts for a live
// capture, read now (or at Close, after it); ok is false for files.
//
// libpcap keeps them in 32 bits (struct pcap_stat), so they wrap after
// 2^32 packets; a ring's are summed in 32 bits too (gopacket's afpacket).
func (r *Reader) LiveStats() (st LiveStats, ok bool) {
	if r.live == nil {
		return LiveStats{}, false
	}
	r.live.update()
	return r.live.stats, true
}

// Live reports whether r captures from an interface.
func (r *Reader) Live() bool { return r.live != nil }

// Engine returns what reads r's interface, EngineLibpcap or EngineRing;
// EngineAuto for files.
func (r *Reader) Engine() Engine {
	if r.live == nil {
		return EngineAuto
	}
	return r.live.engine
}

// noInterface is the cause for an interface that does not exist, with
// the names of those that do, sorted; none found says where to look.
func noInterface(names []string) error {
	list := "none found (ip link lists the interfaces)"
	if len(names) > 0 {
		sort.Strings(names)
		list = strings.Join(names, ", ")
	}
	return fmt.Errorf("%w; available: %s", ErrNoInterface, list)
}

// interfaceDown is the cause for an interface that is down.
func interfaceDown(iface string) error {
	return fmt.Errorf("%w; bring it up first (ip link set %s up)", ErrInterfaceDown, iface)
}
