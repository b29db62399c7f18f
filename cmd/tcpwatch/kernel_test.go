package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/degrade"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// kernelRow is one line of a recording's .states file: the states the Linux
// kernel reported (ss -tan in both namespaces) when the capture stopped.
type kernelRow struct {
	client, server netip.AddrPort
	clientState    tracker.State
	serverState    tracker.State
}

func readStates(t *testing.T, path string) []kernelRow {
	t.Helper()
	rows, err := degrade.ReadStates(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]kernelRow, len(rows))
	for i, r := range rows {
		out[i] = kernelRow{r.Client, r.Server, r.State[tracker.Client], r.State[tracker.Server]}
	}
	return out
}

// TestKernelStates runs tcpwatch on every recorded capture (testdata/pcaps
// and the holdout set, testdata/holdout) and checks that
// both sides of every connection end in the state the kernel reported.
func TestKernelStates(t *testing.T) {
	states, err := filepath.Glob("../../testdata/pcaps/*.states")
	if err != nil {
		t.Fatal(err)
	}
	holdout, err := filepath.Glob("../../testdata/holdout/*.states")
	if err != nil {
		t.Fatal(err)
	}
	states = append(states, holdout...)
	if len(states) == 0 {
		t.Fatal("no recordings in testdata/pcaps")
	}
	for _, sf := range states {
		name := strings.TrimSuffix(filepath.Base(sf), ".states")
		t.Run(name, func(t *testing.T) {
			checkKernelStates(t, sf, strings.TrimSuffix(sf, ".states")+".pcap")
		})
	}
}

// checkKernelStates runs tcpwatch on a recording and checks every
// connection's states against the kernel's in its .states file.
//
// A SYN flood's half-open connections (the kernel: client CLOSED, server
// SYN_RCVD, the server a target of a syn_flood finding) are summarized in
// the finding, not listed: each such kernel row that tcpwatch does not list
// must be counted in the input's evicted.syn_flood, and no other.
func checkKernelStates(t *testing.T, statesFile, pcap string) {
	t.Helper()
	errorf := t.Errorf
	want := readStates(t, statesFile)
	rep := runJSON(t, "-r", pcap, "-v")
	flooded := map[netip.AddrPort]bool{}
	for _, a := range rep.Anomalies {
		if a.Kind == tracker.SynFlood {
			flooded[a.Target] = true
		}
	}
	used := make([]bool, len(rep.Connections))
	summarized := 0
	for _, w := range want {
		i := match(rep.Connections, used, w)
		if i < 0 && flooded[w.server] && w.clientState == tracker.Closed && w.serverState == tracker.SynRcvd {
			summarized++
			continue
		}
		if i < 0 {
			errorf("%s → %s: no such connection in tcpwatch's output", w.client, w.server)
			continue
		}
		used[i] = true
		c := rep.Connections[i]
		if c.ClientState != w.clientState || c.ServerState != w.serverState {
			errorf("%s → %s: tcpwatch says client %s, server %s; the kernel says client %s, server %s\n%s",
				w.client, w.server, c.ClientState, c.ServerState, w.clientState, w.serverState, transitions(c))
		}
	}
	if n := len(want) - summarized; len(rep.Connections) != n {
		t.Errorf("tcpwatch lists %d connections, the kernel %d (and %d half-open under a SYN flood)", len(rep.Connections), n, summarized)
	}
	if got := rep.Input.Evicted.SynFlood; got != uint64(summarized) {
		t.Errorf("tcpwatch counts %d connections summarized under a SYN flood; the kernel held %d half-open ones that tcpwatch does not list",
			got, summarized)
	}
}

// match finds the first unused connection between the row's endpoints.
func match(conns []report.Connection, used []bool, w kernelRow) int {
	for i, c := range conns {
		if !used[i] && c.Client == w.client && c.Server == w.server {
			return i
		}
	}
	return -1
}

func transitions(c report.Connection) string {
	var b strings.Builder
	for _, t := range c.TransitionList() {
		fmt.Fprintf(&b, "    pkt %d %s %s → %s (%s)\n", t.Packet, t.Side, t.From, t.To, t.Why)
	}
	return b.String()
}

// runJSON runs tcpwatch with --format json and decodes its report.
func runJSON(t *testing.T, args ...string) *report.Report {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append(args, "-F", "json"), &out, &errb)
	if code != 0 {
		t.Fatalf("tcpwatch %v: exit %d: %s", args, code, errb.String())
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("tcpwatch %v: output is not JSON: %v", args, err)
	}
	return &rep
}
