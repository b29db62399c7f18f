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
			checkKernelStates(t, sf, degrade.CaptureOf(strings.TrimSuffix(sf, ".states")))
		})
	}
}

// notOnTheWire are the recordings one of whose sides ends in a state no
// segment shows, with what tcpwatch must say for it instead (the wire's
// state; every other side must be the kernel's):
//   - linger-timeout, zero-window-fin: the client closed with its FIN
//     queued behind data the peer's zero window holds back (the kernel
//     says FIN_WAIT_1, and the FIN never leaves);
//   - keepalive-timeout-silent: the client's RST, after its probes went
//     unanswered, was dropped after the capture point (the server stays
//     ESTABLISHED); a path that passes it looks the same (user-timeout).
//   - defer-accept-no-data: the server (TCP_DEFER_ACCEPT) dropped the
//     handshake's bare ACK and stays in SYN_RCVD, and the capture ended
//     before its SYN-ACK was due again: the wire shows a handshake done;
//   - firewall-reject-midstream: a netfilter rule in the server's
//     namespace, not its socket, answered the client's data with an RST
//     (the socket stays ESTABLISHED): the wire shows the server's RST.
//   - both-bulk-then-close: the client shut down its side with 64 KB
//     still queued, so its socket was in FIN_WAIT_1 (its FIN queued
//     behind the data) when the server's FIN arrived, and the kernel took
//     it through CLOSING to TIME_WAIT; the wire shows its FIN leave after
//     it acknowledged the server's, as one answering it does (LAST_ACK, then
//     CLOSED), and its ACK came at once with more than a segment
//     unacknowledged, as it would in ESTABLISHED.
var notOnTheWire = map[string]struct {
	side  tracker.Side
	state tracker.State
}{
	"linger-timeout":            {tracker.Client, tracker.Established},
	"zero-window-fin":           {tracker.Client, tracker.Established},
	"keepalive-timeout-silent":  {tracker.Server, tracker.Closed},
	"defer-accept-no-data":      {tracker.Server, tracker.Established},
	"firewall-reject-midstream": {tracker.Server, tracker.Closed},
	"both-bulk-then-close":      {tracker.Client, tracker.Closed},
}

// asymmetricTunnels are the recordings whose tunnel has other outer
// endpoints in each direction (close-client-first-over-ipip6: SRv6 sends
// each way to the far end's segment ID, not its address), so that each
// direction is a tunnel context of its own and tcpwatch, by default, a
// connection seen one way in each: they are read with --merge-tunnels.
var asymmetricTunnels = map[string]bool{"close-client-first-over-ipip6": true}

// kernelRun runs tcpwatch -F json on a recording with args, and with
// --merge-tunnels for one of asymmetricTunnels.
func kernelRun(t *testing.T, statesFile string, args ...string) *report.Report {
	t.Helper()
	if asymmetricTunnels[strings.TrimSuffix(filepath.Base(statesFile), ".states")] {
		args = append(args, "--merge-tunnels")
	}
	return runJSON(t, args...)
}

// checkKernelStates runs tcpwatch on a recording and checks every
// connection's states against the kernel's in its .states file.
//
// With --all every connection is listed, a SYN flood's too, and every one
// must have the kernel's states. By default a flood's connections whose
// handshake never completed are summarized in its finding, not listed:
// those listed and those counted in the input's evicted.syn_flood must
// then add up to the kernel's.
func checkKernelStates(t *testing.T, statesFile, pcap string) {
	t.Helper()
	want := readStates(t, statesFile)
	rep := kernelRun(t, statesFile, "-r", pcap, "-v", "--all")
	used := make([]bool, len(rep.Connections))
	for _, w := range want {
		i := match(rep.Connections, used, w)
		if i < 0 {
			t.Errorf("%s → %s: no such connection in tcpwatch's output", w.client, w.server)
			continue
		}
		used[i] = true
		c := rep.Connections[i]
		if o, ok := notOnTheWire[strings.TrimSuffix(filepath.Base(statesFile), ".states")]; ok && o.side == tracker.Client {
			w.clientState = o.state
		} else if ok {
			w.serverState = o.state
		}
		if c.ClientState != w.clientState || c.ServerState != w.serverState {
			t.Errorf("%s → %s: tcpwatch says client %s, server %s; the kernel says client %s, server %s\n%s",
				w.client, w.server, c.ClientState, c.ServerState, w.clientState, w.serverState, transitions(c))
		}
	}
	if len(rep.Connections) != len(want) {
		t.Errorf("tcpwatch --all lists %d connections, the kernel %d", len(rep.Connections), len(want))
	}
	if rep.Input.Evicted.SynFlood != 0 {
		t.Errorf("tcpwatch --all summarizes %d connections under a SYN flood, want none", rep.Input.Evicted.SynFlood)
	}
	def := kernelRun(t, statesFile, "-r", pcap)
	if n := uint64(len(def.Connections)) + def.Input.Evicted.SynFlood; n != uint64(len(want)) {
		t.Errorf("tcpwatch lists %d connections and summarizes %d under a SYN flood; the kernel has %d",
			len(def.Connections), def.Input.Evicted.SynFlood, len(want))
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

// TestTunnelSplitByDirectionIsPointedOut: the SRv6 recording's connection,
// whose directions are two tunnel contexts, is two connections seen one way
// each by default; the input says so (split_by_tunnel, and a note naming
// --merge-tunnels), and with --merge-tunnels it is one connection, and
// nothing is split.
func TestTunnelSplitByDirectionIsPointedOut(t *testing.T) {
	pcap := "../../testdata/pcaps/close-client-first-over-ipip6.pcap"
	for _, tc := range []struct {
		args  []string
		conns int
		split uint64
	}{{nil, 2, 1}, {[]string{"--merge-tunnels"}, 1, 0}} {
		rep := runJSON(t, append([]string{"-r", pcap}, tc.args...)...)
		var split uint64
		if l := rep.Input.CaptureLoss; l != nil {
			split = l.SplitByTunnel
		}
		if len(rep.Connections) != tc.conns || split != tc.split {
			t.Errorf("%v: %d connections, split_by_tunnel %d; want %d, %d", tc.args, len(rep.Connections), split, tc.conns, tc.split)
		}
		_, out, _ := runCLI(append([]string{"-r", pcap}, tc.args...)...)
		if note := strings.Contains(out, "--merge-tunnels makes each pair one connection"); note != (tc.split > 0) {
			t.Errorf("%v: note naming --merge-tunnels printed: %v", tc.args, note)
		}
	}
}
