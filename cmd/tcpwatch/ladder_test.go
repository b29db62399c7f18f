package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLadderCLI: --ladder draws after the report, for each listed
// connection or the ones named, and the drawings are golden.
func TestLadderCLI(t *testing.T) {
	tests := []struct {
		name, golden string
		args         []string
	}{
		{"each listed connection", "ladder-listed.txt", []string{"-r", "../../testdata/pcaps/port-reuse.pcap", "-v", "--ladder"}},
		{"one by ID in ASCII, filter after", "ladder-id-ascii.txt", []string{"-r", "../../testdata/pcaps/port-reuse.pcap", "--ladder", "2", "--ascii", "tcp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGoldenFile(t, tc.golden, out)
		})
	}
}

// TestLadderCount: one ladder per listed connection, each headed by its
// ID, also when an ID is named twice.
func TestLadderCount(t *testing.T) {
	for _, args := range [][]string{{"--ladder"}, {"--ladder=1,2,1"}} {
		code, out, errOut := runCLI(append([]string{"-r", "../../testdata/pcaps/port-reuse.pcap"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		for _, head := range []string{"\n#1 ", "\n#2 "} {
			if n := strings.Count(out, head+"198.18."); n != 1 {
				t.Errorf("%v: %d ladders headed %q, want 1", args, n, head)
			}
		}
	}
}

// TestLadderErrors: drawings that cannot be made are one line and exit 2.
func TestLadderErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown ID", []string{"-r", sample, "--ladder", "9"}, "--ladder 9: no connection #9 in the report (it lists 1)\n"},
		{"forgotten ID", []string{"-r", "../../testdata/pcaps/many-short.pcap", "--keep", "2", "--ladder", "1"},
			"(it lists 2): 123 that ended were forgotten beyond --keep 2 (raise it to keep them)\n"},
		{"flood ID", []string{"-r", "../../testdata/pcaps/anomalies/syn-flood.pcap.gz", "--ladder", "2"},
			"half-open ones of a SYN flood are summarized in its finding (--all keeps them)\n"},
		{"not an ID", []string{"-r", sample, "--ladder=x"}, `--ladder "x": want connection IDs`},
		{"a bad list, not a filter", []string{"-r", sample, "--ladder", "1,x"}, `--ladder "1,x": want connection IDs`},
		{"a flag with a comma after a bare --ladder is its own", []string{"-r", sample, "--ladder", "--fail-on=reset,nosuchkind"}, `--fail-on "reset,nosuchkind"`},
		{"json", []string{"-r", sample, "--ladder", "-F", "json"}, "--ladder draws in the table output only"},
		{"ascii alone", []string{"-r", sample, "--ascii"}, "--ascii draws ladders: give --ladder too"},
		{"standard input", []string{"-r", "-", "--ladder"}, "cannot read standard input twice"},
		{"live", []string{"-i", "lo", "--ladder"}, "--ladder needs -r FILE"},
		{"html live", []string{"-i", "lo", "--html", "x.html"}, "--html needs -r FILE"},
		{"html not writable", []string{"-r", sample, "--html", "/nonexistent/x.html"}, `--html "/nonexistent/x.html": open: no such file or directory`},
		{"html not written", []string{"-r", sample, "--html", "/dev/full"}, `--html "/dev/full": write: no space left on device`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if tc.name == "html not writable" && out != "" { // refused before anything was read
				t.Errorf("a report was printed before the error:\n%s", out)
			}
			if !strings.Contains(errOut, tc.stderr) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.stderr)
			}
		})
	}
}

// TestLadderOfATruncatedCapture: the drawings cover what was read; the
// exit code and the one line are the truncation's.
func TestLadderOfATruncatedCapture(t *testing.T) {
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	cut := writeFile(t, "cut.pcap", good[:len(good)-10])
	code, out, errOut := runCLI("-r", cut, "--ladder", "--html", filepath.Join(t.TempDir(), "x.html"))
	if code != exitError || !strings.Contains(errOut, "truncated") || !strings.Contains(errOut, "the report covers") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 2 and the truncation in one line", code, errOut)
	}
	if !strings.Contains(out, "\n#1 198.18.0.1:") {
		t.Errorf("no ladder of what was read:\n%s", out)
	}
}

// TestLadderWithNothingListedSaysSo: a rolled-up capture whose connections
// all closed cleanly lists none, so --ladder draws none, and says why.
func TestLadderWithNothingListedSaysSo(t *testing.T) {
	code, out, errOut := runCLI("-r", filepath.Join("..", "..", "testdata", "pcaps", "many-short.pcap"), "--ladder")
	if code != exitOK || errOut != "" || !strings.HasSuffix(out, "No ladder: no connection is listed (--all lists every one; --ladder ID draws any of them).\n") {
		t.Errorf("exit %d, stderr %q, stdout ends %q", code, errOut, out[max(0, len(out)-200):])
	}
}
