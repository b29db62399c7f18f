package zeek_test

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/testenv"
	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/zeek"
)

// TestZeekLabels runs every public capture that comes with Zeek's conn.log
// rows (labels/<capture>.zeek-conn.tsv) and compares conn_state and history,
// connection by connection, with Zeek's. It reports the agreement per file
// and fails only on a regression: a difference that
// testdata/zeek_labels.golden does not list with the same value. Refresh the
// file with
//
//	go test ./tracker/zeek -run ZeekLabels -update
//
// and give every new difference its reason.
//
// Checksums are verified as Zeek verified them: not for a label whose Zeek
// command has -C, and for the others a segment with a bad checksum counts
// ('C') without being analyzed, as in Zeek.
//
// Two pipelines are compared:
//
//   - "tracker": tracker.Tracker, which decides where connections begin and
//     end and reports each one's History and ConnState. It is skipped while
//     the tracker reports no conn_state at all (not wired to zeek.Summary yet).
//   - "harness": this test groups segments by 4-tuple itself, splitting a
//     4-tuple the way Zeek's TCPSessionAdapter::IsReuse does (a SYN with a new
//     sequence number, or after the connection closed), and feeds each group
//     to a zeek.Summary; it also ends a connection where Zeek's timers
//     would have removed it (zeekExpired). It isolates zeek.Summary from the
//     tracker.
var update = flag.Bool("update", false, "rewrite testdata/zeek_labels.golden with the current differences")

const goldenPath = "testdata/zeek_labels.golden"

// publicPcaps is where the shared captures live: ../shared/pcaps/public
// beside the repository's root (the directory that holds go.mod), whichever
// package directory the test runs in; TCPWATCH_PUBLIC_PCAPS overrides it.
func publicPcaps() string {
	if d := os.Getenv("TCPWATCH_PUBLIC_PCAPS"); d != "" {
		return d
	}
	root, err := filepath.Abs(".")
	for err == nil {
		if _, statErr := os.Stat(filepath.Join(root, "go.mod")); statErr == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			err = os.ErrNotExist
		}
		root = parent
	}
	if err != nil {
		root = filepath.Join("..", "..") // tracker/zeek is two levels down
	}
	return filepath.Join(root, "..", "shared", "pcaps", "public")
}

// zeekRow is one TCP row of a Zeek conn.log label.
type zeekRow struct {
	orig, resp netip.AddrPort
	state      string // "-" when the label does not give it
	history    string
}

// flowKey is a 4-tuple regardless of direction.
type flowKey struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) flowKey {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return flowKey{x, y}
}

// ourConn is one connection as a pipeline reports it.
type ourConn struct {
	key            flowKey
	first          int64
	state, history string
}

// zeekIgnoredChecksums reports whether a label's Zeek command line has -C
// (ignore checksums, alone or among other one-letter flags): the pipelines
// then leave checksums unverified too.
func zeekIgnoredChecksums(line string) bool {
	cmd, ok := strings.CutPrefix(line, "# zeek_cmd:")
	if !ok {
		return false
	}
	for _, f := range strings.Fields(cmd) {
		if len(f) > 1 && f[0] == '-' && f[1] != '-' && strings.ContainsRune(f, 'C') {
			return true
		}
	}
	return false
}

