package tracker

import (
	"testing"
	"time"
)

// TestOpenCountsOnlyConnectionsNotEnded: a connection that ended and waits
// out TIME_WAIT is held (Active) but no longer open (Open), which the live
// stats and the connections_active gauge report.
func TestOpenCountsOnlyConnectionsNotEnded(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{})
	now := shortConns(tr, start, 3, 0)
	closeConn(tr, now, 45000, 80, false) // the server stays in LAST_ACK: open
	if open, active := tr.Open(), tr.Active(); open != 1 || active != 4 {
		t.Errorf("Open %d, Active %d; want 1 open of 4 held", open, active)
	}
}
