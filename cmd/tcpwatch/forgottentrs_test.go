package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// transitionsOf returns every transition of the records the report holds,
// and those told of connections forgotten beyond MaxKept, sorted.
func transitionsOf(t *testing.T, file string, cfg tracker.Config) (all []tracker.Transition, records, forgotten int) {
	cfg.FrozenTransitions = true
	cfg.OnForgotten = func(tr tracker.Transition) { all = append(all, tr); forgotten++ }
	tr := tracker.New(cfg)
	feedFile(t, tr, file)
	tr.Finish()
	for _, r := range tr.Records() {
		all = append(all, r.Transitions()...)
		records++
	}
	slices.SortFunc(all, func(a, b tracker.Transition) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Side, b.Side), cmp.Compare(a.From, b.From),
			cmp.Compare(a.To, b.To), cmp.Compare(a.Packet, b.Packet), cmp.Compare(a.Why, b.Why))
	})
	return all, records, forgotten
}

// TestForgottenConnectionsTellTheirTransitions: with --keep small, the
// transitions of the connections kept plus those told of the connections
// forgotten (OnForgotten, which the HTML report's state charts count) are
// the transitions of every connection kept with --keep unbound: before
// each was forgotten and after (TIME_WAITs that end later, within the
// capture with a short MSL), whole or frozen.
func TestForgottenConnectionsTellTheirTransitions(t *testing.T) {
	mix := synth.Config{Seed: 11, Conns: 3000, Concurrency: 200, Interval: 200 * time.Microsecond,
		Flood: 500, FloodTarget: netip.MustParseAddrPort("198.18.0.9:80"),
		Mix: synth.Mix{IPv6: 0.1, Aborted: 0.05, Refused: 0.05, Retransmit: 0.05, MaxRounds: 3, Midstream: 0.3}}
	file := synthCapture(t, mix)
	for _, c := range []struct {
		name string
		cfg  tracker.Config
	}{
		{"whole, MSL 30s", tracker.Config{MaxKept: 300, MaxFull: 1 << 20}},
		{"frozen, MSL 30s", tracker.Config{MaxKept: 300, MaxFull: 1}},
		{"whole, MSL 20ms", tracker.Config{MaxKept: 300, MaxFull: 1 << 20, MSL: 20 * time.Millisecond}},
		{"frozen, MSL 20ms", tracker.Config{MaxKept: 300, MaxFull: 1, MSL: 20 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			unbound := c.cfg
			unbound.MaxKept, unbound.MaxFull = 1<<20, 1<<20
			want, n, _ := transitionsOf(t, file, unbound)
			got, kept, told := transitionsOf(t, file, c.cfg)
			t.Logf("%d transitions of %d connections; %d kept, %d transitions told of the forgotten", len(want), n, kept, told)
			if kept >= n || told == 0 {
				t.Fatalf("nothing was forgotten")
			}
			if len(got) != len(want) {
				t.Errorf("%d transitions, want %d", len(got), len(want))
			}
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("transition %d: %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// chartTop returns the top of the HTML report's first state chart (the
// clients'): the most connections in a state other than CLOSED at once.
func chartTop(t *testing.T, page []byte) int {
	t.Helper()
	m := regexp.MustCompile(`data-side="client"[^\n]*\n(?:[^\n]*\n){2}\s*<text x="50" y="32" text-anchor="end">(\d+)</text>`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no client state chart in the page")
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHTMLChartsCountForgottenConnections: the HTML report's state charts
// count the connections forgotten beyond --keep too (they showed only the
// last ones kept: a capture whose TIME_WAITs pile up drew a tenth of them).
func TestHTMLChartsCountForgottenConnections(t *testing.T) {
	file := synthCapture(t, synth.Config{Seed: 11, Conns: 3000, Concurrency: 200, Interval: 200 * time.Microsecond,
		Mix: synth.Mix{Aborted: 0.05, Refused: 0.05, MaxRounds: 3}})
	dir := t.TempDir()
	top := map[string]int{}
	for _, keep := range []string{"300", "1000000"} {
		page := filepath.Join(dir, keep+".html")
		var stderr bytes.Buffer
		if code := tcpwatch([]string{"-r", file, "--keep", keep, "--html", page}, io.Discard, &stderr); code != 0 {
			t.Fatalf("--keep %s: exit %d: %s", keep, code, stderr.String())
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		top[keep] = chartTop(t, b)
	}
	t.Logf("chart tops: %v", top)
	if d := top["300"] - top["1000000"]; d*100 > top["1000000"] || -d*100 > top["1000000"] {
		t.Errorf("--keep 300: chart top %d; --keep 1000000: %d", top["300"], top["1000000"])
	}
}

// TestServicesCountForgottenConnections: the rollup's services count the
// connections forgotten beyond --keep too, in the states the summary
// counts them in, and their findings: the services add up to the summary
// whatever --keep (they counted only the connections kept).
func TestServicesCountForgottenConnections(t *testing.T) {
	file := synthCapture(t, synth.Config{Seed: 11, Conns: 3000, Concurrency: 200, Interval: 200 * time.Microsecond,
		Mix: synth.Mix{Aborted: 0.05, Refused: 0.05, MaxRounds: 3}})
	byKeep := map[int]string{}
	for _, keep := range []int{300, 1 << 20} {
		tr := tracker.New(tracker.Config{MaxKept: keep})
		feedFile(t, tr, file)
		tr.Finish()
		rep := report.Build(report.Input{Files: []string{file}}, tr, report.Options{})
		ru := report.RollupOf(rep)
		var conns uint64
		var client, server [16]uint64
		findings := map[tracker.Kind]int{}
		for _, sv := range ru.Services {
			conns += sv.Connections
			for st := range client {
				client[st] += sv.ClientStates[st]
				server[st] += sv.ServerStates[st]
			}
			for k, n := range sv.Findings {
				if n > 0 {
					findings[tracker.Kind(k)] += n
				}
			}
		}
		if conns != uint64(rep.Summary.Connections) {
			t.Errorf("--keep %d: the services hold %d connections, the summary %d", keep, conns, rep.Summary.Connections)
		}
		for st, n := range rep.Summary.States.Client {
			if client[st] != n || server[st] != rep.Summary.States.Server[st] {
				t.Errorf("--keep %d: %v: services %d/%d, summary %d/%d", keep, st, client[st], server[st], n, rep.Summary.States.Server[st])
			}
		}
		byKeep[keep] = fmt.Sprint(conns, client, server, findings)
	}
	t.Logf("%v", byKeep)
	if byKeep[300] != byKeep[1<<20] {
		t.Errorf("--keep 300: %s\nunbound:    %s", byKeep[300], byKeep[1<<20])
	}
}