func readZeekLabel(path string) ([]zeekRow, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	var cols map[string]int
	var rows []zeekRow
	noChecksums := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		noChecksums = noChecksums || zeekIgnoredChecksums(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if cols == nil {
			cols = make(map[string]int)
			for i, name := range fields {
				cols[name] = i
			}
			for _, need := range []string{"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "conn_state", "history"} {
				if _, ok := cols[need]; !ok {
					return nil, false, fmt.Errorf("%s: header lacks column %q", path, need)
				}
			}
			continue
		}
		get := func(name string) string {
			if i := cols[name]; i < len(fields) {
				return fields[i]
			}
			return "-"
		}
		if get("proto") != "tcp" {
			continue
		}
		orig, err1 := parseAddrPort(get("id.orig_h"), get("id.orig_p"))
		resp, err2 := parseAddrPort(get("id.resp_h"), get("id.resp_p"))
		if err := errors.Join(err1, err2); err != nil {
			return nil, false, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		rows = append(rows, zeekRow{orig: orig, resp: resp, state: get("conn_state"), history: get("history")})
	}
	return rows, noChecksums, sc.Err()
}

func parseAddrPort(h, p string) (netip.AddrPort, error) {
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", p, err)
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// readPackets calls each for every packet of the capture, TCP or not (the
// tracker's clock advances with non-TCP packets too), checksums verified
// unless noChecksums.
func readPackets(path string, noChecksums bool, each func(p *capture.Packet)) error {
	r, err := capture.OpenFiles([]string{path}, "")
	if err != nil {
		return err
	}
	defer r.Close()
	r.Decoder().NoChecksums = noChecksums
	var p capture.Packet
	for {
		switch err := r.Next(&p); {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
		each(&p)
	}
}

func runTracker(path string, noChecksums bool) ([]ourConn, error) {
	tr := tracker.New(tracker.Config{})
	err := readPackets(path, noChecksums, func(p *capture.Packet) {
		if p.Kind == capture.TCP {
			tr.Observe(&p.Seg)
		} else {
			tr.Advance(p.Time)
		}
	})
	tr.Finish()
	var out []ourConn
	for _, c := range tr.Conns() {
		out = append(out, ourConn{key: keyOf(c.Client(), c.Server()), first: c.First, state: c.ConnState(), history: c.History()})
	}
	return out, err
}

// harnessConn is one connection of the harness pipeline.
type harnessConn struct {
	ourConn
	side0  netip.AddrPort // the first segment's sender, passed to Observe as the client
	synSeq [2]uint32      // sequence number of each side's last SYN without ACK
	sawSYN [2]bool
	z      zeek.Summary
	last   int64 // time of the last segment
}

// Zeek's default TCP timers (init-bare.zeek): tcp_close_delay and
// tcp_reset_delay (5 s), tcp_attempt_delay (5 s), tcp_inactivity_timeout
// (5 min).
const (
	zeekCloseDelay = 5e9
	zeekAttempt    = 5e9
	zeekInactivity = 300e9
)

// zeekExpired approximates Zeek's connection timers: whether Zeek would have
// removed the connection before a packet at time now, so that the packet
// starts a new one. A connection closed by FINs or a RST goes 5 s after its
// last packet, an unanswered SYN 5 s after the first, any connection after
// 5 min of silence.
func zeekExpired(c *harnessConn, now int64) bool {
	st, h := c.z.ConnState(), c.z.History()
	switch {
	case now-c.last > zeekInactivity:
		return true
	case (closedStates[st] || st == "SH" || st == "SHR" || strings.ContainsAny(h, "Rr")) && now-c.last > zeekCloseDelay:
		return true
	case st == "S0" && now-c.first > zeekAttempt:
		return true
	}
	return false
}

// closedStates are the conn_state values after which Zeek's IsReuse takes a
// new SYN as a new connection.
var closedStates = map[string]bool{"SF": true, "REJ": true, "RSTO": true, "RSTR": true, "RSTOS0": true, "RSTRH": true}

func runHarness(path string, noChecksums bool) ([]ourConn, error) {
	open := make(map[flowKey]*harnessConn)
	var all []*harnessConn
	err := readPackets(path, noChecksums, func(p *capture.Packet) {
		if p.Kind != capture.TCP {
			return
		}
		seg := &p.Seg
		if seg.Checksum == tracker.ChecksumBad {
			// Zeek without -C: counted ('C'), not analyzed further.
			if c := open[keyOf(seg.SrcAddrPort(), seg.DstAddrPort())]; c != nil {
				c.z.BadChecksum(seg.SrcAddrPort() == c.side0)
			}
			return
		}
		src, dst := seg.SrcAddrPort(), seg.DstAddrPort()
		k := keyOf(src, dst)
		c := open[k]
		if c != nil && zeekExpired(c, seg.Time) {
			c = nil
		}
		if c != nil && seg.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN {
			side := 1
			if src == c.side0 {
				side = 0
			}
			sq := uint32(seg.Seq)
			if closedStates[c.z.ConnState()] || (c.sawSYN[side] && c.synSeq[side] != sq) {
				c = nil
			}
		}
		if c == nil {
			c = &harnessConn{ourConn: ourConn{key: k, first: seg.Time}, side0: src}
			open[k] = c
			all = append(all, c)
		}
		side := 1
		if src == c.side0 {
			side = 0
		}
		if seg.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN {
			c.sawSYN[side], c.synSeq[side] = true, uint32(seg.Seq)
		}
		c.z.Observe(seg.Zeek(side == 0))
		c.last = seg.Time
	})
	out := make([]ourConn, len(all))
	for i, c := range all {
		out[i] = c.ourConn
		out[i].state, out[i].history = c.z.ConnState(), c.z.History()
	}
	return out, err
}

// difference is one field of one Zeek row that a pipeline reports otherwise.
type difference struct {
	mode, file, row, field string
	zeek, ours             string
}

// knownDiff is a line of the golden file: every row of one capture where a
// field differs in the same way, counted, with one example row and a reason.
type knownDiff struct {
	mode, file, field, zeek, ours string
	count                         int
	example, reason               string
}

func (k knownDiff) id() string {
	return strings.Join([]string{k.mode, k.file, k.field, k.zeek, k.ours}, "\t")
}

// group counts the differences by capture, field and values.
func group(diffs []difference) map[string]*knownDiff {
	out := make(map[string]*knownDiff)
	for _, d := range diffs {
		k := knownDiff{mode: d.mode, file: d.file, field: d.field, zeek: d.zeek, ours: d.ours}
		if g, ok := out[k.id()]; ok {
			g.count++
			continue
		}
		k.count, k.example = 1, d.row
		out[k.id()] = &k
	}
	return out
}

// fileResult is the agreement for one capture and pipeline.
type fileResult struct {
	rows, missing                  int
	stateN, stateOK, histN, histOK int
	diffs                          []difference
}

// compare matches Zeek's rows to ours by 4-tuple, in order of first packet
// when a 4-tuple is reused, and compares the fields the label gives.
func compare(mode, file string, rows []zeekRow, ours []ourConn) fileResult {
	byKey := make(map[flowKey][]ourConn)
	for _, c := range ours {
		byKey[c.key] = append(byKey[c.key], c)
	}
	for _, cs := range byKey {
		slices.SortStableFunc(cs, func(a, b ourConn) int { return cmp.Compare(a.first, b.first) })
	}
	used := make(map[flowKey]int)
	var res fileResult
	for _, r := range rows {
		k := keyOf(r.orig, r.resp)
		n := used[k]
		used[k]++
		rowID := fmt.Sprintf("%s>%s#%d", r.orig, r.resp, n)
		res.rows++
		var c ourConn
		found := n < len(byKey[k])
		if found {
			c = byKey[k][n]
		} else {
			res.missing++
			c.state, c.history = "(none)", "(none)"
		}
		for _, f := range []struct{ name, zeek, ours string }{
			{"conn_state", r.state, c.state},
			{"history", r.history, c.history},
		} {
			if f.zeek == "-" || f.zeek == "" {
				continue
			}
			ok := f.zeek == f.ours
			if f.name == "conn_state" {
				res.stateN++
				if ok {
					res.stateOK++
				}
			} else {
				res.histN++
				if ok {
					res.histOK++
				}
			}
			if !ok {
				res.diffs = append(res.diffs, difference{mode: mode, file: file, row: rowID, field: f.name, zeek: f.zeek, ours: f.ours})
			}
		}
	}
	return res
}

func readGolden(path string) (map[string]knownDiff, error) {
	known := make(map[string]knownDiff)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return known, nil
	}
	if err != nil {
		return nil, err
	}
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			return nil, fmt.Errorf("%s:%d: want 8 tab-separated fields, got %d", path, n+1, len(f))
		}
		count, err := strconv.Atoi(f[5])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: count %q: %w", path, n+1, f[5], err)
		}
		k := knownDiff{mode: f[0], file: f[1], field: f[2], zeek: f[3], ours: f[4], count: count, example: f[6], reason: f[7]}
		known[k.id()] = k
	}
	return known, nil
}

