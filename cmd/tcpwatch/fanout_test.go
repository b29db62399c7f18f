package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestFaninMerge: the batches queued are merged in time order, each
// reader's packets in their own order even where their times go back (a
// flow's order is kept), numbered, counted, and a reader's error comes
// after its packets.
func TestFaninMerge(t *testing.T) {
	pkt := func(reader, i int, at int64) capture.Packet {
		return capture.Packet{Time: at, Kind: capture.TCP, Seg: tracker.Segment{SrcPort: uint16(reader), DstPort: uint16(i)}}
	}
	f := &fanin{queued: make([][]*fanBatch, 2), free: []chan *fanBatch{make(chan *fanBatch, 4), make(chan *fanBatch, 4)}}
	stopped := errors.New("capture stopped")
	f.queued[0] = []*fanBatch{
		{from: 0, pkts: []capture.Packet{pkt(0, 0, 10), pkt(0, 1, 30), pkt(0, 2, 25)}}, // 25: back in time
		{from: 0, pkts: []capture.Packet{pkt(0, 3, 50)}},
	}
	f.queued[1] = []*fanBatch{
		{from: 1, pkts: []capture.Packet{pkt(1, 0, 20), pkt(1, 1, 30), pkt(1, 2, 60)}},
		{from: 1, err: stopped},
	}
	var got []string
	stop, err := f.merge(func(p *capture.Packet, _ tracker.FlowHash) bool {
		got = append(got, fmt.Sprintf("%d.%d@%d#%d", p.Seg.SrcPort, p.Seg.DstPort, p.Time, p.Seg.Packet))
		return true
	})
	want := "0.0@10#1 1.0@20#2 0.1@30#3 0.2@25#4 1.1@30#5 0.3@50#6 1.2@60#7"
	if strings.Join(got, " ") != want || !stop || err != stopped {
		t.Errorf("merged %s, %v, %v\nwant   %s, true, %v", strings.Join(got, " "), stop, err, want, stopped)
	}
	if len(f.free[0]) != 2 || len(f.free[1]) != 1 {
		t.Errorf("%d and %d batches given back, want 2 and 1 (not the one that ended)", len(f.free[0]), len(f.free[1]))
	}
	if st := f.stats; st.Packets != 7 || st.TCP != 7 || st.First != 10 || st.Last != 60 {
		t.Errorf("stats %+v", st)
	}
}

// TestFaninReadsEveryPacket: two readers of the same recording, on their
// goroutines, hand over every packet of the first to end, numbered in the
// order the tracker took them.
func TestFaninReadsEveryPacket(t *testing.T) {
	const name = "../../testdata/pcaps/bulk-in-flight-rtt20-at-server.pcap"
	rds := twoReaders(t, name)
	one := packetsIn(t, name)
	f := startFanin(rds, nil, nil)
	defer f.stop()
	var n uint64
	var err error
	for err == nil {
		f.take(<-f.full)
		_, err = f.merge(func(p *capture.Packet, _ tracker.FlowHash) bool {
			if n++; p.Num != n {
				t.Fatalf("packet %d numbered %d", n, p.Num)
			}
			return true
		})
	}
	if err != io.EOF || n < uint64(one) || n > uint64(2*one) || f.stats.Packets != n {
		t.Errorf("%d packets (stats %d), %v; want %d to %d and io.EOF", n, f.stats.Packets, err, one, 2*one)
	}
}

func packetsIn(t *testing.T, name string) int {
	t.Helper()
	n := 0
	eachPacket(t, func(int, *capture.Packet) { n++ }, name)
	return n
}

func TestRingFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for no error
	}{
		{[]string{"-i", "lo", "--fanout", "4", "-B", "1024"}, ""},
		{[]string{"-i", "lo", "--libpcap"}, ""},
		{[]string{"-i", "lo", "--fanout", "0"}, "--fanout 0: want 1 or more sockets (tcpwatch --help for usage)"},
		{[]string{"-i", "lo", "--fanout", "65"}, "--fanout 65: at most 64 sockets (tcpwatch --help for usage)"},
		{[]string{"-i", "lo", "--fanout", "2", "--libpcap"}, "--fanout needs an AF_PACKET ring: not with --libpcap (tcpwatch --help for usage)"},
		{[]string{"-i", "lo", "-B", "0"}, "-B 0: want a positive size in KiB (tcpwatch --help for usage)"},
	} {
		c, err := parseArgs(tc.args, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%v: %v, want %s", tc.args, err, tc.want)
		case tc.want == "" && tc.args[2] == "--fanout" && (c.ring.fanout != 4 || c.ring.bufferKiB != 1024):
			t.Errorf("%v: %+v", tc.args, c.ring)
		}
	}
}

// TestFaninAllocatesNothingPerPacket: handing packets over in batches,
// hashed and asked for ahead, allocates nothing per packet once the
// batches exist (the readers' and the merge's side; the tracker has its
// own test).
func TestFaninAllocatesNothingPerPacket(t *testing.T) { checkFaninAllocs(t, nil) }

// checkFaninAllocs fails if merging two readers' batches, each packet
// handed to keep (nil: none), allocates per packet once the batches exist.
func checkFaninAllocs(t *testing.T, keep keepFunc) {
	t.Helper()
	const name = "../../testdata/pcaps/bulk-in-flight-rtt20-at-server.pcap"
	f := startFanin(twoReaders(t, name), keep, tracker.New(tracker.Config{}))
	defer f.stop()
	use := func(*capture.Packet, tracker.FlowHash) bool { return true }
	f.take(<-f.full) // the first batches, and the readers' buffers, are made
	f.merge(use)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var err error
	for err == nil {
		f.take(<-f.full)
		_, err = f.merge(use)
	}
	runtime.ReadMemStats(&after)
	n := f.stats.Packets
	if per := float64(after.Mallocs-before.Mallocs) / float64(n); n < 5000 || per > 0.01 {
		t.Errorf("%d allocations for %d packets (%.3f per packet)", after.Mallocs-before.Mallocs, n, per)
	}
}

// twoReaders opens name twice, closed when the test ends.
func twoReaders(t *testing.T, name string) []*capture.Reader {
	t.Helper()
	var rds []*capture.Reader
	for range 2 {
		rd, err := capture.OpenFiles([]string{name}, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rd.Close() })
		rds = append(rds, rd)
	}
	return rds
}
