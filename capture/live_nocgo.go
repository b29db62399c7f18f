//go:build !cgo

package capture

import (
	"github.com/gopacket/gopacket/layers"
)

// pcapHandle is never opened without libpcap.
type pcapHandle struct{ liveHandle }

func openPcap(iface string, _ LiveOptions) (*pcapHandle, layers.LinkType, error) {
	return nil, 0, liveError(iface, ErrNoLibpcap)
}

// haveLibpcap: this build has no libpcap.
const haveLibpcap = false
