package report

import (
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestTimeFormatsAreTcpdumps: each -t flag count prints a time as tcpdump
// prints it with as many -t.
func TestTimeFormatsAreTcpdumps(t *testing.T) {
	times := []Time{after(25 * time.Microsecond), after(90*time.Minute + 1500*time.Millisecond)}
	for _, tc := range []struct {
		ts   int
		want [2]string
	}{
		{0, [2]string{"07:34:30.142120", "09:04:31.642095"}},
		{1, [2]string{"", ""}},
		{2, [2]string{"1795246470.142120", "1795251871.642095"}},
		{3, [2]string{"00:00:00.000000", "01:30:01.499975"}},
		{4, [2]string{"2026-11-21 07:34:30.142120", "2026-11-21 09:04:31.642095"}},
		{5, [2]string{"00:00:00.000025", "01:30:01.500000"}},
		{9, [2]string{"00:00:00.000025", "01:30:01.500000"}},
	} {
		p := &printer{times: TimeFormatOf(tc.ts), first: t0}
		for i, at := range times {
			if got := p.clock(at); got != tc.want[i] {
				t.Errorf("%d× -t, time %d: %q, want %q", tc.ts, i, got, tc.want[i])
			}
		}
	}
}

// TestFindingsByKindUnderTttAreSinceTheFirstPacket: the rollup's findings,
// listed by kind rather than in time order, print under -ttt the time
// since the first packet, as -ttttt does: the time since the one printed
// before would go back and forth (and below zero).
func TestFindingsByKindUnderTttAreSinceTheFirstPacket(t *testing.T) {
	gs := []KindGroup{
		{Kind: tracker.SynFlood, Count: 1, Listed: 1, First: after(4 * time.Second), Last: after(4 * time.Second),
			Examples: []Anomaly{{Kind: tracker.SynFlood, Time: after(4 * time.Second), Detail: "a flood"}}},
		{Kind: tracker.Reset, Count: 2, Listed: 2, First: after(time.Second), Last: after(3 * time.Second)},
	}
	print := func(tf TimeFormat) string {
		var b strings.Builder
		p := &printer{w: &b, times: tf, first: t0}
		p.kindGroups(gs, 3, nil)
		return b.String()
	}
	got, want := print(DeltaTime), print(SinceFirst)
	if got != want {
		t.Errorf("-ttt:\n%s\nwant, as -ttttt:\n%s", got, want)
	}
	if !strings.Contains(got, "00:00:01.000000") || strings.Contains(got, "-00:") {
		t.Errorf("-ttt: the reset's first is not 1 s after the first packet:\n%s", got)
	}
}

// TestEpochClockBefore1970: a time before 1970 (a capture's clock set
// wrong, or a timestamp read as negative) prints with a minus sign, as a
// number Zeek's tools read: not 0.-00001.
func TestEpochClockBefore1970(t *testing.T) {
	for _, tc := range []struct {
		t    Time
		want string
	}{
		{0, "0.000000"},
		{-1000, "-0.000001"},
		{-1_500_000_000, "-1.500000"},
		{1_795_246_470_142_120_000, "1795246470.142120"},
	} {
		if got := epochClock(tc.t); got != tc.want {
			t.Errorf("epochClock(%d) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
