package tracker_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// A fuzz input is a sequence of 13-byte records, one segment each, between
// a few endpoints:
//
//	[0]     time since the previous segment: low 6 bits × the unit in the
//	        top 2 bits (10 µs, 1 ms, 16 ms, 1 s)
//	[1]     bits 0-1 source address, 2-3 destination address (of four),
//	        4 source port, 5 destination port (80 or 81), 6 a live sweep
//	        after the segment
//	[2]     flags (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR)
//	[3]     bits 0-3 window scale (15: none), 4 NS, 5 the timestamps
//	        option: TSval [12]<<8 | [0], TSecr by bits 6-7: 0, [9], TSval
//	        − [9], or 0x90000000 | [9] (none a timestamp the peer sent)
//	[4:8]   sequence number, big-endian
//	[8:12]  acknowledgment number
//	[12]    bits 0-5 payload length, 6-7 window × 1000
//
// A record whose flags are all set (0xff, which no segment can have) is
// instead an ICMP error quoting a SYN with that source, destination and
// sequence number, the error 1 + [3] mod 6 (ObserveICMP).
//
// testdata/fuzz/FuzzTracker holds the seed corpus: handshakes, closes
// each way, RSTs, retransmissions, reuse.
const recordLen = 13

var (
	fuzzAddrs = [4]tracker.Addr{
		tracker.AddrFrom4([4]byte{198, 18, 0, 1}), tracker.AddrFrom4([4]byte{198, 18, 0, 2}),
		tracker.AddrFrom4([4]byte{198, 18, 0, 3}), tracker.AddrFrom16([16]byte{0: 0xfd, 15: 1}),
	}
	timeUnits = [4]int64{int64(10 * time.Microsecond), int64(time.Millisecond), int64(16 * time.Millisecond), int64(time.Second)}
)

const fuzzStart = int64(1_700_000_000_000_000_000)

// fuzzSegment decodes record i (0-based) at the time now before it.
func fuzzSegment(b []byte, i int, now int64) (seg tracker.Segment, sweep bool) {
	seg = tracker.Segment{
		Time: now + int64(b[0]&0x3f)*timeUnits[b[0]>>6], Packet: uint64(i + 1),
		Src: fuzzAddrs[b[1]&3], Dst: fuzzAddrs[b[1]>>2&3],
		SrcPort: 80 + uint16(b[1]>>4&1), DstPort: 80 + uint16(b[1]>>5&1),
		Flags:   tracker.Flags(b[2]) | tracker.Flags(b[3]>>4&1)<<8,
		Seq:     seqnum.Value(binary.BigEndian.Uint32(b[4:])),
		Ack:     seqnum.Value(binary.BigEndian.Uint32(b[8:])),
		Payload: uint32(b[12] & 0x3f),
		Window:  uint16(b[12]>>6) * 1000,
		WScale:  int8(b[3] & 0x0f),
	}
	if seg.WScale == 15 {
		seg.WScale = -1
	}
	if b[3]&0x20 != 0 {
		seg.HasTS, seg.TSVal = true, uint32(b[12])<<8|uint32(b[0])
		seg.TSEcr = [4]uint32{0, uint32(b[9]), seg.TSVal - uint32(b[9]), 0x90000000 | uint32(b[9])}[b[3]>>6]
	}
	return seg, b[1]&0x40 != 0
}

// fuzzRun feeds the input to a tracker and finishes it; it returns the
// tracker and the number of segments fed. check, if set, runs after each
// segment.
func fuzzRun(data []byte, cfg tracker.Config, check func(*tracker.Tracker)) (*tracker.Tracker, int) {
	tr := tracker.New(cfg)
	now, n := fuzzStart, 0
	for ; len(data) >= recordLen; data = data[recordLen:] {
		seg, sweep := fuzzSegment(data[:recordLen], n, now)
		now = seg.Time
		if data[2] == 0xff {
			seg.Flags, seg.Payload, seg.ICMP = tracker.SYN, 0, tracker.ICMPError(1+data[3]%6)
			tr.ObserveICMP(&seg) // (not a segment: not counted in n)
		} else {
			tr.Observe(&seg)
			n++
		}
		if sweep {
			tr.Sweep()
		}
		if check != nil {
			check(tr)
		}
	}
	tr.Advance(now + int64(200*time.Second))
	tr.Finish()
	return tr, n
}

// FuzzTracker feeds arbitrary segment sequences to the tracker and checks
// the invariants (README; ../shared/STYLE.md point 16): no panic; each
// side's states chain from CLOSED along the edges the inference rules allow
// (edges_test.go), each side in time order; findings are complete and name what
// exists; every segment is counted once; the table respects its cap; the
// report marshals, and the same input gives the same report.
func FuzzTracker(f *testing.F) { f.Fuzz(checkFuzzInput) }

