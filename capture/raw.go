package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// rawPacket is the last packet read, as read.
type rawPacket struct {
	data []byte
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
}

// Raw returns the packet Next returned last as it was read: its bytes, which
// stay valid only until the next call of Next, its capture information
// (time, captured and original length) and its link type; for writing the
// packet out again (tcpwatch -w).
func (r *Reader) Raw() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	return r.raw.data, r.raw.ci, r.raw.lt
}
