package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
)

// helperEnv makes this test binary run tcpwatch (TestHelperProcess).
const helperEnv = "TCPWATCH_HELPER=1"

// TestHelperProcess is tcpwatch's main, signals and all, when a test runs
// this binary with helperEnv; otherwise it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("TCPWATCH_HELPER") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(tcpwatch(args, os.Stdout, os.Stderr))
}

// helper is tcpwatch with args as a process of its own, killed if it is
// still running 20 s later.
func helper(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return helperBy(t, exec.CommandContext, args...)
}

// helperBy is helper with the command made by command (exec.CommandContext
// or one that runs it elsewhere).
func helperBy(t *testing.T, command func(context.Context, string, ...string) *exec.Cmd, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	cmd := command(ctx, exe, append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv)
	return cmd
}

// countPackets is the number of packets in the capture data, read to its
// end or to its first error.
func countPackets(t *testing.T, data []byte) uint64 {
	t.Helper()
	rd, err := capture.OpenFiles([]string{writeFile(t, "count.pcap", data)}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var p capture.Packet
	for rd.Next(&p) == nil {
	}
	return rd.Stats().Packets
}

// samplePcapng is the sample capture rewritten as pcapng, with the offset
// at which each block after the headers begins.
func samplePcapng(t *testing.T) (ng []byte, blocks []int) { return toPcapng(t, sample, nil) }

// toPcapng rewrites a pcap as pcapng, with the offset at which each block
// after the headers begins; isb, if set, gives the interface statistics
// block written after the packets from the last packet's time.
func toPcapng(t *testing.T, pcap string, isb func(last time.Time) pcapgo.NgInterfaceStatistics) (ng []byte, blocks []int) {
	t.Helper()
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, r.LinkType())
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		w.Flush()
		blocks = append(blocks, buf.Len())
		if err != nil || w.WritePacket(ci, data) != nil {
			t.Fatal(err)
		}
		last = ci.Timestamp
	}
	if isb != nil && w.WriteInterfaceStats(0, isb(last)) != nil {
		t.Fatal("write interface statistics")
	}
	w.Flush()
	return buf.Bytes(), blocks
}

// gzipCut compresses data and cuts the compressed stream right after the
// bytes of data[:at]: the stream stops at that boundary of what it holds.
func gzipCut(t *testing.T, data []byte, at int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data[:at])
	w.Flush()
	cut := buf.Len()
	w.Write(data[at:])
	w.Close()
	return buf.Bytes()[:cut]
}

func gzipAll(data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// TestInputErrorMessages checks the one line tcpwatch prints for inputs
// that are cut or cannot be read, and that what was read before a cut is
// still reported.
func TestInputErrorMessages(t *testing.T) {
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	n := countPackets(t, good)
	ng, blocks := samplePcapng(t)
	gzNg := gzipAll(ng)
	header := make([]byte, 16) // a record header announcing 60 bytes, and then nothing
	binary.LittleEndian.PutUint32(header[8:], 60)
	binary.LittleEndian.PutUint32(header[12:], 60)
	nflog := append(good[:20:20], 239, 0, 0, 0) // the sample's file header, link type NFLOG
	dir := t.TempDir()
	before := fmt.Sprintf("; the report covers the %d packets before it", n)
	for _, tc := range []struct {
		name, file, want string // F in want is the file
		filter           []string
		analyzed         bool
	}{
		{"pcap ends after a record header", writeFile(t, "h.pcap", append(bytes.Clone(good), header...)),
			fmt.Sprintf(`read "F": packet %d: truncated: the capture ends after this packet's record header`, n+1) + before, nil, true},
		{"gzip pcapng cut in its trailer", writeFile(t, "t.pcapng.gz", gzNg[:len(gzNg)-4]),
			fmt.Sprintf(`read "F": packet %d: truncated: the capture ends before the end of its gzip stream`, n+1) + before, nil, true},
		{"gzip pcapng cut at a block boundary", writeFile(t, "b.pcapng.gz", gzipCut(t, ng, blocks[n-1])),
			fmt.Sprintf(`read "F": packet %d: truncated: the capture ends before the end of its gzip stream`, n) +
				fmt.Sprintf("; the report covers the %d packets before it", n-1), nil, true},
		{"filter on an NFLOG capture", writeFile(t, "n.pcap", nflog),
			`open "F": filter "port 80" for link type NFLOG (239): NFLOG link-layer type filtering not implemented`, []string{"port", "80"}, false},
		{"directory", dir, `open "F": is a directory`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(append([]string{"-r", tc.file}, tc.filter...)...)
			want := "tcpwatch: " + strings.ReplaceAll(tc.want, `"F"`, `"`+tc.file+`"`) + "\n"
			if code != exitError || errs != want {
				t.Errorf("exit %d, stderr\n%s want exit 2 and\n%s", code, errs, want)
			}
			if got := strings.Contains(out, "198.18.0.1:"); got != tc.analyzed {
				t.Errorf("report lists the connection: %v, want %v\n%s", got, tc.analyzed, out)
			}
			if tc.analyzed && !strings.Contains(out, "input ended early: read ") {
				t.Errorf("the report does not say the input ended early:\n%s", out)
			}
		})
	}
}

