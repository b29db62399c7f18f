package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/internal/testenv"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// tcpdumpLine is the addresses of one line of tcpdump -nn: IPv4
// "IP 198.18.0.1.40686 > 198.18.0.2.8080:", IPv6 "IP6 fd00::1.40686 > ...".
var tcpdumpLine = regexp.MustCompile(`^\S+ IP6? (\S+)\.(\d+) > (\S+)\.(\d+):`)

// tcpdumpRead runs tcpdump -r file -nn and returns each packet's two
// endpoints, as "ip:port" sorted.
func tcpdumpRead(t *testing.T, file string) [][2]string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("tcpdump", "-r", file, "-nn")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tcpdump -r %s: %v: %s", file, err, errb.String())
	}
	var pkts [][2]string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		m := tcpdumpLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("tcpdump line %q: no addresses", line)
		}
		a := netip.AddrPortFrom(netip.MustParseAddr(m[1]), parsePort(t, m[2])).String()
		b := netip.AddrPortFrom(netip.MustParseAddr(m[3]), parsePort(t, m[4])).String()
		pkts = append(pkts, [2]string{min(a, b), max(a, b)})
	}
	return pkts
}

func parsePort(t *testing.T, s string) uint16 {
	ap, err := netip.ParseAddrPort("0.0.0.0:" + s)
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}

// writeRun runs tcpwatch -F json -w FILE with args and returns the report
// and the file's packets as tcpdump reads them.
func writeRun(t *testing.T, args ...string) (*report.Report, [][2]string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.pcap")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(args, "-F", "json", "-w", out), &stdout, &stderr); code != 0 {
		t.Fatalf("tcpwatch %v: exit %d: %s", args, code, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, tcpdumpRead(t, out)
}

// TestWriteKeepsTheFlaggedConnectionsPackets: on every anomaly recording,
// tcpwatch -w writes exactly the packets of the connections with a
// finding at warning or worse, by its kind or one in its also list (by
// default), or of every connection
// (--write all): tcpdump -r lists, per connection, as many packets as the
// report counts, and no other packet.
func TestWriteKeepsTheFlaggedConnectionsPackets(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.SkipOrFail(t, "tcpdump is not installed (scripts/setup.sh installs it)")
	}
	wrote := 0
	for _, e := range readExpectations(t) {
		for _, which := range []string{"", "all"} {
			t.Run(e.name+" "+which, func(t *testing.T) {
				args := append([]string{"-r", e.pcap}, e.args...)
				if which != "" {
					args = append(args, "--write", which)
				}
				rep, pkts := writeRun(t, args...)
				also := map[uint64][]tracker.Kind{}
				for _, a := range rep.Anomalies {
					also[a.Connection] = append(also[a.Connection], a.Also...)
				}
				want := map[[2]string]uint64{}
				for _, c := range rep.Connections {
					if which == "all" || worst(append(also[c.ID], c.Anomalies...)) >= tracker.Warning {
						a, b := c.Client.String(), c.Server.String()
						want[[2]string{min(a, b), max(a, b)}] += c.Packets.Client + c.Packets.Server
					}
				}
				got := map[[2]string]uint64{}
				for _, p := range pkts {
					got[p]++
				}
				for k, n := range want {
					if got[k] != n {
						t.Errorf("%s ↔ %s: %d packets in the file, the report counts %d", k[0], k[1], got[k], n)
					}
				}
				for k, n := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("%s ↔ %s: %d packets of a connection not selected", k[0], k[1], n)
					}
				}
				wrote += len(pkts)
			})
		}
	}
	if wrote == 0 {
		t.Error("no recording gave -w a packet to write")
	}
}

// worst is the highest severity among kinds (info for none).
func worst(kinds []tracker.Kind) (w tracker.Severity) {
	for _, k := range kinds {
		w = max(w, k.Severity())
	}
	return w
}

