package report

import (
	"testing"
	"time"
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
