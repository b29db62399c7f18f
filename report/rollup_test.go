package report

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// conn is a connection to server with the given final states and kinds,
// its last packet d after t0.
func conn(id uint64, server string, cs, ss tracker.State, d time.Duration, kinds ...tracker.Kind) Connection {
	return Connection{ID: id, Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(id >> 8), byte(id)}), 40000),
		Server: ap(server), ClientState: cs, ServerState: ss, FirstPacket: t0, LastPacket: after(d),
		ConnState: "S1", Anomalies: append([]tracker.Kind{}, kinds...)}
}

func TestRollupOrdersServicesWorstFirst(t *testing.T) {
	est := tracker.Established
	r := &Report{Input: Input{LastPacket: after(time.Hour)}, Connections: []Connection{
		conn(1, "198.18.0.1:80", est, est, 0),
		conn(2, "198.18.0.1:80", est, est, 0),
		conn(3, "198.18.0.2:80", est, est, 0, tracker.Reset),
		conn(4, "198.18.0.2:80", est, est, 0, tracker.Reset),
		conn(5, "198.18.0.3:80", est, est, 0, tracker.ZeroWindow),
		conn(6, "198.18.0.4:80", est, est, 0, tracker.HalfOpen),
		conn(7, "198.18.0.4:80", est, est, 0, tracker.HalfOpen),
		conn(8, "198.18.0.5:80", tracker.FinWait2, tracker.CloseWait, 0), // still open: counts as an info
		conn(9, "198.18.0.5:80", tracker.FinWait2, tracker.CloseWait, 0),
		conn(10, "198.18.0.5:80", tracker.FinWait2, tracker.CloseWait, 0),
	}, Anomalies: []Anomaly{{Kind: tracker.SynFlood, Target: ap("198.18.0.9:443"), Time: t0}}}
	for i := range r.Connections[:7] { // the others closed
		r.Connections[i].ClientState, r.Connections[i].ServerState = tracker.TimeWait, tracker.Closed
	}
	r.Summary.Anomalies = map[tracker.Kind]int{tracker.SynFlood: 1}
	var got []string
	for _, sv := range rollupOf(r).Services {
		got = append(got, sv.Server.String())
	}
	// A flood's target (no connection listed), then most warnings, then
	// infos and open connections, then most connections.
	want := []string{"198.18.0.9:443", "198.18.0.4:80", "198.18.0.3:80", "198.18.0.5:80", "198.18.0.2:80", "198.18.0.1:80"}
	if !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
}

func TestRollupTopBySeverityThenTimeStuck(t *testing.T) {
	cl, est, cw, fw2 := tracker.Closed, tracker.Established, tracker.CloseWait, tracker.FinWait2
	r := &Report{Input: Input{LastPacket: after(time.Hour)}, Connections: []Connection{
		conn(1, "198.18.0.1:80", tracker.TimeWait, cl, time.Minute), // clean: never listed
		conn(2, "198.18.0.1:80", cl, cl, time.Minute, tracker.Reset),
		conn(3, "198.18.0.1:80", fw2, cw, 50*time.Minute, tracker.CloseWaitStuck),
		conn(4, "198.18.0.1:80", fw2, cw, 10*time.Minute, tracker.CloseWaitStuck),
		conn(5, "198.18.0.1:80", est, est, 30*time.Minute), // open, no finding: idle 30 min
		conn(6, "198.18.0.1:80", est, est, 59*time.Minute),
	}}
	r.Connections[0].ConnState = ConnSF
	ru := rollupOf(r)
	var got []uint64
	for _, c := range ru.Top {
		got = append(got, c.ID)
	}
	if want := []uint64{4, 3, 5, 6, 2}; !slices.Equal(got, want) || ru.Candidates != 5 {
		t.Errorf("top %v of %d, want %v of 5", got, ru.Candidates, want)
	}
}

