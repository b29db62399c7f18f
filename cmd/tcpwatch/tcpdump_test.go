package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/internal/testenv"
	"github.com/tcpwatch/tcpwatch/report"
)

const lostAck = "../../testdata/pcaps/lost-third-ack.pcap"

// TestTcpdumpFlagsThatChangeNothing: -n, -nn and -l are accepted and the
// report is the same without them.
func TestTcpdumpFlagsThatChangeNothing(t *testing.T) {
	_, want, _ := runCLI("-r", lostAck, "-v")
	for _, args := range [][]string{{"-nr", lostAck, "-v"}, {"-nnvr", lostAck}, {"-lnr", lostAck, "-v"}} {
		code, out, errs := runCLI(args...)
		if code != 0 || out != want || errs != "" {
			t.Errorf("tcpwatch %v: exit %d, stderr %q, report differs: %v", args, code, errs, out != want)
		}
	}
}

// TestQuietPrintsSummaryAndFindingsOnly: -q leaves the connections (and
// their timelines) out of the table, and keeps the header, their count,
// the states and the findings.
func TestQuietPrintsSummaryAndFindingsOnly(t *testing.T) {
	_, full, _ := runCLI("-r", lostAck, "-v")
	code, out, _ := runCLI("-qvr", lostAck)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"│ ID │", "#1 198.18.0.1:40686", "SYN_SENT    sent SYN"} {
		if !strings.Contains(full, s) || strings.Contains(out, s) {
			t.Errorf("-q still prints %q", s)
		}
	}
	for _, s := range []string{"lost-third-ack.pcap: 7 packets", "\nConnections: 1\n", "\nStates\n", "Anomalies: 1", "handshake never completed"} {
		if !strings.Contains(out, s) {
			t.Errorf("-q does not print %q:\n%s", s, out)
		}
	}

	// A rollup keeps its services and findings, not its connections.
	const many = "../../testdata/pcaps/many-short.pcap"
	_, full, _ = runCLI("-r", many)
	_, out, _ = runCLI("-qr", many)
	for _, s := range []string{"Every connection closed cleanly"} {
		if !strings.Contains(full, s) || strings.Contains(out, s) {
			t.Errorf("-q on a rollup still prints %q", s)
		}
	}
	for _, s := range []string{"Connections: 125 to 1 service", "Services, worst first", "No anomalies."} {
		if !strings.Contains(out, s) {
			t.Errorf("-q on a rollup does not print %q:\n%s", s, out)
		}
	}
}

// TestTimeFlagsReachTheTable: -tttt prints the findings' and timelines'
// times with their date.
func TestTimeFlagsReachTheTable(t *testing.T) {
	_, out, _ := runCLI("-vtttt", "-r", lostAck)
	for _, s := range []string{"│ 2026-11-21 08:42:22.339543 │", "  2026-11-21 08:42:22.339518  pkt 1 "} {
		if !strings.Contains(out, s) {
			t.Errorf("-tttt: no %q in\n%s", s, out)
		}
	}
}

// inLab runs tcpwatch (this test binary) with args as a process of its own
// in the namespace.
func inLab(t *testing.T, ns *netlab.NS, args ...string) *exec.Cmd {
	t.Helper()
	return helperBy(t, ns.Command, args...)
}

// TestListInterfacesAsTcpdump: -D lists the interfaces of a namespace
// exactly as tcpdump -D does there.
func TestListInterfacesAsTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.SkipOrFail(t, "tcpdump is not installed (scripts/setup.sh installs it)")
	}
	l := netlab.New(t)
	// The veth's carrier comes up a moment after the lab: wait for it, so
	// that both listings see the same states.
	var want string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := l.Server.Run("tcpdump", "-D")
		if err != nil {
			t.Fatal(err)
		}
		if want = out; strings.Contains(want, "."+l.Server.Link+" [Up, Running") {
			break
		}
	}
	got, err := inLab(t, l.Server, "-D").Output()
	if err != nil || string(got) != want {
		t.Errorf("tcpwatch -D: %v\n%s\ntcpdump -D:\n%s", err, got, want)
	}
	if !strings.Contains(want, "."+l.Server.Link+" [Up, Running") {
		t.Errorf("tcpdump -D does not list %s up and running:\n%s", l.Server.Link, want)
	}
}

