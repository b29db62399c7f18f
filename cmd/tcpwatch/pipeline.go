package main

import (
	"io"
	"os"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// Reading and decoding run on one goroutine and tracking on another, so
// that a file is analyzed on two cores. The reader fills batches of
// decoded packets and hands each over whole: one channel operation per
// batchSize packets, and the batches are reused, so the packet path
// allocates nothing. A capture.Packet holds no slices (the decoder copies
// what it keeps out of the reader's buffer), so a batch outlives the read
// that filled it.

// batchSize is the number of packets handed over at once.
const batchSize = 512

// batches is how many batches circulate: the reader can run this far ahead.
const batches = 4

type batch struct {
	pkts   []capture.Packet
	hashes []tracker.FlowHash // of the TCP packets, for the tracker's flow table
	last   bool               // the input ended after these packets (or -c was reached)
	err    error              // with last: what ended it (io.EOF, capture.ErrInterrupted, an error; nil for -c)
}

// pipelined reports whether the input is read on a goroutine of its own,
// in batches: unless ndjson events are to follow packets that come through
// a pipe or standard input as they come, rather than a batch at a time (a
// regular file is read as fast as it can be, so its events are not held
// back).
func pipelined(files []string, format report.Format) bool {
	if format != report.NDJSON {
		return true
	}
	for _, f := range files {
		if f == "-" {
			return false
		}
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// analyzePipelined is analyze with reading and decoding on a goroutine of
// their own; it returns the same results.
func analyzePipelined(rd *capture.Reader, tr *tracker.Tracker, count uint64, order *fileOrder, prog *progress) (ended, interrupted bool, err error) {
	free, full := make(chan *batch, batches), make(chan *batch, batches)
	for range batches {
		free <- &batch{pkts: make([]capture.Packet, batchSize), hashes: make([]tracker.FlowHash, batchSize)}
	}
	go readBatches(rd, count, order, prog, tr.Hasher(), free, full)
	for b := range full {
		feedBatch(tr, b.pkts, b.hashes)
		if !b.last {
			free <- b
			continue
		}
		switch {
		case b.err == io.EOF:
			return true, false, nil
		case b.err == capture.ErrInterrupted:
			return false, true, nil
		}
		return false, false, b.err
	}
	panic("unreachable: the reader always ends with a last batch")
}

// Prefetch distances, in packets: the flow table slot of the packet
// slotAhead on is asked for, then the connection of the one connAhead on,
// then the transitions of the one transAhead on.
const (
	slotAhead  = 12
	connAhead  = 6
	transAhead = 3
)

// feedBatch feeds a batch of packets to the tracker, their flow hashes
// beside them, asking for the memory of later ones ahead of time
// (prefetchAhead).
func feedBatch(tr *tracker.Tracker, pkts []capture.Packet, hashes []tracker.FlowHash) {
	for i := range pkts {
		prefetchAhead(tr, pkts, hashes, i)
		feedHashed(tr, &pkts[i], hashes[i])
	}
}

// prefetchAhead asks for what the packets of a batch after its i-th will
// read (tracker.PrefetchSlot and the others), before the i-th is fed.
func prefetchAhead(tr *tracker.Tracker, pkts []capture.Packet, hashes []tracker.FlowHash, i int) {
	if j := i + slotAhead; j < len(pkts) {
		tr.PrefetchSlot(hashes[j])
	}
	if j := i + connAhead; j < len(pkts) {
		tr.PrefetchConn(hashes[j])
		tr.PrefetchTimers(pkts[j].Time)
	}
	if j := i + transAhead; j < len(pkts) {
		tr.PrefetchTransitions(hashes[j])
	}
}

// feedHashed feeds one packet whose flow hash is h to the tracker.
func feedHashed(tr *tracker.Tracker, p *capture.Packet, h tracker.FlowHash) {
	switch p.Kind {
	case capture.TCP:
		tr.ObserveHashed(&p.Seg, h)
	case capture.ICMPError:
		tr.ObserveICMP(&p.Seg)
	default:
		tr.Advance(p.Time)
	}
}

// readBatches reads packets into batches taken from free and sends them on
// full, until the input ends or count packets were read (0: no limit); the
// last batch says which. It shows order each packet as it is read, and
// prog every progressEvery packets (both read the reader's position); they
// are the caller's again once the last batch is sent.
func readBatches(rd *capture.Reader, count uint64, order *fileOrder, prog *progress, h tracker.Hasher, free <-chan *batch, full chan<- *batch) {
	var n uint64
	for {
		b := <-free
		b.pkts = b.pkts[:cap(b.pkts)]
		for i := range b.pkts {
			p := &b.pkts[i]
			if err := rd.Next(p); err != nil {
				b.pkts, b.last, b.err = b.pkts[:i], true, err
				full <- b
				return
			}
			order.see(rd, p)
			if p.Num%progressEvery == 0 {
				prog.tick(p.Num)
			}
			b.hashes[i] = tracker.FlowHash{}
			switch p.Kind {
			case capture.Filtered:
				continue
			case capture.TCP:
				b.hashes[i] = h.Hash(&p.Seg) // (for the tracker's flow table, off its goroutine)
			}
			if n++; count > 0 && n >= count {
				b.pkts, b.last = b.pkts[:i+1], true
				full <- b
				return
			}
		}
		full <- b
	}
}
