package degrade

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// finding identifies a warning or critical finding by what it is about,
// not by connection number (a degraded copy numbers connections anew).
type finding struct {
	kind           tracker.Kind
	client, server netip.AddrPort
	side           tracker.Side
}

// findings runs tcpwatch over packets and returns its findings of warning
// severity or worse.
func findings(pkts []capture.Packet) map[finding]bool {
	tr := tracker.New(cliConfig())
	Run(tr, pkts)
	byID := map[uint64]*tracker.Conn{}
	for _, c := range tr.Conns() {
		byID[c.ID] = c
	}
	out := map[finding]bool{}
	for _, a := range tr.Anomalies() {
		c := byID[a.Conn]
		if a.Kind.Severity() < tracker.Warning || c == nil {
			continue
		}
		out[finding{a.Kind, c.Client(), c.Server(), a.Side}] = true
	}
	return out
}

// sameAsAnother names the degraded copies that are, packet for packet, a
// capture of another scenario whose findings they get: no rule can tell
// them apart, so their findings are not counted as spurious.
var sameAsAnother = map[string]string{
	"synack-lost -only c2s":             "the client's SYNs sent again and again, alone, are syn-timeout's capture (the server never answered)",
	"close-in-syn-sent -only s2c":       "a SYN-ACK sent again with no answer seen, alone, is synack-lost's server side for its first 2 s (half-open)",
	"icmpv6-port-unreachable -only c2s": "a SYN sent again, alone (the ICMP errors that answered it unseen), is syn-timeout's capture",
}

// TestFindingsFollowStates: what a degraded copy of a recording reports
// as a problem must be what the whole capture shows, not an artefact of
// the packets the capture missed. Every warning the copy makes that the
// clean recording does not is counted; one direction only makes none, and
// random loss few.
func TestFindingsFollowStates(t *testing.T) {
	limits := []struct {
		label string
		plans []Plan
		max   float64 // spurious findings per degraded copy, over all recordings
	}{
		{"client→server only", []Plan{{Only: ClientToServer}}, 0},
		{"server→client only", []Plan{{Only: ServerToClient}}, 0},
		{"5% lost", seeds(Plan{Loss: 0.05}), 0.03},
		{"first 1–3 packets missing", []Plan{{Late: 1}, {Late: 2}, {Late: 3}}, 0},
	}
	recs := recordings(t, recordingDirs...)
	for _, l := range limits {
		spurious, copies := 0, 0
		var worst string
		for _, r := range recs {
			if _, skip := unscored[r.name]; skip {
				continue
			}
			pkts, err := Load(r.pcap)
			if err != nil {
				t.Fatal(err)
			}
			clean := findings(pkts)
			for _, p := range l.plans {
				if _, same := sameAsAnother[r.name+" "+p.Flags()]; same {
					continue
				}
				copies++
				for f := range findings(p.Apply(pkts, RolesOf(r.rows))) {
					if !clean[f] {
						spurious++
						if testing.Verbose() && spurious <= 200 {
							t.Logf("spurious: %s (degrade %s): %v on %s → %s, %v", r.name, p.Flags(), f.kind, f.client, f.server, f.side)
						}
						worst = fmt.Sprintf("%s (degrade %s): %v on %s → %s, %v", r.name, p.Flags(), f.kind, f.client, f.server, f.side)
					}
				}
			}
		}
		rate := float64(spurious) / float64(copies)
		t.Logf("%-28s %d spurious warnings in %d copies (%.3f per copy)", l.label, spurious, copies, rate)
		if rate > l.max {
			t.Errorf("%s: %.3f spurious warnings per copy, more than %.3f; e.g. %s", l.label, rate, l.max, worst)
		}
	}
}
