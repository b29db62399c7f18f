package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// withBadChecksum copies a recording with the TCP checksum of packet n
// (from 1) made wrong: neither right, nor the pseudo-header sum a sender
// leaves to its NIC, nor 0. A tunnelled packet has its inner checksum
// made wrong.
func withBadChecksum(t *testing.T, name string, n int) string {
	t.Helper()
	in, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := pcapgo.NewWriterNanos(&out)
	if err := w.WriteFileHeader(262144, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if i == n {
			corruptInnermostTCP(t, data, r.LinkType())
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// corruptInnermostTCP flips bits of the checksum of data's innermost TCP
// header.
func corruptInnermostTCP(t *testing.T, data []byte, lt layers.LinkType) {
	t.Helper()
	pkt := gopacket.NewPacket(data, lt, gopacket.NoCopy)
	var tcp *layers.TCP
	for _, l := range pkt.Layers() {
		if l, ok := l.(*layers.TCP); ok {
			tcp = l
		}
	}
	if tcp == nil {
		t.Fatal("the packet to corrupt has no TCP header")
	}
	at := len(data) - len(tcp.LayerContents()) - len(tcp.LayerPayload())
	for ; at >= 0 && !bytes.HasPrefix(data[at:], tcp.LayerContents()); at-- {
	}
	if at < 0 {
		t.Fatal("TCP header not found in the packet")
	}
	data[at+16] ^= 0x5a
	data[at+17] ^= 0xa5
}

// ndjsonEndsAndReport runs -F ndjson with args and returns each "end"
// event's connection (the last one of each ID) and the final report's
// connections, by ID, as JSON members; every line must match the schema.
func ndjsonEndsAndReport(t *testing.T, args ...string) (ends, listed map[float64]map[string]any) {
	t.Helper()
	code, out, errs := runCLI(append(args, "-F", "ndjson")...)
	if code != 0 {
		t.Fatalf("tcpwatch %v: exit %d: %s", args, code, errs)
	}
	schema := compileSchema(t, "#/$defs/event")
	ends, listed = map[float64]map[string]any{}, map[float64]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		validate(t, schema, fmt.Sprintf("ndjson line %d", n), sc.Text())
		var ev struct {
			Event      string
			Connection json.RawMessage
			Report     struct{ Connections []map[string]any }
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		switch ev.Event {
		case "end":
			var c map[string]any
			if err := json.Unmarshal(ev.Connection, &c); err != nil {
				t.Fatal(err)
			}
			ends[c["id"].(float64)] = c
		case "report":
			for _, c := range ev.Report.Connections {
				listed[c["id"].(float64)] = c
			}
		}
	}
	return ends, listed
}

// TestEndEventCarriesTheReportsConnection: an ndjson "end" event's
// connection has the members the report's connection has, with the same
// values, for a connection with a segment whose checksum was wrong
// (bad_checksums) and for one seen in a tunnel, with and without -v.
func TestEndEventCarriesTheReportsConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pcap   string
		bad    int  // the packet whose checksum is made wrong
		tunnel bool // the connections were seen in a tunnel
	}{
		{"server's ACK with a wrong checksum", "../../testdata/pcaps/close-client-first.pcap", 5, false},
		{"client's data with a wrong checksum", "../../testdata/pcaps/close-client-first.pcap", 4, false},
		{"in a VXLAN tunnel, the server's ACK with a wrong checksum", "../../testdata/pcaps/close-client-first-over-vxlan.pcap", 5, true},
		{"several connections, one with a wrong checksum", "../../testdata/pcaps/many-short.pcap", 3, false},
	} {
		for _, verbose := range []bool{false, true} {
			args := []string{"-r", withBadChecksum(t, tc.pcap, tc.bad)}
			if verbose {
				args = append(args, "-v")
			}
			ends, listed := ndjsonEndsAndReport(t, args...)
			if len(ends) == 0 {
				t.Fatalf("%s: no end event", tc.name)
			}
			bad, tunnelled := 0, 0
			for id, end := range ends {
				c, ok := listed[id]
				if !ok {
					t.Errorf("%s: end of #%v, not in the report", tc.name, id)
					continue
				}
				if _, ok := c["bad_checksums"]; ok {
					bad++
				}
				if _, ok := c["tunnel"]; ok {
					tunnelled++
				}
				for _, k := range memberNames(end, c) {
					if !jsonEqual(end[k], c[k]) {
						t.Errorf("%s -v=%v: #%v %q: end event %v, report %v", tc.name, verbose, id, k, end[k], c[k])
					}
				}
			}
			if bad != 1 {
				t.Errorf("%s: %d connections with bad_checksums, want 1", tc.name, bad)
			}
			if tc.tunnel && tunnelled != len(ends) || !tc.tunnel && tunnelled != 0 {
				t.Errorf("%s: %d of %d connections with a tunnel, want all (%v) or none", tc.name, tunnelled, len(ends), tc.tunnel)
			}
		}
	}
}

// memberNames returns the keys of a and b, sorted.
func memberNames(a, b map[string]any) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
