//go:build cgo

package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// needLibpcap skips a test that compiles filters or captures live when
// tcpwatch is built without cgo; with cgo it runs.
func needLibpcap(testing.TB) {}

// TestLinkTypeNamesMatchLibpcap checks the table of link type names
// against libpcap's own, for the values where LINKTYPE_ and DLT_ agree.
func TestLinkTypeNamesMatchLibpcap(t *testing.T) {
	for v := 104; v < 1<<16; v++ {
		want := pcap.DatalinkValToName(v)
		if want == "" {
			want = "UNKNOWN"
		}
		if got := LinkTypeName(layers.LinkType(v)); got != want {
			t.Errorf("link type %d: %s, libpcap says %s", v, got, want)
		}
	}
}