// TestWriteByKind: --write with a kind list writes that kind's connections
// only.
func TestWriteByKind(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.SkipOrFail(t, "tcpdump is not installed (scripts/setup.sh installs it)")
	}
	pcap := filepath.Join(anomalyDir, "close-wait-fin-wait-2.pcap")
	if _, pkts := writeRun(t, "-r", pcap, "--stuck", "2s", "--write", "close_wait_stuck"); len(pkts) != 9 {
		t.Errorf("--write close_wait_stuck: %d packets, want the connection's 9", len(pkts))
	}
	if _, pkts := writeRun(t, "-r", pcap, "--stuck", "2s", "--write", "reset,syn_flood"); len(pkts) != 0 {
		t.Errorf("--write reset,syn_flood: %d packets, want none", len(pkts))
	}
}

// TestWriteUsageErrors: -w that cannot work is one line and exit 2.
func TestWriteUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, "in.pcap", good) // not the repository's: a failure must not truncate it
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", "-", "-w", filepath.Join(dir, "x.pcap")}, "tcpwatch: -w reads the input twice: give a file, not standard input (-r -) (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-w", filepath.Join(dir, "x.pcap"), "--write", "stuck"}, `tcpwatch: --write "stuck": "stuck" is not an anomaly kind, info, warning, critical or any (kinds: `},
		{[]string{"-r", sample, "-w", filepath.Join(dir, "nosuch", "x.pcap")}, `tcpwatch: -w "` + filepath.Join(dir, "nosuch", "x.pcap") + `": open: no such file or directory` + "\n"},
		{[]string{"-r", in, "-w", in}, `tcpwatch: -w "` + in + `": it is also an input (-r "` + in + `"); write to another file` + "\n"},
		{[]string{"-r", in, "--html", in}, `tcpwatch: --html "` + in + `": it is also an input (-r "` + in + `"); write to another file` + "\n"},
		{[]string{"-r", in, "-w", filepath.Join(dir, "x.pcap"), "--html", filepath.Join(dir, "x.pcap")}, `tcpwatch: --html "` + filepath.Join(dir, "x.pcap") + `": it is also -w's file; write to another file` + "\n"},
	} {
		code, _, errs := runCLI(tc.args...)
		if code != exitError || !strings.HasPrefix(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("tcpwatch %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.pcap")); err == nil {
		t.Error("a refused -w created its file, or a refused --html left -w's")
	}
	if b, err := os.ReadFile(in); err != nil || !bytes.Equal(b, good) {
		t.Errorf("the input is not as it was: %v", err)
	}
}

// TestLiveWriteKeepsTheStuckConnection: live, -w keeps the packets in a
// spool and writes, at the end, exactly those of the connection whose
// server never closed (close_wait_stuck), not those of the one that closed
// cleanly; the spool is gone afterwards. With one socket, and with two
// (--fanout 2), whose packets the spool keeps in the order merged.
func TestLiveWriteKeepsTheStuckConnection(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.SkipOrFail(t, "tcpdump is not installed (scripts/setup.sh installs it)")
	}
	for _, fanout := range []string{"1", "2"} {
		t.Run("fanout "+fanout, func(t *testing.T) { liveWriteKeepsTheStuckConnection(t, "--fanout", fanout) })
	}
}

