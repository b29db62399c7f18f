//go:build !cgo

package capture

import (
	"errors"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// needLibpcap skips a test that compiles filters or captures live when
// tcpwatch is built without cgo.
func needLibpcap(t testing.TB) {
	t.Helper()
	t.Skip("needs libpcap, which a build without cgo has not")
}

// TestNoLibpcap: without cgo, files are read but a filter, or an interface
// only libpcap can open, is refused with one line that says how to get them.
func TestNoLibpcap(t *testing.T) {
	_, err := NewFilter("port 80", layers.LinkTypeEthernet)
	want := `filter "port 80": this tcpwatch was built without cgo (libpcap); rebuild with CGO_ENABLED=1`
	if !errors.Is(err, ErrNoLibpcap) || err.Error() != want {
		t.Errorf("NewFilter: %v, want %s", err, want)
	}
	_, err = OpenFiles([]string{writeFile(t, "x.pcap", goodPcap)}, "port 80")
	if !errors.Is(err, ErrNoLibpcap) || err.Error() != want {
		t.Errorf("OpenFiles with a filter: %v, want %s", err, want)
	}
	// An AF_PACKET ring needs no libpcap, but "any", a filter and a
	// forced libpcap do.
	for _, tc := range []struct {
		iface string
		o     LiveOptions
		want  string
	}{
		{"any", LiveOptions{}, `open interface "any": this tcpwatch was built without cgo (libpcap); rebuild with CGO_ENABLED=1`},
		{"lo", LiveOptions{Engine: EngineLibpcap}, `open interface "lo": this tcpwatch was built without cgo (libpcap); rebuild with CGO_ENABLED=1`},
		{"lo", LiveOptions{Filter: "tcp"}, `open interface "lo": filter "tcp": this tcpwatch was built without cgo (libpcap); rebuild with CGO_ENABLED=1`},
	} {
		r, err := OpenLive(tc.iface, tc.o)
		if err == nil {
			r.Close()
		}
		if !errors.Is(err, ErrNoLibpcap) || err.Error() != tc.want {
			t.Errorf("OpenLive(%q, %+v): %v, want %s", tc.iface, tc.o, err, tc.want)
		}
	}
	pkts, _, err := readAll(t, []string{writeFile(t, "x.pcap", goodPcap)}, "")
	if err != nil || len(pkts) != 2 {
		t.Errorf("reading without a filter: %d packets, %v", len(pkts), err)
	}
}