func writeGolden(path string, diffs []knownDiff) error {
	slices.SortFunc(diffs, func(a, b knownDiff) int { return strings.Compare(a.id(), b.id()) })
	var b strings.Builder
	b.WriteString("# Known differences between tcpwatch and Zeek's conn.log labels (see\n")
	b.WriteString("# TestZeekLabels). One line per pipeline, capture, field and pair of values:\n")
	b.WriteString("# mode, capture, field, Zeek's value, ours, number of rows, an example row\n")
	b.WriteString("# (orig>resp#occurrence), reason. `go test ./tracker/zeek -run ZeekLabels -update`\n")
	b.WriteString("# rewrites it and keeps the reasons of lines that stay; explain every new line.\n")
	for _, d := range diffs {
		if d.reason == "" {
			d.reason = "unexplained"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.mode, d.file, d.field, d.zeek, d.ours, d.count, d.example, d.reason)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func TestZeekLabels(t *testing.T) {
	dir := publicPcaps()
	labels, _ := filepath.Glob(filepath.Join(dir, "labels", "*.zeek-conn.tsv"))
	if len(labels) == 0 {
		testenv.SkipOrFail(t, "no Zeek labels under %s (the shared captures are absent; set TCPWATCH_PUBLIC_PCAPS)", dir)
	}
	known, err := readGolden(goldenPath)
	if err != nil {
		t.Fatal(err)
	}

	pipelines := []struct {
		mode string
		run  func(string, bool) ([]ourConn, error)
	}{{"tracker", runTracker}, {"harness", runHarness}}

	var all []difference
	modesRun := make(map[string]bool)
	for _, pl := range pipelines {
		diffs, wired := runPipeline(t, dir, labels, pl.mode, pl.run)
		if !wired {
			t.Logf("%s pipeline skipped: it reports no conn_state for any connection (not wired to zeek.Summary yet)", pl.mode)
			continue
		}
		modesRun[pl.mode] = true
		all = append(all, diffs...)
	}

	current := group(all)
	if *update {
		updateGolden(t, known, current, modesRun)
		return
	}
	checkGolden(t, known, current, modesRun)
}

// runPipeline compares one pipeline with every label, logs the agreement per
// capture and returns the differences. wired is false when the pipeline
// reported no conn_state at all; nothing is logged then.
func runPipeline(t *testing.T, dir string, labels []string, mode string, run func(string, bool) ([]ourConn, error)) (diffs []difference, wired bool) {
	var report strings.Builder
	fmt.Fprintf(&report, "%s pipeline: agreement with Zeek's conn.log\n%-50s %5s %12s %12s %s\n",
		mode, "capture", "rows", "conn_state", "history", "unmatched")
	var tot fileResult
	for _, label := range labels {
		name := strings.TrimSuffix(filepath.Base(label), ".zeek-conn.tsv")
		pcaps, _ := filepath.Glob(filepath.Join(dir, "*", name))
		if len(pcaps) != 1 {
			t.Errorf("%s: want one capture named %s, found %d", label, name, len(pcaps))
			continue
		}
		rows, noChecksums, err := readZeekLabel(label)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		ours, err := run(pcaps[0], noChecksums)
		if err != nil {
			// A capture tcpwatch cannot read fully is compared as far as
			// it was read; its rows show up as differences.
			t.Logf("%s %s: %v", mode, name, err)
		}
		for _, c := range ours {
			wired = wired || c.state != ""
		}
		res := compare(mode, name, rows, ours)
		diffs = append(diffs, res.diffs...)
		fmt.Fprintf(&report, "%-50s %5d %12s %12s %d\n", name, res.rows,
			ratio(res.stateOK, res.stateN), ratio(res.histOK, res.histN), res.missing)
		tot.rows += res.rows
		tot.missing += res.missing
		tot.stateN += res.stateN
		tot.stateOK += res.stateOK
		tot.histN += res.histN
		tot.histOK += res.histOK
	}
	if !wired {
		return nil, false
	}
	fmt.Fprintf(&report, "%-50s %5d %12s %12s %d\n", "TOTAL", tot.rows,
		ratio(tot.stateOK, tot.stateN), ratio(tot.histOK, tot.histN), tot.missing)
	t.Log("\n" + report.String())
	return diffs, true
}

// updateGolden rewrites the golden file with the current differences,
// keeping the reasons of known lines and the lines of pipelines that did not
// run.
func updateGolden(t *testing.T, known map[string]knownDiff, current map[string]*knownDiff, modesRun map[string]bool) {
	var out []knownDiff
	for id, d := range current {
		if k, ok := known[id]; ok {
			d.reason = k.reason
		}
		out = append(out, *d)
	}
	for _, k := range known {
		if !modesRun[k.mode] {
			out = append(out, k)
		}
	}
	if err := writeGolden(goldenPath, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d lines of known differences", goldenPath, len(out))
}

// checkGolden fails on every difference the golden file does not list, or
// lists fewer times, for a pipeline that has expectations recorded.
func checkGolden(t *testing.T, known map[string]knownDiff, current map[string]*knownDiff, modesRun map[string]bool) {
	recorded := make(map[string]bool) // pipelines with at least one golden line
	for _, k := range known {
		recorded[k.mode] = true
	}
	for id, d := range current {
		k, ok := known[id]
		switch {
		case !recorded[d.mode]:
			// No expectation recorded for this pipeline yet: report only.
		case !ok:
			t.Errorf("regression: %s pipeline, %s, %d row(s) such as %s: %s is %q, Zeek says %q",
				d.mode, d.file, d.count, d.example, d.field, d.ours, d.zeek)
		case d.count > k.count:
			t.Errorf("regression: %s pipeline, %s: %d rows (recorded %d) such as %s: %s is %q, Zeek says %q (%s)",
				d.mode, d.file, d.count, k.count, d.example, d.field, d.ours, d.zeek, k.reason)
		}
	}
	for mode := range modesRun {
		if !recorded[mode] {
			t.Logf("%s pipeline: no expectations recorded in %s; run with -update to record them", mode, goldenPath)
		}
	}
	for id, k := range known {
		if d, ok := current[id]; modesRun[k.mode] && (!ok || d.count < k.count) {
			t.Logf("fewer differences than recorded (run with -update): %s pipeline, %s, %s %q vs Zeek's %q", k.mode, k.file, k.field, k.ours, k.zeek)
		}
	}
}

func ratio(ok, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", ok, n)
}
