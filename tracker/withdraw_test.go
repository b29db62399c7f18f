package tracker

import (
	"slices"
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

// TestFinWait2WhoseACKNeverArrivedIsNoFinding: the client's FIN, the
// server's ACK of it, 100 s of silence (fin_wait_2_stuck is made, the
// server's close_wait_stuck naming it in Also), then the client's FIN
// sent again: the ACK never reached it, so it was never in FIN_WAIT_2.
// Its finding is withdrawn, and neither counted nor named in the server's
// Also at the end.
func TestFinWait2WhoseACKNeverArrivedIsNoFinding(t *testing.T) {
	tr, now, seg := freshStepped()
	open1000(seg)
	seg(true, FIN|ACK, 1001, 5001)
	*now += int64(time.Millisecond)
	seg(false, ACK, 5001, 1002)
	*now += int64(100 * time.Second)
	tr.Advance(*now)
	tr.Sweep() // (as live mode does: the findings are made while it waits)
	if n := tr.AlsoCounts()[FinWait2Stuck]; n != 1 {
		t.Fatalf("fin_wait_2_stuck %d times in Also before the FIN came again, want 1 (the test's premise); counts %v", n, tr.AnomalyCounts())
	}
	seg(true, FIN|ACK, 1001, 5001)
	tr.Finish()
	if st := tr.Records()[0].State(Client); st != FinWait1 {
		t.Fatalf("client %v, want FIN_WAIT_1", st)
	}
	for _, a := range tr.Anomalies() {
		if a.Kind == FinWait2Stuck || slices.Contains(a.Also, FinWait2Stuck) {
			t.Errorf("listed: %v %s (also %v)", a.Kind, a.Detail, a.Also)
		}
	}
	if n := tr.AnomalyCounts()[FinWait2Stuck]; n != 0 {
		t.Errorf("%d fin_wait_2_stuck counted", n)
	}
	if n := tr.AlsoCounts()[FinWait2Stuck]; n != 0 {
		t.Errorf("fin_wait_2_stuck counted %d times in Also", n)
	}
}
