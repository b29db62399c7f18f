package ladder

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCases are kernel recordings of each kind of opening and close. drop
// removes a packet first (by number), to draw what the tracker infers
// from the segments around a missing one.
var goldenCases = []struct {
	name, pcap string
	drop       uint64
	stuck      time.Duration // --stuck, for a short recording's stuck findings
}{
	{"close-client-first", "close-client-first.pcap", 0, 0},
	{"close-server-first", "close-server-first.pcap", 0, 0},
	{"simultaneous-close", "simultaneous-close.pcap", 0, 0},
	{"three-segment-close", "three-segment-close.pcap", 0, 0},
	{"half-open", "lost-third-ack.pcap", 0, 0},
	{"refused", "refused.pcap", 0, 0},
	{"half-close-data", "half-close-data.pcap", 0, 0},
	{"fin-with-data", "fin-with-data.pcap", 0, 0},
	{"last-ack-retransmit", "last-ack-retransmit.pcap", 0, 0},
	{"closing-stuck", "closing-stuck.pcap", 0, 0},
	{"midstream", "midstream.pcap", 0, 0},
	{"keepalive", "keepalive.pcap", 0, 0},
	{"zero-window", "zero-window.pcap", 0, 0},
	{"rst-abort", "rst-abort.pcap", 0, 0},
	{"client-fin-not-captured", "close-client-first.pcap", 8, 0},
	{"simultaneous-open", "simultaneous-open.pcap", 0, 0}, // testdata/record
	{"close-wait-stuck", "anomalies/close-wait-fin-wait-2.pcap", 0, 2 * time.Second},
}

func TestGoldenLadders(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			pkts := readSegments(t, c.pcap)
			if c.drop > 0 {
				pkts = slices.DeleteFunc(pkts, func(p capture.Packet) bool { return p.Num == c.drop })
			}
			_, ls := drawWith(t, tracker.Config{Thresholds: tracker.Thresholds{Stuck: c.stuck}}, pkts)
			if len(ls) == 0 {
				t.Fatal("no connection drawn")
			}
			var txt, svgs bytes.Buffer
			for _, l := range ls {
				if err := Text(&txt, l, TextOptions{Width: DefaultWidth}); err != nil {
					t.Fatal(err)
				}
				if err := Text(&txt, l, TextOptions{Width: 72, ASCII: true}); err != nil {
					t.Fatal(err)
				}
				svgs.Write(SVG(l))
			}
			golden(t, c.name+".txt", txt.Bytes())
			golden(t, c.name+".svg", svgs.Bytes())
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}
