package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
)

// TestFilesOutOfTimeOrderAreWarnedAbout: a file older than the one before
// it gets a warning, in the table and in JSON (which still matches the
// schema), and the header shows no negative duration; files in order get
// none.
func TestFilesOutOfTimeOrderAreWarnedAbout(t *testing.T) {
	const older, newer = "../../testdata/pcaps/close-server-first.pcap", "../../testdata/pcaps/lost-third-ack.pcap"
	_, out, _ := runCLI("-r", newer, "-r", older)
	if !strings.Contains(out, `warning: files out of time order: "`+older+`" begins at 2026-11-21 08:41:57.954583, 27.429s before the end of "`+newer+`"`) ||
		!strings.Contains(out, "files out of time order)") || strings.Contains(out, "(-") {
		t.Errorf("out of order, the table lacks the warning or shows a negative duration:\n%s", out)
	}
	_, js, _ := runCLI("-r", newer, "-r", older, "-F", "json")
	var rep report.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil || len(rep.Input.Warnings) != 1 {
		t.Errorf("JSON warnings %q (%v), want one", rep.Input.Warnings, err)
	}
	validate(t, compileSchema(t, ""), "out-of-order JSON", js)
	if _, out, _ := runCLI("-r", older, "-r", newer); strings.Contains(out, "warning:") {
		t.Errorf("in order, a warning:\n%s", out)
	}
	// A copy after its original: it begins 38µs before the original's
	// end, not "0s".
	const short = "../../testdata/pcaps/refused.pcap"
	data, err := os.ReadFile(short)
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again.pcap")
	if err := os.WriteFile(again, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, out, _ := runCLI("-r", short, "-r", again); !strings.Contains(out, `, 38µs before the end of "`+short+`"`) {
		t.Errorf("a copy after its original: the warning does not say 38µs:\n%s", out)
	}
}

// TestCaptureAcrossMidnightShowsDates: when a capture spans days, the
// header's end and every time of day in the tables carry their date.
func TestCaptureAcrossMidnightShowsDates(t *testing.T) {
	p := synthCapture(t, synth.Config{Seed: 3, Conns: 4, Concurrency: 2,
		Start: time.Date(2026, 1, 1, 23, 59, 50, 0, time.UTC), Interval: time.Second})
	_, out, _ := runCLI("-r", p, "-v")
	if !regexp.MustCompile(`2026-01-01 23:59:5\d\.\d{6} → 2026-01-02 00:00:\d\d\.\d{6} UTC \(\d+\.\d+s\)`).MatchString(out) {
		t.Errorf("header without the end's date:\n%s", out)
	}
	if !regexp.MustCompile(`\n  2026-01-02 00:00:\d\d\.\d{6}  pkt `).MatchString(out) {
		t.Errorf("timeline without dates:\n%s", out)
	}
}

// TestAClockThatStepsBackIsWarnedAbout: one packet stamped a day ahead of
// those around it (a corrupt time stamp) runs the clock ahead, and every
// open connection looks stuck for a day: the report says why, once; the
// same capture unaltered has no warning.
func TestAClockThatStepsBackIsWarnedAbout(t *testing.T) {
	name := synthCapture(t, synth.Config{Seed: 3, Conns: 200, Concurrency: 20})
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, js, _ := runCLI("-r", name, "-F", "json"); strings.Contains(js, "clock steps back") {
		t.Fatalf("unaltered, a warning")
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.BigEndian.Uint32(data) == 0xa1b2c3d4 || binary.BigEndian.Uint32(data) == 0xa1b23c4d {
		order = binary.BigEndian
	}
	off := 24
	for i := 0; i < 100; i++ { // packet 101 a day ahead
		off += 16 + int(order.Uint32(data[off+8:]))
	}
	order.PutUint32(data[off:], order.Uint32(data[off:])+86400)
	bad := filepath.Join(t.TempDir(), "ahead.pcap")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, js, _ := runCLI("-r", bad, "-F", "json")
	var rep report.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Input.Warnings) != 1 || !regexp.MustCompile(`^the capture's clock steps back: packet 102 is stamped 1d\S* before packet 101 `).MatchString(rep.Input.Warnings[0]) {
		t.Errorf("warnings %q", rep.Input.Warnings)
	}
}

// TestFilesOutOfOrderAreOneWarning: a file that begins before the end of
// the one before it is the files' warning; its own packets, in order, are
// no clock step back too.
func TestFilesOutOfOrderAreOneWarning(t *testing.T) {
	_, js, _ := runCLI("-r", "../../testdata/pcaps/anomalies/close-wait-fin-wait-2.pcap", "-r", "../../testdata/pcaps/refused.pcap", "-F", "json")
	var rep report.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Input.Warnings) != 1 || !strings.HasPrefix(rep.Input.Warnings[0], "files out of time order") {
		t.Errorf("warnings %q, want the files' one only", rep.Input.Warnings)
	}
}