// TestRelinquishPrivilegesAfterOpening: with -Z nobody, tcpwatch opens the
// interface as root, then runs as nobody (uid, gid, no other group) while
// it goes on capturing.
func TestRelinquishPrivilegesAfterOpening(t *testing.T) {
	l := netlab.New(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.SkipOrFail(t, "no user nobody: %v", err)
	}
	server(t, l, "198.18.0.2:8080", echoOnce)
	cmd := inLab(t, l.Server, "-i", l.Server.Link, "-Z", "nobody", "-F", "json", "--duration", "10s", "tcp port 8080")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	status := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status"
	want := map[string]string{"Uid:": nobody.Uid, "Gid:": nobody.Gid}
	var got map[string]string
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = procIDs(t, status)
		if strings.HasPrefix(got["Uid:"], want["Uid:"]+" ") {
			break
		}
	}
	for k, v := range want {
		if got[k] != v+" "+v+" "+v+" "+v {
			t.Errorf("%s %q, want %s four times (real, effective, saved, filesystem)", k, got[k], v)
		}
	}
	if got["Groups:"] != "" && got["Groups:"] != nobody.Gid {
		t.Errorf("supplementary groups %q, want none but %s", got["Groups:"], nobody.Gid)
	}
	request(t, l, "198.18.0.2:8080")
	time.Sleep(300 * time.Millisecond)
	if err := signalChild(cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpwatch -Z nobody: %v; stderr %s", err, errb.String())
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Connections) != 1 {
		t.Errorf("after dropping root the capture did not see the connection: %v\n%s", err, out.String())
	}
}

// procIDs reads the Uid, Gid and Groups lines of a /proc status file.
func procIDs(t *testing.T, status string) map[string]string {
	b, err := os.ReadFile(status)
	if err != nil {
		return nil
	}
	ids := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "Uid:" || f[0] == "Gid:" || f[0] == "Groups:") {
			ids[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return ids
}

// TestRelinquishToUnknownUser: -Z with a user that does not exist is one
// line and exit 2, before anything is read.
func TestRelinquishToUnknownUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("-Z does nothing unless run as root, as with tcpdump")
	}
	code, out, errs := runCLI("-r", lostAck, "-Z", "tcpwatch-test-nosuch")
	if code != exitError || out != "" || errs != "tcpwatch: -Z \"tcpwatch-test-nosuch\": no such user\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestDeltaTimesOfFindingsNeverGoBack: with -ttt the timelines print the
// time since the line before, as tcpdump does, and the findings, listed by
// severity rather than in time order, the time since the first packet:
// never a negative time (the half_open finding of lost-third-ack came
// out as -00:00:01.024100, the time back from the timeline's last line).
func TestDeltaTimesOfFindingsNeverGoBack(t *testing.T) {
	_, out, _ := runCLI("-vttt", "-r", lostAck)
	if strings.Contains(out, "-00:") {
		t.Errorf("-ttt: a negative time in\n%s", out)
	}
	if !strings.Contains(out, "│ 00:00:00.000025 │") {
		t.Errorf("-ttt: the half_open finding is not 25µs after the first packet in\n%s", out)
	}
}

// TestSecondReadingAfterSwitchSaysWhose: -w reads the input a second
// time, after -Z switched to nobody: a file only root can read fails then,
// and the error says it is -w's reading, as nobody (it read like an input
// error of the first reading).
func TestSecondReadingAfterSwitchSaysWhose(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "needs root to switch to nobody")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		testenv.SkipOrFail(t, "no user nobody: %v", err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "root-only.pcap")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := helper(t, "-r", in, "-Z", "nobody", "-w", filepath.Join(dir, "out.pcap"), "--write", "all", "-q")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	want := `-w reads the input again: open "` + in + `": permission denied (as nobody, after -Z: the files must be readable by nobody)`
	if err == nil || !strings.Contains(errb.String(), want) {
		t.Errorf("%v, stderr %q; want exit 2 and %q", err, errb.String(), want)
	}
}

// TestNoTimesNoSinceColumn: -t prints no times, as tcpdump's, and the
// anomalies table drops its SINCE column rather than keep it empty.
func TestNoTimesNoSinceColumn(t *testing.T) {
	_, out, _ := runCLI("-t", "-r", lostAck)
	if strings.Contains(out, "SINCE") || !strings.Contains(out, "│ SEVERITY │ KIND ") || !strings.Contains(out, "│ DETAIL") {
		t.Errorf("-t: the anomalies table\n%s", out)
	}
}
