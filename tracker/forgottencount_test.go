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

// TestForgottenMidstreamConnectionTakesNoNeighbourOutOfTheCount: a
// mid-stream connection (never in the build-up count) ends with its client
// in TIME_WAIT, then a neighbour of the same client and service, counted.
// Both are forgotten (or frozen, or kept whole). The mid-stream one's
// compact record then goes: a new SYN takes over its 4-tuple, or the full
// table of compact records evicts it. The neighbour is still counted in
// every case (a forgotten record was taken for counted, and took the
// neighbour's TIME_WAIT out of the pair's count).
func TestForgottenMidstreamConnectionTakesNoNeighbourOutOfTheCount(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	endings := map[string]func(tr *Tracker, now int64, seg func(bool, Flags, uint32, uint32)){
		"taken over by a SYN": func(_ *Tracker, _ int64, seg func(bool, Flags, uint32, uint32)) {
			seg(true, SYN, 5000, 0)
		},
		"evicted from the full table": func(tr *Tracker, now int64, _ func(bool, Flags, uint32, uint32)) {
			shortConns(tr, now, 8, 0) // 11 compact records, room for 10: the oldest goes
		},
	}
	for name, end := range endings {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, kc := range []struct{ kept, full int }{{1 << 20, 1 << 20}, {1 << 20, 1}, {1, 1 << 20}} {
				tr := New(Config{MaxConns: 1, MaxKept: kc.kept, MaxFull: kc.full})
				now := start
				mid := steppedConn(tr, &now, review3Pair.host, 40000)
				mid(true, ACK, 101, 901) // mid-stream
				activeClose(mid)
				nb := steppedConn(tr, &now, review3Pair.host, 40001)
				openStepped(nb)
				activeClose(nb)
				now = shortConnsFrom(tr, now, 1, 50000) // another client's: the two are forgotten (or frozen)
				before := buildupCount(tr)
				end(tr, now, mid)
				got = append(got, fmt.Sprintf("count %d before, %d after (forgotten %d, frozen %d, evicted %d)",
					before, buildupCount(tr), tr.Evicted().Forgotten, tr.Frozen(), tr.Evicted().TimeWait))
			}
			t.Logf("\nwhole:     %s\nfrozen:    %s\nforgotten: %s", got[0], got[1], got[2])
			for i, want := 1, "count 1 before, 1 after"; i < len(got); i++ {
				if got[i][:len(want)] != want || got[0][:len(want)] != want {
					t.Errorf("want %q in every case", want)
					break
				}
			}
		})
	}
}

// TestClientBackInClosingWhenForgottenIsNotCounted: a client frozen in
// TIME_WAIT sends its FIN again (CLOSING: it leaves the build-up count),
// is forgotten, and the server's ACK takes it back to TIME_WAIT (a
// forgotten one's step leaves the count as it was). When that TIME_WAIT
// ends, it takes nothing out of the count: a neighbour of the same client
// and service still in TIME_WAIT stays counted.
func TestClientBackInClosingWhenForgottenIsNotCounted(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{MaxKept: 3, MaxFull: 1})
	now := start
	a := steppedConn(tr, &now, review3Pair.host, 40000)
	openStepped(a)
	activeClose(a)
	now = shortConnsFrom(tr, now+int64(6*time.Second), 2, 50000) // a is frozen
	now += int64(6 * time.Second)
	a(true, FIN|ACK, 101, 901) // FIN again: TIME_WAIT -> CLOSING
	frozen := tr.Frozen()
	now = shortConnsFrom(tr, now, 4, 51000) // a is forgotten
	a(false, ACK, 902, 102)                 // CLOSING -> TIME_WAIT
	now += int64(2 * time.Second)
	b := steppedConn(tr, &now, review3Pair.host, 40001)
	openStepped(b)
	activeClose(b)
	before := buildupCount(tr)
	tr.Advance(now + tr.twLen - int64(time.Second)) // a's TIME_WAIT ended, b's not
	t.Logf("frozen %d when a sent its FIN again; forgotten %d; count %d before a's TIME_WAIT ended, %d after", frozen, tr.Evicted().Forgotten, before, buildupCount(tr))
	if frozen == 0 || tr.Evicted().Forgotten == 0 {
		t.Fatalf("the test did not freeze and forget a")
	}
	if before != 1 || buildupCount(tr) != 1 {
		t.Errorf("count %d before, %d after: want the neighbour's 1 both times", before, buildupCount(tr))
	}
}
