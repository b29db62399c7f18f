package report

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// observer returns a function that feeds tr a segment, a microsecond
// after the one before, numbered in order.
func observer(tr *tracker.Tracker) func(src, dst tracker.Addr, sp, dp uint16, f tracker.Flags, seq, ack uint32) {
	now := time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC).UnixNano()
	var pkt uint64
	return func(src, dst tracker.Addr, sp, dp uint16, f tracker.Flags, seq, ack uint32) {
		pkt++
		now += int64(time.Microsecond)
		tr.Observe(&tracker.Segment{Time: now, Packet: pkt, Src: src, Dst: dst, SrcPort: sp, DstPort: dp,
			Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Flags: f, Window: 65535, WScale: -1})
	}
}

// manyConnections returns a finished tracker of n connections: most
// closed cleanly, some refused, some left open.
func manyConnections(n int) *tracker.Tracker {
	tr := tracker.New(tracker.Config{})
	srv := tracker.AddrFrom4([4]byte{198, 18, 0, 2})
	obs := observer(tr)
	for i := range n {
		cli := tracker.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
		obs(cli, srv, 40000, 80, tracker.SYN, 100, 0)
		switch i % 7 {
		case 0:
			obs(srv, cli, 80, 40000, tracker.RST|tracker.ACK, 0, 101)
		case 1:
			obs(srv, cli, 80, 40000, tracker.SYN|tracker.ACK, 500, 101)
		default:
			obs(srv, cli, 80, 40000, tracker.SYN|tracker.ACK, 500, 101)
			obs(cli, srv, 40000, 80, tracker.ACK|tracker.FIN, 101, 501)
			obs(srv, cli, 80, 40000, tracker.ACK|tracker.FIN, 501, 102)
			obs(cli, srv, 40000, 80, tracker.ACK, 102, 502)
		}
	}
	tr.Finish()
	return tr
}

// TestParallelEncodingWritesTheSameBytes: a streamed report's connections,
// encoded by several workers, print exactly what one loop over the whole
// report prints, in every JSON format, verbose or not.
func TestParallelEncodingWritesTheSameBytes(t *testing.T) {
	tr := manyConnections(3*renderParallelMin + 17)
	defer func(w int) { encodeWorkers = w }(encodeWorkers)
	for _, verbose := range []bool{false, true} {
		opts := Options{Verbose: verbose}
		for _, f := range []Format{JSON, NDJSON} {
			var whole bytes.Buffer
			if err := Print(&whole, Build(Input{}, tr, opts), f, PrintOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 2, 3, 8} {
				encodeWorkers = workers
				var got bytes.Buffer
				if err := Print(&got, BuildStreamed(Input{}, tr, opts), f, PrintOptions{}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), whole.Bytes()) {
					t.Errorf("format %v, verbose %v, %d workers: %d bytes differ from the %d of one loop", f, verbose, workers, got.Len(), whole.Len())
				}
			}
		}
	}
}

// TestParallelEncodingStopsAtAWriteError: a write that fails mid-way ends
// the encoding with its error, whatever the workers still hold.
func TestParallelEncodingStopsAtAWriteError(t *testing.T) {
	tr := manyConnections(3 * renderParallelMin)
	defer func(w int) { encodeWorkers = w }(encodeWorkers)
	encodeWorkers = 4
	for writes := range 3 {
		err := Print(&failWriter{n: writes}, BuildStreamed(Input{}, tr, Options{}), JSON, PrintOptions{})
		if !errors.Is(err, errFull) {
			t.Errorf("failing after %d writes: got %v, want %v", writes, err, errFull)
		}
	}
}
