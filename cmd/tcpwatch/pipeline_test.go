package main

import (
	"bytes"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// reportWith analyzes files with one of the two loops and returns the
// verbose JSON report, and whether the input ended.
func reportWith(t *testing.T, files []string, count uint64, loop func(*capture.Reader, *tracker.Tracker, uint64, *fileOrder, *progress) (bool, bool, error)) ([]byte, bool) {
	t.Helper()
	rd, err := capture.OpenFiles(files, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	tr := tracker.New(tracker.Config{})
	ended, interrupted, err := loop(rd, tr, count, &fileOrder{file: -1}, nil)
	if err != nil || interrupted || !ended && count == 0 {
		t.Fatalf("%v: ended %v, interrupted %v, error %v", files, ended, interrupted, err)
	}
	tr.Finish()
	in := inputOf(rd.Stats())
	var out bytes.Buffer
	if err := report.Print(&out, report.Build(in, tr, report.Options{Verbose: true}), report.JSON, report.PrintOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), ended
}

// TestPipelineSameReport: reading on a goroutine of its own and handing
// batches over gives byte for byte the report of the packet-by-packet loop,
// on every recording, on a synthetic mixed capture, and with -c.
func TestPipelineSameReport(t *testing.T) {
	files, err := filepath.Glob("../../testdata/pcaps/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("recordings: %v, %v", files, err)
	}
	more, _ := filepath.Glob("../../testdata/pcaps/anomalies/*.pcap")
	files = append(files, more...)
	cfg := synth.Medium(3)
	cfg.Conns, cfg.Concurrency, cfg.Flood = 3000, 300, 600
	mixed := synth.TempFile(t, cfg)
	for _, name := range append(files, mixed) {
		for _, count := range []uint64{0, 3, batchSize + 7} {
			serial, serialEnded := reportWith(t, []string{name}, count, analyze)
			piped, pipedEnded := reportWith(t, []string{name}, count, analyzePipelined)
			if !bytes.Equal(serial, piped) || serialEnded != pipedEnded {
				t.Errorf("%s, -c %d: the pipelined report differs from the serial one (input ended: %v, %v)",
					name, count, pipedEnded, serialEnded)
			}
		}
	}
}

// TestPipelinedUnlessEventsFollowAPipe: the input is read on a goroutine
// of its own, in batches, except for ndjson events from a pipe or standard
// input, which follow its packets as they come.
func TestPipelinedUnlessEventsFollowAPipe(t *testing.T) {
	file := "../../testdata/pcaps/close-client-first.pcap"
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		files  []string
		format report.Format
		want   bool
	}{
		{[]string{file}, report.Table, true},
		{[]string{file}, report.NDJSON, true},
		{[]string{"-"}, report.JSON, true},
		{[]string{"-"}, report.NDJSON, false},
		{[]string{fifo}, report.Table, true},
		{[]string{file, fifo}, report.NDJSON, false},
	} {
		if got := pipelined(tc.files, tc.format); got != tc.want {
			t.Errorf("%v, format %v: pipelined %v, want %v", tc.files, tc.format, got, tc.want)
		}
	}
}
