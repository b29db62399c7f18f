package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// shortConns feeds n connections from one client host to target:80, gap
// apart, each closed by the client first (the client ends in TIME_WAIT).
func shortConns(tr *Tracker, start int64, n int, gap time.Duration) int64 {
	cli := AddrFrom4([4]byte{198, 18, 0, 1})
	now := start
	for i := 0; i < n; i++ {
		sp := uint16(32768 + i%28232)
		c2s := func(f Flags, seq, ack uint32) {
			now += int64(time.Millisecond) / 10
			s := Segment{Time: now, Src: cli, SrcPort: sp, Dst: target, DstPort: 80, Flags: f, Window: 1000, WScale: -1}
			s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
			tr.Observe(&s)
		}
		s2c := func(f Flags, seq, ack uint32) {
			now += int64(time.Millisecond) / 10
			s := Segment{Time: now, Src: target, SrcPort: 80, Dst: cli, DstPort: sp, Flags: f, Window: 1000, WScale: -1}
			s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
			tr.Observe(&s)
		}
		c2s(SYN, 100, 0)
		s2c(SYN|ACK, 900, 101)
		c2s(ACK, 101, 901)
		c2s(FIN|ACK, 101, 901)
		s2c(FIN|ACK, 901, 102)
		c2s(ACK, 102, 902)
		now += int64(gap)
	}
	return now
}

// TestTimeWaitBuildup: one client host holding more TIME_WAITs towards one
// service than the limit is one finding for the service; TIME_WAITs that
// expire (2×MSL) do not pile up.
func TestTimeWaitBuildup(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tests := []struct {
		name      string
		n         int
		gap       time.Duration
		want      bool
		wantCount int // TIME_WAITs held at the end
	}{
		{"above the limit", 120, 0, true, 120},
		{"at the limit", 100, 0, false, 100},
		{"spread over more than 2×MSL: never more than the limit at once", 300, 30 * time.Millisecond, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{MSL: time.Second, Thresholds: Thresholds{TimeWaitLimit: 100}})
			end := shortConns(tr, start, tc.n, tc.gap)
			if tc.gap > 0 {
				end += int64(3 * time.Second) // every TIME_WAIT over
			}
			tr.Advance(end)
			tr.Finish()
			counts := tr.AnomalyCounts()
			if got := counts[TimeWaitBuildup] == 1; got != tc.want || len(counts) > 1 {
				t.Fatalf("findings %v, want time_wait_buildup: %v", counts, tc.want)
			}
			held := 0
			for _, p := range tr.tw.pairs {
				held += p.count
			}
			if held != tc.wantCount {
				t.Errorf("%d TIME_WAITs counted at the end, want %d", held, tc.wantCount)
			}
			if tc.want {
				a := tr.Anomalies()[0]
				if a.Target.String() != "198.18.0.2:80" || a.Conn != 0 || a.Fields["peak"] != tc.n || a.Fields["host"] != "198.18.0.1" {
					t.Errorf("finding %v / %d / %v: %s", a.Target, a.Conn, a.Fields, a.Detail)
				}
			}
		})
	}
}

// TestTimeWaitPairsCapped: the TIME_WAIT counts follow at most
// maxTimeWaitPairs client host and service pairs at once, whatever the
// number of hosts; the rest are counted, not followed.
func TestTimeWaitPairsCapped(t *testing.T) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	n := maxTimeWaitPairs + 100
	for i := 0; i < n; i++ {
		src, sp := source(i), uint16(40000)
		for _, s := range []Segment{
			{Src: src, SrcPort: sp, Dst: target, DstPort: 80, Flags: SYN, Seq: 1},
			{Src: target, SrcPort: 80, Dst: src, DstPort: sp, Flags: SYN | ACK, Seq: 9, Ack: 2},
			{Src: src, SrcPort: sp, Dst: target, DstPort: 80, Flags: FIN | ACK, Seq: 2, Ack: 10},
			{Src: target, SrcPort: 80, Dst: src, DstPort: sp, Flags: FIN | ACK, Seq: 10, Ack: 3},
			{Src: src, SrcPort: sp, Dst: target, DstPort: 80, Flags: ACK, Seq: 3, Ack: 11},
		} {
			now += int64(time.Microsecond)
			s.Time, s.Window, s.WScale = now, 1000, -1
			tr.Observe(&s)
		}
	}
	if got := len(tr.tw.pairs); got != maxTimeWaitPairs {
		t.Errorf("%d pairs followed, want the cap %d", got, maxTimeWaitPairs)
	}
	if tr.tw.untracked != 100 {
		t.Errorf("%d TIME_WAITs beyond the cap counted, want 100", tr.tw.untracked)
	}
}

// TestTimersOfConnectionsLetGoLeave: 20,000 connections opened and closed
// within two seconds through a table of 100, and 100 kept: the timers of
// those let go leave their queues as conns is compacted, so the queues
// hold what is held, not every connection of the last 2×MSL.
func TestTimersOfConnectionsLetGoLeave(t *testing.T) {
	tr := New(Config{MaxConns: 100, MaxKept: 100})
	shortConns(tr, int64(1_700_000_000)*int64(time.Second), 20_000, 0)
	queued := tr.timeWaits.len() + tr.closed.len() + tr.handshakes.len() + tr.embryos.len() + tr.lru.len()
	if held := len(tr.conns); queued > 4*held+8192 {
		t.Errorf("%d timers queued for %d connections held", queued, held)
	}
}
