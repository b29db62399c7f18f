package tracker

import (
	"fmt"
	"testing"
	"time"
)

// review3Pair is the build-up pair of steppedConn's client 198.18.0.7.
var review3Pair = twKey{host: AddrFrom4([4]byte{198, 18, 0, 7}), addr: target, port: 80}

func buildupCount(tr *Tracker) int {
	if p := tr.tw.pairs[review3Pair]; p != nil {
		return p.count
	}
	return 0
}

// TestMidstreamForgottenFINAgainLeavesNothingCounted: a mid-stream connection
// (never in the build-up count) forgotten while its client is in TIME_WAIT;
// the client sends its FIN again (TIME_WAIT -> CLOSING) and the server ACKs
// it (CLOSING -> TIME_WAIT). Nothing enters the count, whole, frozen or
// forgotten, and nothing is left in it once every TIME_WAIT ended (the
// forgotten one's step back once entered it, and its timer, not counted,
// never left it).
func TestMidstreamForgottenFINAgainLeavesNothingCounted(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	run := func(kept, full int) string {
		cfg := Config{MaxKept: kept, MaxFull: full}
		cfg.OnFrozenTransition = func(*Record, Transition) {}
		tr := New(cfg)
		now := start
		seg := steppedConn(tr, &now, review3Pair.host, 40000)
		seg(true, ACK, 101, 901) // mid-stream
		activeClose(seg)
		mid := tr.conns[0].Midstream
		now = shortConns(tr, now, 6, 0) // others: conn 1 forgotten (or frozen)
		seg(true, FIN|ACK, 101, 901)    // client's FIN again: TIME_WAIT -> CLOSING
		seg(false, ACK, 902, 102)       // its ACK: CLOSING -> TIME_WAIT
		after := buildupCount(tr)
		tr.Advance(now + 3*tr.twLen)
		return fmt.Sprintf("midstream %v forgotten %d frozen %d: count after FIN again+ACK %d, after 3x2MSL %d", mid, tr.Evicted().Forgotten, tr.Frozen(), after, buildupCount(tr))
	}
	whole := run(1<<20, 1<<20)
	frozen := run(1<<20, 1)
	forgotten := run(1, 1<<20)
	t.Logf("\nwhole:     %s\nfrozen:    %s\nforgotten: %s", whole, frozen, forgotten)
	if review := forgotten[len(forgotten)-1]; review != '0' {
		t.Errorf("forgotten mid-stream connection left %c TIME_WAIT(s) counted after every TIME_WAIT ended", review)
	}
}

// TestEvictedForgottenConnectionLeavesTheBuildupCount: with the table of compact
// records full (MaxConns 1: 10 records), the oldest are evicted. A whole
// or frozen connection evicted leaves the build-up count at once
// (retire; evictParked's frozen branch), and so does a forgotten one: the
// count, its peak and the finding do not depend on --keep (a forgotten one
// stayed counted until its record's expiry).
func TestEvictedForgottenConnectionLeavesTheBuildupCount(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	pair := twKey{host: AddrFrom4([4]byte{198, 18, 0, 1}), addr: target, port: 80}
	var res []string
	for _, kc := range []struct{ kept, full int }{{1 << 20, 1 << 20}, {1 << 20, 1}, {5, 1 << 20}, {5, 1}} {
		tr := New(Config{MaxConns: 1, MaxKept: kc.kept, MaxFull: kc.full, Thresholds: Thresholds{TimeWaitLimit: 20}})
		shortConns(tr, start, 30, 0)
		p := tr.tw.pairs[pair]
		res = append(res, fmt.Sprintf("count %d, peak %d, findings %d", p.count, p.peak, len(tr.Anomalies())))
		t.Logf("kept %7d full %7d: forgotten %2d, frozen %2d, evicted %2d: %s", kc.kept, kc.full, tr.Evicted().Forgotten, tr.Frozen(), tr.Evicted().TimeWait, res[len(res)-1])
	}
	for i := 1; i < len(res); i++ {
		if res[i] != res[0] {
			t.Errorf("case %d: %s; kept whole: %s", i, res[i], res[0])
		}
	}
}
