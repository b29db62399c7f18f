//go:build cgo

package capture

import (
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// pcapHandle reads packets from a libpcap handle.
type pcapHandle struct {
	h  *pcap.Handle
	lt layers.LinkType
}

// openPcap opens and activates a libpcap handle on iface with o (defaults
// filled in) and sets its filter.
func openPcap(iface string, o LiveOptions) (*pcapHandle, layers.LinkType, error) {
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, 0, liveError(iface, err)
	}
	defer in.CleanUp() // releases the handle unless it was activated
	for _, set := range []struct {
		what string
		err  error
	}{
		{"snaplen", in.SetSnapLen(o.Snaplen)},
		{"promiscuous mode", in.SetPromisc(o.Promisc && iface != "any")},
		{"immediate mode", in.SetImmediateMode(true)},
		{"buffer size", in.SetBufferSize(o.BufferSize)},
		{"timeout", in.SetTimeout(o.Timeout)},
	} {
		if set.err != nil {
			return nil, 0, liveError(iface, fmt.Errorf("set %s: %w", set.what, set.err))
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, 0, liveError(iface, activateError(iface, in, err))
	}
	src := &pcapHandle{h: h, lt: h.LinkType()}
	if !Supported(src.lt) {
		h.Close()
		return nil, 0, liveError(iface, linkTypeError(src.lt))
	}
	if err := src.setFilter(o.Filter); err != nil {
		h.Close()
		if forLinkType(err) {
			return nil, 0, liveError(iface, err)
		}
		return nil, 0, err
	}
	return src, src.lt, nil
}

// setFilter compiles expr for the handle's link type, which reports its
// errors as a file's filter reports them, and sets it in the kernel.
func (s *pcapHandle) setFilter(expr string) error {
	if expr == "" {
		return nil
	}
	if _, err := NewFilter(expr, s.lt); err != nil {
		return err
	}
	if err := s.h.SetBPFFilter(expr); err != nil {
		return &filterError{expr: expr, lt: s.lt, forType: true, err: err}
	}
	return nil
}

// activateError turns pcap_activate's status into a cause that says what
// to do.
func activateError(iface string, in *pcap.InactiveHandle, err error) error {
	// gopacket reports pcap_activate's status as an error of an unexported
	// type whose text is fixed per status.
	switch err.Error() {
	case "No Such Device":
		return noInterface(available())
	case "Permission Denied":
		return fmt.Errorf("%w; %s", ErrPermission, permissionHint)
	case "Interface Not Up":
		return interfaceDown(iface)
	}
	msg := err.Error()
	if detail := in.Error(); detail != nil && detail.Error() != "" {
		msg = detail.Error()
	}
	return fmt.Errorf("%w: %s", errActivateFallback, msg)
}

// available lists the interfaces libpcap can capture on, for an error.
func available() []string {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(devs))
	for _, d := range devs {
		names = append(names, d.Name)
	}
	return names
}

func (s *pcapHandle) readPacket() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, err error) {
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

func (s *pcapHandle) close() error {
	s.h.Close()
	return nil
}

// counters reads libpcap's counters.
func (s *pcapHandle) counters() (LiveStats, bool) {
	st, err := s.h.Stats()
	if err != nil {
		return LiveStats{}, false
	}
	return LiveStats{
		Received:  uint64(uint32(st.PacketsReceived)),
		Dropped:   uint64(uint32(st.PacketsDropped)),
		IfDropped: uint64(uint32(st.PacketsIfDropped)),
	}, true
}

// haveLibpcap: this build has libpcap.
const haveLibpcap = true
