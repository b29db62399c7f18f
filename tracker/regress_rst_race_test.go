package tracker

import (
	"testing"
	"time"
)

func TestR3FinRtxThenAbortStuck(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 400 * time.Millisecond},
		step{from: Client, flags: RA, seq: 12, ack: 21, after: 100 * time.Millisecond},
	), 2*time.Minute)
	t.Logf("%v", tr.AnomalyCounts())
	for _, a := range tr.Anomalies() {
		t.Logf("%v %v: %s", a.Kind, a.Side, a.Detail)
	}
}

func TestR3LoneRST(t *testing.T) {
	tr := run(t, Config{}, []step{{from: Client, flags: R, seq: 5}})
	tr.Advance(tr.Now() + int64(61*time.Second))
	if tr.Active() != 0 || len(tr.Conns()) != 1 {
		t.Errorf("active %d conns %d", tr.Active(), len(tr.Conns()))
	}
	tr2 := run(t, Config{}, []step{{from: Client, flags: R, seq: 5}, {from: Client, flags: S, after: time.Second}, {from: Server, flags: SA, ack: 1}, {from: Client, flags: A, seq: 1, ack: 1}})
	tr2.Finish()
	if n := len(tr2.Conns()); n != 2 {
		t.Errorf("%d conns", n)
	}
}