// TestRollupCountsFindingsNotListed: a kind's count is the summary's,
// also past the listing cap; its first and last times and top services
// come from the findings listed.
func TestRollupCountsFindingsNotListed(t *testing.T) {
	r := &Report{Summary: Summary{Anomalies: map[tracker.Kind]int{tracker.Reset: 50000, tracker.HalfOpen: 2}}}
	for i := range 5 {
		server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + i%4)}), 80)
		r.Anomalies = append(r.Anomalies, Anomaly{Kind: tracker.Reset, Connection: uint64(i + 1),
			Target: server, Time: after(time.Duration(i) * time.Second)})
		r.Connections = append(r.Connections, conn(uint64(i+1), server.String(), tracker.Closed, tracker.Closed, 0, tracker.Reset))
	}
	ru := rollupOf(r)
	if len(ru.Kinds) != 2 || ru.Kinds[0].Kind != tracker.HalfOpen || ru.Kinds[0].Listed != 0 {
		t.Fatalf("kinds %+v; want half_open (warning, none listed) first", ru.Kinds)
	}
	g := ru.Kinds[1]
	if g.Count != 50000 || g.Listed != 5 || g.First != t0 || g.Last != after(4*time.Second) ||
		len(g.Targets) != MaxTargets || g.Targets[0] != (TargetCount{ap("198.18.0.1:80"), 2}) || g.MoreTargets != 1 ||
		len(g.Examples) != MaxExamples {
		t.Errorf("reset group %+v", g)
	}
	var b bytes.Buffer
	p := &printer{w: &b}
	p.kindGroups(ru.Kinds, r.Summary.AnomalyTotal(), nil)
	if out := b.String(); !strings.Contains(out, "Findings: 50,002 of 2 kinds, worst first (first and last of the 5 listed)") ||
		!strings.Contains(out, "half_open (2)\n") || strings.Contains(out, "reset (") {
		t.Errorf("printed:\n%s\nwant the totals, examples of half_open, none of reset (info)", out)
	}
}

// TestRollupListsSayHowManyMore: every list cut at its size ends with how
// many it left out.
func TestRollupListsSayHowManyMore(t *testing.T) {
	r := &Report{Input: Input{LastPacket: after(time.Hour)}}
	for i := range 100 {
		r.Connections = append(r.Connections, conn(uint64(i+1),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), 80).String(),
			tracker.FinWait2, tracker.CloseWait, time.Minute, tracker.CloseWaitStuck))
		r.Anomalies = append(r.Anomalies, Anomaly{Kind: tracker.CloseWaitStuck, Connection: uint64(i + 1), Time: t0, Target: r.Connections[i].Server})
	}
	r.Summary.Connections = 100
	r.Summary.Anomalies = map[tracker.Kind]int{tracker.CloseWaitStuck: 100}
	out := string(printed(t, r, Table, PrintOptions{}))
	for _, want := range []string{"\n85 more services: --all\n", "\n97 more: --all\n", "\n80 more connections: --all\n", ", 97 more │"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if all := string(printed(t, r, Table, PrintOptions{All: true})); strings.Contains(all, "more") || strings.Count(all, "close_wait_stuck") != 200 {
		t.Errorf("--all: want every connection and finding listed, no \"more\":\n%s", all)
	}
}

// TestInsertTopIsTheFirstNOfASort: on random input, insertTop keeps what a
// full sort would put first.
func TestInsertTopIsTheFirstNOfASort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var all, top []int
		n := 1 + rng.IntN(10)
		for range rng.IntN(50) {
			x := rng.IntN(20)
			all = append(all, x)
			top = insertTop(top, x, n, cmp.Compare[int])
		}
		slices.Sort(all)
		if want := all[:min(n, len(all))]; !slices.Equal(top, want) {
			t.Fatalf("top %v, want %v", top, want)
		}
	}
}

