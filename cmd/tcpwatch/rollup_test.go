package main

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/synth"
)

// synthCapture writes a seeded synthetic capture of cfg to a temporary
// file and returns its name.
func synthCapture(t testing.TB, cfg synth.Config) string { return synth.TempFile(t, cfg) }

// checkGoldenFile compares got with testdata/golden/NAME; -update rewrites it.
func checkGoldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// TestRollupGolden: a capture of more than a few dozen connections is
// rolled up (services, findings by kind, the connections that matter
// most), on a recording and on a seeded synthetic capture with faults and
// a SYN flood; --all lists everything instead.
func TestRollupGolden(t *testing.T) {
	// 30 ms between packets: 22 minutes, long enough for CLOSE_WAIT to be
	// stuck; a flood needs the default 50 µs to reach its rate.
	synthetic := synthCapture(t, synth.Config{Seed: 13, Conns: 3000, Concurrency: 200, Faults: 40, Interval: 30 * time.Millisecond})
	flood := synthCapture(t, synth.Config{Seed: 14, Conns: 2000, Concurrency: 200, Faults: 25, Flood: 2000})
	for _, tc := range []struct {
		name  string
		input string
		args  []string
	}{
		{"rollup-many-short.txt", "../../testdata/pcaps/many-short.pcap", nil},
		{"rollup-recordings.txt", "", inTimeOrder(t, recordings(t))},
		{"rollup-synth.txt", synthetic, nil},
		{"rollup-synth-verbose.txt", synthetic, []string{"-v"}},
		{"rollup-synth-flood.txt", flood, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.input != "" {
				args = append([]string{"-r", tc.input}, args...)
			}
			code, out, errs := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if tc.input != "" {
				out = strings.ReplaceAll(out, tc.input, filepath.Base(tc.input))
			}
			checkGoldenFile(t, tc.name, out)
		})
	}
}

// inTimeOrder returns the arguments that read the captures as one, in the
// order of their first packets, with --stuck 2s so that the recordings'
// stuck connections are flagged.
func inTimeOrder(t *testing.T, files []string) []string {
	t.Helper()
	first := map[string]int64{}
	for _, f := range files {
		rd, err := capture.OpenFiles([]string{f}, "")
		if err != nil {
			t.Fatal(err)
		}
		var p capture.Packet
		if err := rd.Next(&p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		first[f] = p.Time
		rd.Close()
	}
	files = slices.Clone(files)
	slices.SortStableFunc(files, func(a, b string) int { return cmp.Compare(first[a], first[b]) })
	args := []string{"--stuck", "2s"}
	for _, f := range files {
		args = append(args, "-r", f)
	}
	return args
}
