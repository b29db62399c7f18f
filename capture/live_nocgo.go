//go:build !cgo

package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// liveSource is never opened without libpcap.
type liveSource struct {
	lt    layers.LinkType
	stats LiveStats
}

func openLive(iface string, _ LiveOptions) (*liveSource, error) {
	return nil, liveError(iface, ErrNoLibpcap)
}

func (s *liveSource) readPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	return nil, gopacket.CaptureInfo{}, s.lt, ErrNoLibpcap
}

func (s *liveSource) close() error { return nil }
func (s *liveSource) update()      {}