// TestRollupCountsEveryConnectionOnce: on random reports, the services'
// connections and findings add up to the report's, every kind's count is
// the summary's, and Top holds MaxTop of the candidates, or all of them.
func TestRollupCountsEveryConnectionOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	states := tracker.States()
	kinds := tracker.Kinds()
	for range 50 {
		r := &Report{Input: Input{LastPacket: after(time.Hour)}, Summary: Summary{Anomalies: map[tracker.Kind]int{}}}
		withKind := map[tracker.Kind]int{}
		for i := range rng.IntN(300) {
			var ks []tracker.Kind
			for _, k := range kinds[1:] { // syn_flood is target-wide
				if rng.IntN(10) == 0 {
					ks = append(ks, k)
					withKind[k]++
					r.Summary.Anomalies[k]++
				}
			}
			c := conn(uint64(i+1), netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(rng.IntN(20))}), 80).String(),
				states[rng.IntN(len(states))], states[rng.IntN(len(states))], time.Duration(rng.IntN(3600))*time.Second, ks...)
			if rng.IntN(2) == 0 {
				c.ConnState = ConnSF
			}
			r.Connections = append(r.Connections, c)
		}
		ru := rollupOf(r)
		var conns uint64
		found := map[tracker.Kind]int{}
		for _, sv := range ru.Services {
			conns += sv.Connections
			for k, n := range sv.Findings {
				found[tracker.Kind(k)] += n
			}
		}
		candidates := 0
		for i := range r.Connections {
			if c := &r.Connections[i]; len(c.Anomalies) > 0 || !cleanlyClosed(c) {
				candidates++
			}
		}
		if conns != uint64(len(r.Connections)) || ru.Candidates != candidates || len(ru.Top) != min(MaxTop, candidates) {
			t.Fatalf("services hold %d of %d connections; %d candidates (want %d), %d on top", conns, len(r.Connections), ru.Candidates, candidates, len(ru.Top))
		}
		for _, k := range kinds {
			if found[k] != withKind[k] {
				t.Errorf("%v: %d in the services, %d connections have it", k, found[k], withKind[k])
			}
		}
		for _, g := range ru.Kinds {
			if g.Count != r.Summary.Anomalies[g.Kind] {
				t.Errorf("%v: count %d, summary %d", g.Kind, g.Count, r.Summary.Anomalies[g.Kind])
			}
		}
		if len(ru.Kinds) != len(r.Summary.Anomalies) {
			t.Errorf("%d kinds grouped, %d in the summary", len(ru.Kinds), len(r.Summary.Anomalies))
		}
	}
}

// TestRollupSaysWhoseFindingsThereAre: with every connection closed
// cleanly, a rollup says there is no finding, or, when there are findings
// about a target only (a flood), that no connection has one of its own.
func TestRollupSaysWhoseFindingsThereAre(t *testing.T) {
	for _, tc := range []struct {
		kinds []KindGroup
		want  string
	}{
		{nil, "Every connection closed cleanly, with no finding.\n"},
		{[]KindGroup{{Kind: tracker.SynFlood, Count: 1}}, "Every connection closed cleanly, with no finding of its own.\n"},
	} {
		var b strings.Builder
		(&printer{w: &b}).topConnections(&Rollup{Kinds: tc.kinds})
		if !strings.HasSuffix(b.String(), tc.want) {
			t.Errorf("%d kinds: %q, want %q", len(tc.kinds), b.String(), tc.want)
		}
	}
}

// TestWrapTextKeepsWordsAndWidth: wrapped text has the same words in the
// same order, no line wider than asked but for a word that is, and each
// line after the first indented.
func TestWrapTextKeepsWordsAndWidth(t *testing.T) {
	s := "198.18.0.2:8080 received 1,806 SYNs that never completed the handshake from about 1,806 sources over 10d1h52m44s (0.0/s; 250 in its busiest second); an-unbreakable-word-longer-than-the-width-of-the-line; µs → ok"
	for _, width := range []int{20, 37, 80, 1000} {
		got := wrapText(s, width, "    ")
		lines := strings.Split(got, "\n")
		for i, l := range lines {
			if i > 0 && !strings.HasPrefix(l, "    ") {
				t.Errorf("width %d: line %d %q not indented", width, i+1, l)
			}
			if body := strings.TrimPrefix(l, "    "); utf8.RuneCountInString(body) > width && strings.Contains(body, " ") {
				t.Errorf("width %d: line %d is %d wide: %q", width, i+1, utf8.RuneCountInString(body), body)
			}
		}
		if strings.Join(strings.Fields(got), " ") != s {
			t.Errorf("width %d: words changed:\n%s", width, got)
		}
	}
}