func liveWriteKeepsTheStuckConnection(t *testing.T, extra ...string) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8080", echoOnce)
	server(t, l, "198.18.0.2:8081", neverClose)
	dir := t.TempDir()
	file := filepath.Join(dir, "stuck.pcap")
	args := append([]string{"-i", l.Server.Link, "-F", "json", "--stuck", "1s", "--duration", "3s", "-w", file}, extra...)
	tw := startLive(context.Background(), l.Server, append(args, "tcp")...)
	tw.ready(t)
	request(t, l, "198.18.0.2:8080")
	c, err := dial(t, l, "198.18.0.2:8081")
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	c.(*net.TCPConn).CloseWrite()
	tw.wait(t)
	if tw.code != 0 {
		t.Fatalf("exit %d: %s", tw.code, tw.err.String())
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(tw.out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	var stuck *report.Connection
	for i, c := range rep.Connections {
		if c.Server.Port() == 8081 && slices.Contains(c.Anomalies, tracker.CloseWaitStuck) {
			stuck = &rep.Connections[i]
		}
	}
	if stuck == nil || len(rep.Connections) != 2 {
		t.Fatalf("want two connections, one close_wait_stuck to :8081: %+v (%d packets captured; stderr %q)", rep.Connections, rep.Input.Packets, tw.err.String())
	}
	pkts := tcpdumpRead(t, file)
	a, b := stuck.Client.String(), stuck.Server.String()
	for _, p := range pkts {
		if p != [2]string{min(a, b), max(a, b)} {
			t.Errorf("a packet of %s ↔ %s in the file", p[0], p[1])
		}
	}
	if n := stuck.Packets.Client + stuck.Packets.Server; uint64(len(pkts)) != n || n == 0 {
		t.Errorf("%d packets in the file, the report counts %d", len(pkts), n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tcpwatch-spool-*")); len(left) != 0 {
		t.Errorf("spool left behind: %v", left)
	}
}

// TestSpoolingAPacketDoesNotAllocate: live -w adds every packet to the
// spool; that costs a copy into its buffer and nothing for the collector.
func TestSpoolingAPacketDoesNotAllocate(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "spool.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pw := &pcapWriter{name: f.Name(), bw: bufio.NewWriterSize(f, 1<<16)}
	data := make([]byte, 120)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(data), Length: 1500}
	if err := pw.write(data, ci, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { pw.write(data, ci, layers.LinkTypeEthernet) }); n != 0 {
		t.Errorf("%v allocations per packet spooled, want 0", n)
	}
}

// TestSpoolThatFillsKeepsWhatCameBefore: when live -w's spool is full,
// later packets are left out, the file has those before, and the warning
// says at which packet it filled.
func TestSpoolThatFillsKeepsWhatCameBefore(t *testing.T) {
	rep := runJSON(t, "-r", lostAck) // one connection, half_open: selected
	rd, err := capture.OpenFiles([]string{lostAck}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	dir := t.TempDir()
	cfg := &config{iface: "lab0", writeFile: filepath.Join(dir, "out.pcap"), write: "warning"}
	out, err := openPcapOut(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func(max int64) { spoolMax = max }(spoolMax)
	spoolMax = 0
	var p capture.Packet
	for i := 0; rd.Next(&p) == nil; i++ {
		if i < 3 { // room for the first three packets
			data, _, _ := rd.Raw()
			spoolMax += int64(len(data)) + 16
		}
		if err := out.keep(rd); err != nil {
			t.Fatal(err)
		}
	}
	warning, err := out.finish(cfg, rep, rd.Stats().Packets, io.Discard)
	want := fmt.Sprintf("-w %q: the spool filled (0 MiB) at packet 4; later packets are not in it", cfg.writeFile)
	if err != nil || warning != want {
		t.Errorf("finish: %v, warning %q; want %q", err, warning, want)
	}
	if pkts := tcpdumpRead(t, cfg.writeFile); len(pkts) != 3 {
		t.Errorf("%d packets written, want the 3 spooled", len(pkts))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tcpwatch-spool-*")); len(left) != 0 {
		t.Errorf("spool left behind: %v", left)
	}
}

// TestPipeInputsAreNotReadTwice: -w, --ladder and --html read the input a
// second time, which a pipe or a FIFO cannot give (standard input by
// another name, /dev/stdin, <(zcat x.pcap.gz), mkfifo): they are refused
// with one line and exit 2 before anything is read, as -r - is, rather
// than failing after the report on a drained pipe or waiting for ever to
// open a FIFO again.
func TestPipeInputsAreNotReadTwice(t *testing.T) {
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// pipe is a pipe named as /proc/self/fd/N, holding the sample.
	pipe := func(t *testing.T) string {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		go func() { w.Write(good); w.Close() }()
		return fmt.Sprintf("/proc/self/fd/%d", r.Fd())
	}
	out := filepath.Join(dir, "out.pcap")
	for _, tc := range []struct {
		name string
		in   func(t *testing.T) string
		args []string
		want string
	}{
		{"-w from a pipe", pipe, []string{"-w", out}, "-w reads the input twice: give a file, not a pipe or FIFO (-r "},
		{"-w from a FIFO", func(*testing.T) string { return fifo }, []string{"-w", out}, "-w reads the input twice: give a file, not a pipe or FIFO (-r " + fifo + ")"},
		{"--ladder from a pipe", pipe, []string{"--ladder"}, "--ladder cannot read a pipe or FIFO twice: save the capture to a file and give -r FILE"},
		{"--ladder from a FIFO", func(*testing.T) string { return fifo }, []string{"--ladder"}, "--ladder cannot read a pipe or FIFO twice"},
		{"--html from a pipe", pipe, []string{"--html", filepath.Join(dir, "x.html")}, "--html cannot read a pipe or FIFO twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-r", tc.in(t)}, tc.args...)
			type result struct {
				code        int
				stdout, err string
			}
			done := make(chan result, 1)
			go func() {
				code, stdout, errs := runCLI(args...)
				done <- result{code, stdout, errs}
			}()
			var res result
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("tcpwatch %v still running after 10s", args)
			}
			if res.code != exitError || !strings.Contains(res.err, tc.want) || strings.Count(res.err, "\n") != 1 {
				t.Errorf("tcpwatch %v: exit %d, stderr %q; want 2 and one line with %q", args, res.code, res.err, tc.want)
			}
			if res.stdout != "" {
				t.Errorf("a report was printed before the error:\n%.300s", res.stdout)
			}
		})
	}
	for _, name := range []string{out, filepath.Join(dir, "x.html")} {
		if _, err := os.Stat(name); err == nil {
			t.Errorf("a refused run created %s", name)
		}
	}
}

