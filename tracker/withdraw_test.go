package tracker

import (
	"testing"
	"time"
)

// TestCloseWaitWhosePeersFINNeverArrivedIsNoFinding: the client's FIN,
// then nothing from the server for 100 s, then the server's FIN, sent
// three times, acknowledging only up to the client's FIN: it never got
// that FIN, so it was never in CLOSE_WAIT (it goes on to FIN_WAIT_1). The
// close_wait_stuck finding made while it seemed stuck is withdrawn: not
// listed, not counted (it said the server's application called close()
// 1m40s late).
func TestCloseWaitWhosePeersFINNeverArrivedIsNoFinding(t *testing.T) {
	tr, now, seg := freshStepped()
	open1000(seg)
	seg(true, FIN|ACK, 1001, 5001)
	for _, gap := range []time.Duration{100 * time.Second, 300 * time.Millisecond, 600 * time.Millisecond} {
		*now += int64(gap)
		seg(false, FIN|ACK, 5001, 1001)
	}
	tr.Finish()
	if st := tr.Records()[0].State(Server); st != FinWait1 {
		t.Fatalf("server %v, want FIN_WAIT_1", st)
	}
	for _, a := range tr.Anomalies() {
		if a.Kind == CloseWaitStuck {
			t.Errorf("listed: %s", a.Detail)
		}
	}
	if n := tr.AnomalyCounts()[CloseWaitStuck]; n != 0 {
		t.Errorf("%d close_wait_stuck counted", n)
	}
}

// TestWithdrawnFindingsSlotIsTakenAgain: with room for one finding, one
// withdrawn leaves its slot to the next one made (it kept the slot, and
// the list showed nothing while two were counted).
func TestWithdrawnFindingsSlotIsTakenAgain(t *testing.T) {
	tr := New(Config{Thresholds: Thresholds{MaxAnomalies: 1}})
	now := int64(1_700_000_000) * int64(time.Second)
	seg := steppedConn(tr, &now, review3Pair.host, 40000)
	open1000(seg)
	seg(true, FIN|ACK, 1001, 5001)
	for _, gap := range []time.Duration{100 * time.Second, 300 * time.Millisecond, 600 * time.Millisecond} {
		now += int64(gap)
		seg(false, FIN|ACK, 5001, 1001) // close_wait_stuck made, then withdrawn
	}
	other := steppedConn(tr, &now, review3Pair.host, 40001)
	open1000(other)
	other(true, FIN|ACK, 1001, 5001)
	other(false, ACK, 5001, 1002) // CLOSE_WAIT for good
	now += int64(200 * time.Second)
	tr.Advance(now)
	tr.Finish()
	counts := tr.AnomalyCounts()
	if len(tr.Anomalies()) != 1 || counts[CloseWaitStuck] != 1 {
		t.Errorf("%d listed, counts %v; want one listed, close_wait_stuck counted once", len(tr.Anomalies()), counts)
	}
}
