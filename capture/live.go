package capture

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// ErrTimeout is returned by [Reader.Next] on a live capture when no packet
// arrived within [LiveOptions.Timeout]. It is not final: the caller runs its
// timers, checks whether it should stop, and calls Next again.
var ErrTimeout = errors.New("capture: no packet within the read timeout")

// Errors wrapped by [OpenLive]'s errors, for errors.Is.
var (
	ErrNoInterface      = errors.New("no such interface")
	ErrPermission       = errors.New("permission denied")
	ErrInterfaceDown    = errors.New("interface is down")
	ErrBadFilter        = errors.New("bad filter")
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

// liveSource reads packets from a libpcap handle.
type liveSource struct {
	h     *pcap.Handle
	lt    layers.LinkType
	stats LiveStats // the last counters read, kept after close
}

// OpenLive starts capturing on the interface iface ("any": every interface)
// and returns a Reader whose Next returns its packets as they arrive, or
// ErrTimeout when none came within o.Timeout. The handle uses immediate
// mode (every packet is delivered as soon as it arrives) and a kernel buffer
// of o.BufferSize bytes. Close releases the handle.
//
// Errors name the interface and say what to do: no such interface (with the
// list of those that exist), permission denied, interface down, bad filter,
// unsupported link type.
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
	label := "interface " + strconv.Quote(iface)
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	defer in.CleanUp() // releases the handle unless it was activated
	set := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("%s: set %s: %w", label, what, err)
		}
		return nil
	}
	if err := errors.Join(
		set("snaplen", in.SetSnapLen(o.Snaplen)),
		set("promiscuous mode", in.SetPromisc(o.Promisc && iface != "any")),
		set("immediate mode", in.SetImmediateMode(true)),
		set("buffer size", in.SetBufferSize(o.BufferSize)),
		set("timeout", in.SetTimeout(o.Timeout)),
	); err != nil {
		return nil, err
	}
	h, err := in.Activate()
	if err != nil {
		return nil, activateError(iface, label, in, err)
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("filter %q: %w: %w", o.Filter, ErrBadFilter, err)
		}
	}
	src := &liveSource{h: h, lt: h.LinkType()}
	if !Supported(src.lt) {
		h.Close()
		return nil, linkTypeError(label, src.lt)
	}
	return &Reader{src: src, label: label, live: src}, nil
}

// activateError turns pcap_activate's status into a one-line error that
// says what to do.
func activateError(iface, label string, in *pcap.InactiveHandle, err error) error {
	// gopacket reports pcap_activate's status as an error of an unexported
	// type whose text is fixed per status.
	switch err.Error() {
	case "No Such Device":
		return fmt.Errorf("%s: %w; available: %s", label, ErrNoInterface, available())
	case "Permission Denied":
		return fmt.Errorf("%s: %w; run as root or grant the capability: setcap cap_net_raw,cap_net_admin+eip $(which tcpwatch)", label, ErrPermission)
	case "Interface Not Up":
		return fmt.Errorf("%s: %w; bring it up first (ip link set %s up)", label, ErrInterfaceDown, iface)
	}
	msg := err.Error()
	if detail := in.Error(); detail != nil && detail.Error() != "" {
		msg = detail.Error()
	}
	return fmt.Errorf("%s: %w: %s", label, errActivateFallback, msg)
}

// available lists the interfaces libpcap can capture on, for an error.
func available() string {
	devs, err := pcap.FindAllDevs()
	if err != nil || len(devs) == 0 {
		return "none found (ip link lists the interfaces)"
	}
	names := make([]string, 0, len(devs))
	for _, d := range devs {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (s *liveSource) readPacket() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, err error) {
	data, ci, err = s.h.ZeroCopyReadPacketData()
	switch {
	case err == nil:
	case errors.Is(err, pcap.NextErrorTimeoutExpired):
		err = ErrTimeout
	case errors.Is(err, pcap.NextErrorReadError):
		// The handle's own message says what happened (the interface went
		// down, was deleted, ...).
		if e := s.h.Error(); e != nil && e.Error() != "" {
			err = fmt.Errorf("capture stopped: %s", e)
		} else {
			err = errors.New("capture stopped: read error")
		}
	}
	return data, ci, s.lt, err
}

func (s *liveSource) close() error {
	if s.h != nil {
		s.update()
		s.h.Close()
		s.h = nil
	}
	return nil
}

// update reads libpcap's counters.
func (s *liveSource) update() {
	if s.h == nil {
		return
	}
	if st, err := s.h.Stats(); err == nil {
		s.stats = LiveStats{
			Received:  uint64(uint32(st.PacketsReceived)),
			Dropped:   uint64(uint32(st.PacketsDropped)),
			IfDropped: uint64(uint32(st.PacketsIfDropped)),
		}
	}
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
