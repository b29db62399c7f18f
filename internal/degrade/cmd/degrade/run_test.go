package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/degrade"
)

const recordings = "../../../../testdata/pcaps/"

// TestWritesWhatThePlanKeeps: the file written holds exactly the packets
// the same plan keeps, with their segments and times.
func TestWritesWhatThePlanKeeps(t *testing.T) {
	cases := []struct {
		in   string
		args []string
		plan degrade.Plan
	}{
		{"many-short.pcap", []string{"-loss", "0.05", "-seed", "3"}, degrade.Plan{Loss: 0.05, Seed: 3}},
		{"anomalies/bulk.pcap.gz", []string{"-only", "s2c"}, degrade.Plan{Only: degrade.ServerToClient}},
		{"port-reuse.pcap", []string{"-late", "2", "-swap", "0.3"}, degrade.Plan{Late: 2, Swap: 0.3, Seed: 1}},
		{"ipv6.pcap", []string{"-only", "c2s", "-client", "[fd00::1]:48560"}, degrade.Plan{Only: degrade.ClientToServer}},
	}
	for _, c := range cases {
		t.Run(c.in+" "+strings.Join(c.args, " "), func(t *testing.T) {
			in := recordings + c.in
			out := filepath.Join(t.TempDir(), "out.pcap")
			var stderr bytes.Buffer
			if code := run(append([]string{"-r", in, "-w", out}, c.args...), &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			pkts, err := degrade.Load(in)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := degrade.ReadStates(statesBeside(in))
			if err != nil {
				t.Fatal(err)
			}
			want := c.plan.Apply(pkts, degrade.RolesOf(rows))
			got, err := degrade.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || len(want) == len(pkts) {
				t.Fatalf("wrote %d packets, the plan keeps %d of %d", len(got), len(want), len(pkts))
			}
			for i := range got {
				if !samePacket(&got[i], &want[i]) {
					t.Fatalf("packet %d: wrote %+v, want %+v", i+1, got[i].Seg, want[i].Seg)
				}
			}
		})
	}
}

func samePacket(a, b *capture.Packet) bool {
	if a.Time != b.Time || a.Kind != b.Kind {
		return false
	}
	sa, sb := a.Seg, b.Seg
	sa.Packet, sb.Packet = 0, 0
	return a.Kind != capture.TCP || sa == sb
}

func TestUsageErrors(t *testing.T) {
	in := recordings + "refused.pcap"
	out := filepath.Join(t.TempDir(), "out.pcap")
	for _, args := range [][]string{
		{},
		{"-r", in},
		{"-r", in, "-w", out, "-loss", "2"},
		{"-r", in, "-w", out, "-only", "up"},
		{"-r", in, "-w", out, "-client", "198.18.0.1"},
		{"-r", in, "-w", out, "-only", "c2s", "-client", "nowhere"},
		{"-r", recordings + "nope.pcap", "-w", out},
		{"-r", in, "-w", out, "stray"},
	} {
		var stderr bytes.Buffer
		code := run(args, &stderr)
		msg := stderr.String()
		if code != 2 || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "degrade: ") {
			t.Errorf("degrade %v: exit %d, stderr %q; want 2 and one line", args, code, msg)
		}
	}
}