// TestFuzzFindsNoMore: inputs FuzzTracker once failed on, not kept as
// seeds (fuzzseed_test.go describes those segment by segment).
func TestFuzzFindsNoMore(t *testing.T) {
	for name, data := range map[string]string{
		// The server's bare ACK before its SYN-ACK (inferred), then the
		// SYN-ACK sent again: the half_open finding was dated 0.
		"inferred SYN-ACK sent again": "A\x14\x02\a\x00\x00\x03\xe8\x00\x00\x00\x00@A!\x10\a\x00\x00\x13\x88\x00\x00\x03\xe9@A\x14200000\x00\x00\x13\x890000000000000000000000000000a20\x00\x00\x13\x88\x00\x00\x03\xe900T000000\x00\x00\x13\x8900000000000000000000000000000000000000000000000000000\xd0!20\x00\x00\x13\x88\x00\x00\x03\xe900T000000\x00\x00\x1300",
	} {
		t.Run(name, func(t *testing.T) { checkFuzzInput(t, []byte(data)) })
	}
}

// checkFuzzInput is FuzzTracker's check of one input.
func checkFuzzInput(t *testing.T, data []byte) {
	const maxConns = 4
	capped, _ := fuzzRun(data, tracker.Config{MaxConns: maxConns, Thresholds: tracker.Thresholds{Stuck: time.Second}},
		func(tr *tracker.Tracker) {
			if open, parked := tr.Active()-tr.Parked(), tr.Parked(); open > maxConns || parked > 10*maxConns {
				t.Fatalf("table holds %d connections and %d in TIME_WAIT, caps %d and %d", open, parked, maxConns, 10*maxConns)
			}
		})
	checkTracker(t, capped, -1)
	// The same with a store of two, one kept whole: connections evicted
	// open are frozen or forgotten while they may still come back.
	tiny, _ := fuzzRun(data, tracker.Config{MaxConns: maxConns, MaxKept: 2, MaxFull: 1, Thresholds: tracker.Thresholds{Stuck: time.Second}},
		func(tr *tracker.Tracker) {
			if open := tr.Active() - tr.Parked(); open > maxConns {
				t.Fatalf("table holds %d connections, cap %d (a store of two)", open, maxConns)
			}
		})
	checkTracker(t, tiny, -1)
	checkForgottenCounts(t, tiny)
	full, n := fuzzRun(data, tracker.Config{Thresholds: tracker.Thresholds{Stuck: time.Second}}, nil)
	checkTracker(t, full, n)
	again, _ := fuzzRun(data, tracker.Config{MaxConns: maxConns, Thresholds: tracker.Thresholds{Stuck: time.Second}}, nil)
	if a, b := marshal(t, capped), marshal(t, again); !bytes.Equal(a, b) {
		t.Fatalf("the same input gave two reports:\n%s\n%s", a, b)
	}
	marshal(t, full)
	// Ended connections frozen as soon as more than four are kept
	// whole: the report still marshals, and the same every time. (It
	// can differ from the whole one: a segment for a frozen connection
	// is judged on its compact record, as for a forgotten one.)
	cfg := tracker.Config{MaxFull: 1, FrozenTransitions: true, Thresholds: tracker.Thresholds{Stuck: time.Second}}
	frozen, _ := fuzzRun(data, cfg, nil)
	frozenAgain, _ := fuzzRun(data, cfg, nil)
	if a, b := marshal(t, frozen), marshal(t, frozenAgain); !bytes.Equal(a, b) {
		t.Fatalf("the same input gave two reports with frozen connections:\n%s\n%s", a, b)
	}
}

// checkTracker checks a finished tracker's connections and findings; fed,
// unless negative, is the number of segments fed, to check the counts
// against (with nothing evicted).
func checkTracker(t *testing.T, tr *tracker.Tracker, fed int) {
	t.Helper()
	ids := map[uint64]bool{}
	var packets, badSeq uint64
	for _, c := range tr.Conns() {
		ids[c.ID] = true
		if p := tracker.TransitionProblem(c); p != "" {
			t.Fatalf("connection #%d: %s\n%s", c.ID, p, timeline(c))
		}
		checkTimes(t, c, tr.Now())
		checkCounts(t, c)
		packets += c.Half(tracker.Client).Packets() + c.Half(tracker.Server).Packets()
		badSeq += uint64(c.BadSeq) + uint64(c.BadChecksums)
	}
	for _, a := range tr.Anomalies() {
		if !slices.Contains(tracker.Kinds(), a.Kind) || a.Detail == "" || !a.Target.IsValid() ||
			a.Time < fuzzStart || a.Time > tr.Now() || (a.Conn == 0) != targetWide(a.Kind) || (a.Conn != 0) != a.HasSide {
			t.Fatalf("incomplete finding %+v", a)
		}
		if fed >= 0 && a.Conn != 0 && !ids[a.Conn] && tr.Evicted() == (tracker.Evictions{}) {
			t.Fatalf("finding for connection #%d, which is not in the report: %+v", a.Conn, a)
		}
	}
	// Every segment is a packet of one connection, except a SYN with a new
	// ISN held aside on a live connection (counted in its BadSeq) that was
	// still held at the end of input, a segment with a wrong checksum, and
	// a lone segment never promoted (counted as lone, or refused with the
	// RST that refused it).
	lone := tr.Lone()
	if slack := badSeq + lone.Segments + 2*lone.Refused; fed >= 0 && tr.Evicted() == (tracker.Evictions{}) && (packets > uint64(fed) || uint64(fed)-packets > slack) {
		t.Fatalf("%d segments fed, %d counted as packets of connections (%d bad-sequence or bad-checksum segments, lone %+v)", fed, packets, badSeq, lone)
	}
}

