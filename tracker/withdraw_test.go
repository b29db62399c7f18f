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
