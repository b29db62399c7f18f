package report

import (
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestTableGroupsDigits: counts in the table have thousands separators,
// the findings' total too.
func TestTableGroupsDigits(t *testing.T) {
	r := sampleReport(false)
	r.Anomalies = nil
	for i := range 1200 {
		r.Anomalies = append(r.Anomalies, Anomaly{Kind: tracker.Reset, Connection: 3, Side: SideOf(tracker.Server),
			Target: ap("198.18.0.2:9"), Time: after(time.Duration(i) * time.Millisecond), Detail: "reset"})
	}
	r.Summary.Anomalies = map[tracker.Kind]int{tracker.Reset: 1200}
	if out := string(printed(t, r, Table, PrintOptions{})); !strings.Contains(out, "\nAnomalies: 1,200\n") {
		t.Errorf("want \"Anomalies: 1,200\":\n%s", out)
	}
}

// TestHeaderDatesBothEndsAcrossDays: a capture over midnight shows the
// end's date, and no negative duration when its last packet is older
// than its first.
func TestHeaderDatesBothEndsAcrossDays(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		last Time
		want string
	}{
		{after(day - time.Minute), "2026-11-21 07:34:30.142095 → 2026-11-22 07:33:30.142095 UTC (23h59m0s)"},
		{after(time.Minute), "2026-11-21 07:34:30.142095 → 07:35:30.142095 UTC (1m0s)"},
		{after(-time.Minute), "2026-11-21 07:34:30.142095 → 2026-11-21 07:33:30.142095 UTC (the last packet is older than the first: packets out of time order)"},
	} {
		r := emptyReport()
		r.Input.FirstPacket, r.Input.LastPacket = t0, tc.last
		if out := string(printed(t, r, Table, PrintOptions{})); !strings.Contains(out, tc.want) {
			t.Errorf("header:\n%s\nwant %q", out, tc.want)
		}
	}
}