// targetWide reports whether findings of kind k are about a target rather
// than a connection.
func targetWide(k tracker.Kind) bool {
	switch k {
	case tracker.SynFlood, tracker.TimeWaitBuildup, tracker.AckFlood, tracker.RstFlood, tracker.FinFlood, tracker.SynackBackscatter:
		return true
	}
	return false
}

// checkTimes checks that a connection's times and transitions lie within
// the input, and that each side's transitions go forward in time. (Across
// the two sides the order is not checked: a timer or a heal is recorded
// when it runs, which can be after a later transition of the other side.)
func checkTimes(t *testing.T, c *tracker.Conn, now int64) {
	t.Helper()
	if c.First < fuzzStart || c.Last < c.First || c.Last > now {
		t.Fatalf("connection #%d from %d to %d (input %d to %d)", c.ID, c.First, c.Last, fuzzStart, now)
	}
	last := [2]int64{c.First, c.First}
	for _, x := range c.Transitions() {
		if x.Time < last[x.Side] || x.Time > now {
			t.Fatalf("connection #%d: %v %v → %v at %d, after %d (first %d, clock %d)\n%s",
				c.ID, x.Side, x.From, x.To, x.Time, last[x.Side], c.First, now, timeline(c))
		}
		last[x.Side] = x.Time
	}
}

// checkCounts checks that a connection's segment counts add up: each of
// these counts a kind of segment that is no other kind.
func checkCounts(t *testing.T, c *tracker.Conn) {
	t.Helper()
	cl, sv := c.Half(tracker.Client), c.Half(tracker.Server)
	kinds := uint64(c.Keepalives) + uint64(c.ZeroWindowProbes) + uint64(c.Duplicates) + uint64(c.Invalid) +
		uint64(c.BadRST) + uint64(c.ChallengedRST)
	if total := cl.Packets() + sv.Packets(); kinds > total || cl.Retransmits() > cl.Packets() || sv.Retransmits() > sv.Packets() {
		t.Fatalf("connection #%d: %d/%d packets, %d/%d retransmissions, %d keepalives, probes, duplicates, invalid or rejected RSTs",
			c.ID, cl.Packets(), sv.Packets(), cl.Retransmits(), sv.Retransmits(), kinds)
	}
}

// marshal builds the report and encodes it as JSON; the JSON must decode.
func marshal(t *testing.T, tr *tracker.Tracker) []byte {
	t.Helper()
	rep := report.Build(report.Input{Files: []string{"fuzz"}}, tr, report.Options{Verbose: true})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("report does not marshal: %v", err)
	}
	var back report.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report does not decode: %v\n%s", err, b)
	}
	return b
}

func timeline(c *tracker.Conn) string {
	var b bytes.Buffer
	for _, x := range c.Transitions() {
		fmt.Fprintf(&b, "  %d pkt %d %s %v → %v (%s)\n", x.Time, x.Packet, x.Side, x.From, x.To, x.Why)
	}
	return b.String()
}

// checkForgottenCounts checks that the connections forgotten are counted
// once on each side, in some state, and in the services that follow them:
// taking one over (succession.go) or stepping its state leaves no count
// behind, and none wraps below zero.
func checkForgottenCounts(t *testing.T, tr *tracker.Tracker) {
	t.Helper()
	ev := tr.Evicted()
	for s, byState := range tr.ForgottenStates() {
		var n uint64
		for _, k := range byState {
			if k > 1<<62 {
				t.Fatalf("side %d: a forgotten state count wrapped below zero: %v", s, byState)
			}
			n += k
		}
		if n != ev.Forgotten {
			t.Fatalf("side %d: %d forgotten connections counted by state, %d forgotten (%+v)", s, n, ev.Forgotten, ev)
		}
	}
	svs, untracked := tr.ForgottenServices()
	n := untracked
	for _, sv := range svs {
		n += sv.Conns
	}
	if n != ev.Forgotten || ev.ForgottenUnanswered > ev.Forgotten {
		t.Fatalf("%d forgotten connections counted by service, %d forgotten, %d of them unanswered", n, ev.Forgotten, ev.ForgottenUnanswered)
	}
}