// failingWriter accepts n bytes, then fails every write.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteErrors: a report that cannot be written, wherever the writing
// fails, is one line on stderr and exit 2, in every format.
func TestWriteErrors(t *testing.T) {
	const want = "tcpwatch: write standard output: no space left on device; the report was not written in full\n"
	for _, format := range []string{"table", "json", "ndjson"} {
		var whole bytes.Buffer
		run(context.Background(), []string{"-r", sample, "-v", "-F", format}, &whole, io.Discard)
		for _, n := range []int{0, 100, whole.Len() / 2, whole.Len() - 1} {
			var errb bytes.Buffer
			code := run(context.Background(), []string{"-r", sample, "-v", "-F", format}, &failingWriter{n: n}, &errb)
			if code != exitError || errb.String() != want {
				t.Errorf("-F %s, failing after %d bytes: exit %d, stderr %q; want 2 and %q", format, n, code, errb.String(), want)
			}
		}
	}
}

// TestStdoutFullOrClosed runs tcpwatch with its standard output on a full
// device and on a pipe nobody reads any more.
func TestStdoutFullOrClosed(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fds[0]) // the reader went away, as head -c 10 does
	closed := os.NewFile(uintptr(fds[1]), "pipe")
	defer closed.Close()
	for _, tc := range []struct {
		name string
		out  *os.File
		want string
	}{
		{"full", full, "tcpwatch: write standard output: no space left on device; the report was not written in full\n"},
		{"reader gone", closed, "tcpwatch: write standard output: broken pipe; the report was not written in full\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := helper(t, "-r", sample, "-v")
			var errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = tc.out, &errb
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != exitError || errb.String() != tc.want {
				t.Errorf("%v (exit %d), stderr %q; want exit 2 and %q", err, code, errb.String(), tc.want)
			}
		})
	}
}

// stalledSample is the sample capture without the end of its last record,
// and how many whole packets it holds: what a writer that stalled in the
// middle of a record sent.
func stalledSample(t *testing.T) ([]byte, uint64) {
	t.Helper()
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	return good[:len(good)-10], countPackets(t, good) - 1
}

// stalledFIFO is a FIFO holding data whose writer never writes more nor
// closes it (until the test ends).
func stalledFIFO(t *testing.T, data []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if data == nil {
		return name // no writer at all
	}
	// Opened read-write, a FIFO does not wait for the other end.
	w, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	return name
}

// checkInterruptedJSON checks that out is the JSON report of an
// interrupted run that read packets packets.
func checkInterruptedJSON(t *testing.T, out []byte, packets uint64) {
	t.Helper()
	var rep report.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	if !rep.Input.Interrupted || rep.Input.Packets != packets || rep.Input.Error != "" {
		t.Errorf("input %+v; want interrupted after %d packets, no error", rep.Input, packets)
	}
}
