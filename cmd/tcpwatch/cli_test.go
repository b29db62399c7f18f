package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const sample = "../../testdata/pcaps/close-client-first.pcap"

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExitCodes checks every way tcpwatch can end: exit code, and for
// errors one line on stderr that names the problem.
func TestExitCodes(t *testing.T) {
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	unknownLink := append([]byte{}, good...)
	unknownLink[20], unknownLink[21], unknownLink[22], unknownLink[23] = 0x39, 0x30, 0, 0 // link type 12345 (little-endian header)

	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string // substring of the one-line message
		analyzed bool   // the report still lists the connection
	}{
		{"ok", []string{"-r", sample}, 0, "", true},
		{"gzip", []string{"-r", writeFile(t, "x.pcap.gz", gz.Bytes())}, 0, "", true},
		{"two files in order", []string{"-r", "../../testdata/pcaps/close-server-first.pcap", "-r", "../../testdata/pcaps/lost-third-ack.pcap"}, 0, "", true},
		{"one file twice", []string{"-r", sample, "-r", sample}, 2, "given twice", false},
		{"filter", []string{"-r", sample, "tcp", "port", "8080"}, 0, "", true},
		{"options after the filter", []string{"-r", sample, "tcp", "port", "8080", "-v", "--stuck", "2s"}, 0, "", true},
		{"filter that excludes everything, options after it", []string{"-r", sample, "port", "9", "-v"}, 0, "", false},
		{"missing file", []string{"-r", "/nonexistent/x.pcap"}, 2, `open "/nonexistent/x.pcap"`, false},
		{"not a capture", []string{"-r", writeFile(t, "elf", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00garbage"))}, 2, "not a pcap or pcapng file", false},
		{"zero length", []string{"-r", writeFile(t, "empty.pcap", nil)}, 2, "empty", false},
		{"truncated mid-record", []string{"-r", writeFile(t, "cut.pcap", good[:len(good)-10])}, 2, "truncated", true},
		{"unknown link type", []string{"-r", writeFile(t, "odd.pcap", unknownLink)}, 2, "not supported", false},
		{"bad filter", []string{"-r", sample, "port", "abc"}, 2, `filter "port abc"`, false},
		{"no input", []string{}, 2, "nothing to read", false},
		{"bad format", []string{"-r", sample, "-F", "xml"}, 2, "unknown format", false},
		{"bad flag", []string{"-r", sample, "--bogus"}, 2, "bogus", false},
		{"time-wait limit not positive", []string{"-r", sample, "--time-wait-limit", "0"}, 2, "--time-wait-limit 0: must be positive", false},
		{"max-conns beyond what compact records can name", []string{"-r", sample, "--max-conns", "8000001"}, 2, "--max-conns 8000001: at most 8,000,000", false},
		{"keep beyond what compact records can name", []string{"-r", sample, "--keep", "9000000"}, 2, "--keep 9000000: at most 8,000,000", false},
		{"-w with no file name", []string{"-r", sample, "-w", ""}, 2, `-w "": give the name of the file to write`, false},
		{"-w standard output", []string{"-r", sample, "-w", "/dev/stdout"}, 2, `-w "/dev/stdout": that is standard output, which takes the report; write to a file`, false},
		{"--html with no file name", []string{"-r", sample, "--html="}, 2, `--html "": give the name of the file to write`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if tc.code == 2 {
				last := strings.TrimSpace(errs)
				if strings.Contains(last, "\n") {
					t.Errorf("stderr has more than one line: %q", errs)
				}
				if !strings.Contains(errs, tc.stderr) || !strings.HasPrefix(errs, "tcpwatch: ") {
					t.Errorf("stderr %q does not say %q", errs, tc.stderr)
				}
				if strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
					t.Errorf("stack trace on stderr: %q", errs)
				}
			}
			if got := strings.Contains(out, "198.18.0.1:"); got != tc.analyzed {
				t.Errorf("report lists the connection: %v, want %v\n%s", got, tc.analyzed, out)
			}
		})
	}
}

func TestStdin(t *testing.T) {
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, out, errs := runCLI("-r", "-", "-F", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct{ Connections []any }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Connections) != 1 {
		t.Fatalf("stdin: %v, %d connections", err, len(rep.Connections))
	}
}

// TestGolden compares tcpwatch's table (-v) and JSON output on every
// recorded capture with the files in testdata/golden; -update rewrites them.
func TestGolden(t *testing.T) {
	pcaps, _ := filepath.Glob("../../testdata/pcaps/*.pcap")
	ng, _ := filepath.Glob("../../testdata/pcaps/*.pcapng")
	pcaps = append(pcaps, ng...)
	if len(pcaps) == 0 {
		t.Fatal("no recordings in testdata/pcaps")
	}
	for _, p := range pcaps {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".pcapng"), ".pcap")
		for _, f := range []struct{ ext, format string }{{"txt", "table"}, {"json", "json"}} {
			t.Run(name+"."+f.ext, func(t *testing.T) {
				code, out, errs := runCLI("-r", p, "-v", "-F", f.format)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				// Golden files name the capture by its base name.
				out = strings.ReplaceAll(out, p, filepath.Base(p))
				checkGoldenFile(t, name+"."+f.ext, out)
			})
		}
	}
}

// TestUsageErrorIsOneLine: a bad flag or value gives one line on stderr,
// nothing on stdout (a pipeline reading JSON sees no usage text), exit 2;
// -h prints the usage on stdout, exit 0.
func TestUsageErrorIsOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"-r", sample, "--bogus"},
		{"-r", sample, "--stuck", "5"},
		{"-r", sample, "-c"},
		{"-r", sample, "-F", "xml"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if code != 2 || out.Len() != 0 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("tcpwatch %v: exit %d, stdout %q, stderr %q; want 2, nothing, one line", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage:") || errb.Len() != 0 {
		t.Errorf("tcpwatch -h: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
