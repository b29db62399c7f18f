package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// rawPacket is the last packet read, as read: a file's record header as it
// was (rec: pcap or pcapng), made capture info only when asked for, or a
// live source's capture info (ci).
type rawPacket struct {
	data []byte
	rec  pcapRecord
	file bool // rec holds the packet's header (a file's record), not ci
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
}

// Raw returns the packet Next returned last as it was read: its bytes, which
// stay valid only until the next call of Next, its capture information
// (time, captured and original length) and its link type; for writing the
// packet out again (tcpwatch -w).
func (r *Reader) Raw() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	if r.raw.file {
		return r.raw.data, r.raw.rec.info(), r.raw.lt
	}
	return r.raw.data, r.raw.ci, r.raw.lt
}