// TestFailedRunLeavesNoEmptyOutputFile: a run that fails before it writes
// -w's or --html's file (here its report cannot be written) leaves no
// empty file behind, which tools would take for a truncated capture; one
// that succeeds leaves a capture, even of no packet.
func TestFailedRunLeavesNoEmptyOutputFile(t *testing.T) {
	dir := t.TempDir()
	in := "../../testdata/pcaps/lost-third-ack.pcap"
	for _, tc := range []struct {
		flag, name string
	}{{"-w", "out.pcap"}, {"--html", "out.html"}} {
		name := filepath.Join(dir, tc.name)
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"-r", in, tc.flag, name}, &failingWriter{}, &stderr); code != exitError {
			t.Fatalf("%s with a report that cannot be written: exit %d, want %d", tc.flag, code, exitError)
		}
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Errorf("%s: after the run failed, %s is still there (%v)", tc.flag, tc.name, err)
		}
	}
	empty := filepath.Join(dir, "none.pcap")
	if code := run(context.Background(), []string{"-r", in, "-w", empty, "--write", "syn_flood"}, io.Discard, io.Discard); code != exitOK {
		t.Fatalf("-w of no connection: exit %d", code)
	}
	if st, err := os.Stat(empty); err != nil || st.Size() == 0 {
		t.Errorf("-w of no connection: %v, size %v; want a pcap header", err, st)
	}
}

// TestWriteKeepsTheICMPErrorOfItsConnection: a connection refused by an
// ICMP error is written with that error, which quotes its SYN.
func TestWriteKeepsTheICMPErrorOfItsConnection(t *testing.T) {
	out := filepath.Join(t.TempDir(), "refused.pcap")
	if code, _, errs := runCLI("-r", "../../testdata/pcaps/icmp-port-unreachable-retry.pcap", "-w", out, "--write", "connection_refused"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rd, err := capture.OpenFiles([]string{out}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var kinds []capture.Kind
	var p capture.Packet
	for rd.Next(&p) == nil {
		kinds = append(kinds, p.Kind)
	}
	if !slices.Equal(kinds, []capture.Kind{capture.TCP, capture.ICMPError}) {
		t.Errorf("wrote %v, want the SYN and the ICMP error quoting it", kinds)
	}
}
