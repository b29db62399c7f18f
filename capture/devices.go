package capture

// Interface is one interface libpcap can capture on, as pcap_findalldevs
// describes it.
type Interface struct {
	Name        string
	Description string // "" if libpcap has none
	Flags       uint32 // libpcap's PCAP_IF_* bits
}

// libpcap's interface flags (pcap/pcap.h).
const (
	IfLoopback         = 0x01
	IfUp               = 0x02
	IfRunning          = 0x04
	IfWireless         = 0x08
	IfConnectionStatus = 0x30 // a two-bit field: one of the four below
	IfStatusUnknown    = 0x00
	IfConnected        = 0x10
	IfDisconnected     = 0x20
	IfNotApplicable    = 0x30
)
