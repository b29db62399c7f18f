package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/pflag"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// ringConfig is what the command line says about how a live interface is
// read: by an AF_PACKET ring (Linux) or libpcap, with how many sockets and
// how large a kernel buffer.
type ringConfig struct {
	fanout    int  // --fanout: sockets in one PACKET_FANOUT_HASH group
	libpcap   bool // --libpcap
	bufferKiB int  // -B
}

// addRingFlags registers the flags of the live capture's kernel side.
func addRingFlags(fs *pflag.FlagSet, c *ringConfig) {
	fs.IntVar(&c.fanout, "fanout", 1, "live (Linux): read the interface with `N` AF_PACKET sockets in one PACKET_FANOUT_HASH group, each read and decoded on a core of its own, feeding the one tracker")
	fs.BoolVar(&c.libpcap, "libpcap", false, "live: read the interface through libpcap, not an AF_PACKET ring (the default on Linux, except for -i any and interfaces that are not Ethernet)")
	fs.IntVarP(&c.bufferKiB, "buffer-size", "B", capture.DefaultBufferSize>>10, "live: kernel buffer of each socket in `KiB`, as tcpdump's -B")
}

// check validates the flags.
func (c *ringConfig) check() error {
	switch {
	case c.fanout < 1:
		return fmt.Errorf("--fanout %d: want 1 or more sockets", c.fanout)
	case c.fanout > maxFanout:
		return fmt.Errorf("--fanout %d: at most %d sockets", c.fanout, maxFanout)
	case c.fanout > 1 && c.libpcap:
		return errors.New("--fanout needs an AF_PACKET ring: not with --libpcap")
	case c.bufferKiB <= 0:
		return fmt.Errorf("-B %d: want a positive size in KiB", c.bufferKiB)
	case c.bufferKiB > 1<<22:
		return fmt.Errorf("-B %d: at most 4 GiB (4194304 KiB)", c.bufferKiB)
	}
	return nil
}

// maxFanout bounds --fanout: the kernel's group holds 256 sockets (each
// with its own ring and goroutine); more than the cores gains nothing.
const maxFanout = 64

// openLiveReaders opens the interface as the flags say: one reader, or
// --fanout readers in one fanout group.
func openLiveReaders(cfg *config, o capture.LiveOptions) ([]*capture.Reader, error) {
	o.BufferSize = cfg.ring.bufferKiB << 10
	if cfg.ring.libpcap {
		o.Engine = capture.EngineLibpcap
	}
	if cfg.ring.fanout > 1 {
		return capture.OpenFanout(cfg.iface, cfg.ring.fanout, o)
	}
	rd, err := capture.OpenLive(cfg.iface, o)
	if err != nil {
		return nil, err
	}
	return []*capture.Reader{rd}, nil
}

// A fanout capture reads and decodes each socket on a goroutine of its
// own and hands the packets to the tracker's goroutine in batches: one
// channel operation per batch, and the batches are reused, so the packet
// path allocates nothing. The tracker merges the batches it has by packet
// time, each socket's packets in the order that socket read them: a flow
// is on one socket (the kernel's hash is the same both ways), so its
// packets keep their order; packets of different sockets interleave in
// time order as closely as the batches allow.

// fanFlushAfter ends a batch whose packets span this long, so that a
// slow trickle is not held back for 512 packets.
const fanFlushAfter = int64(10 * time.Millisecond)

// fanLag is how far behind the wall clock the tracker's clock is moved
// when no batch comes: packets this recent may still be in a batch.
const fanLag = 50 * time.Millisecond

// fanBatch is a batch of one reader's packets.
type fanBatch struct {
	from   int // the reader's index
	pkts   []capture.Packet
	hashes []tracker.FlowHash // hashes[i] is pkts[i]'s flow hash (tracker.Hasher), or none
	at     int                // the tracker's side: the next packet to merge
	err    error              // the reader stopped after these packets: why
	// With -w, each packet as it was read (raws[i] is pkts[i]'s), so that
	// the spool is written in the order the tracker takes them.
	raw  []byte
	raws []rawRef
}

// rawRef is one packet of a batch as it was read: its bytes in the
// batch's raw, and its capture information.
type rawRef struct {
	off, n int
	ts     int64 // capture time, ns
	length int   // on the wire
	lt     layers.LinkType
}

// fanRawMax ends a batch whose packets, kept for -w, hold this many bytes,
// so that a large snapshot length does not make the batches large.
const fanRawMax = 4 << 20

// keepRaw copies the packet rd read last into b, for -w.
func (b *fanBatch) keepRaw(rd *capture.Reader) {
	data, ci, lt := rd.Raw()
	b.raws = append(b.raws, rawRef{off: len(b.raw), n: len(data), ts: ci.Timestamp.UnixNano(), length: ci.Length, lt: lt})
	b.raw = append(b.raw, data...)
}

// spool hands packet i of b, as read, to keep.
func (b *fanBatch) spool(i int, num uint64, keep keepFunc) error {
	r := &b.raws[i]
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, r.ts), CaptureLength: r.n, Length: r.length}
	return keep(b.raw[r.off:r.off+r.n], ci, r.lt, num)
}

// fanin is a fanout capture's readers and their batches.
type fanin struct {
	rds  []*capture.Reader
	full chan *fanBatch   // to the tracker, from every reader
	free []chan *fanBatch // back to each reader
	done chan struct{}    // closed when the tracker stops
	wg   sync.WaitGroup
	keep keepFunc // -w: keep each packet, in the order merged (on the tracker's goroutine)
	// tr, if not nil, is the tracker the packets are merged for: the
	// readers hash their segments for its flow table, and merge asks for
	// what the next packets of each batch will read (prefetchAhead).
	tr     *tracker.Tracker
	hasher tracker.Hasher

	// The tracker's side: the batches merged, by reader, and the packets
	// handed over.
	queued [][]*fanBatch
	num    uint64
	stats  capture.Stats
}

var errFanStopped = errors.New("stopped")

// startFanin starts a goroutine per reader; keep (nil: none) is called
// for every packet merged, in the order merged, numbered as the tracker
// numbers it. tr (nil: none) is the tracker the packets are for.
func startFanin(rds []*capture.Reader, keep keepFunc, tr *tracker.Tracker) *fanin {
	f := &fanin{
		rds:    rds,
		full:   make(chan *fanBatch, batches*len(rds)),
		free:   make([]chan *fanBatch, len(rds)),
		done:   make(chan struct{}),
		keep:   keep,
		queued: make([][]*fanBatch, len(rds)),
		tr:     tr,
	}
	if tr != nil {
		f.hasher = tr.Hasher()
	}
	for i := range rds {
		f.queued[i] = make([]*fanBatch, 0, batches)
		f.free[i] = make(chan *fanBatch, batches)
		for range batches {
			f.free[i] <- &fanBatch{from: i, pkts: make([]capture.Packet, 0, batchSize),
				hashes: make([]tracker.FlowHash, 0, batchSize)}
		}
		f.wg.Add(1)
		go f.read(i)
	}
	return f
}

// stop ends the readers and waits for them (each returns within a read
// timeout).
func (f *fanin) stop() {
	close(f.done)
	f.wg.Wait()
}

// read is reader i's goroutine.
func (f *fanin) read(i int) {
	defer f.wg.Done()
	for {
		var b *fanBatch
		select {
		case b = <-f.free[i]:
		case <-f.done:
			return
		}
		b.pkts, b.hashes, b.raw, b.raws = b.pkts[:0], b.hashes[:0], b.raw[:0], b.raws[:0]
		b.err = f.fill(f.rds[i], b)
		if b.err == errFanStopped {
			return
		}
		select {
		case f.full <- b:
		case <-f.done:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// fill reads packets into b until it is full, the wire is quiet with
// packets in it, they span fanFlushAfter (or, kept for -w, hold
// fanRawMax bytes), or the reader fails.
func (f *fanin) fill(rd *capture.Reader, b *fanBatch) error {
	for len(b.pkts) < cap(b.pkts) {
		n := len(b.pkts)
		b.pkts = b.pkts[:n+1]
		p := &b.pkts[n]
		if err := rd.Next(p); err != nil {
			b.pkts = b.pkts[:n]
			if err != capture.ErrTimeout {
				return err
			}
			if n > 0 {
				return nil
			}
			select {
			case <-f.done:
				return errFanStopped
			default:
				continue
			}
		}
		var h tracker.FlowHash
		if f.tr != nil && p.Kind == capture.TCP {
			h = f.hasher.Hash(&p.Seg) // (for the tracker's flow table, off its goroutine)
		}
		b.hashes = append(b.hashes, h)
		if f.keep != nil {
			if b.keepRaw(rd); len(b.raw) >= fanRawMax {
				return nil
			}
		}
		if p.Time-b.pkts[0].Time >= fanFlushAfter {
			return nil
		}
	}
	return nil
}

// take queues b and every other batch already waiting, by reader.
func (f *fanin) take(b *fanBatch) {
	f.queued[b.from] = append(f.queued[b.from], b)
	for range cap(f.full) {
		select {
		case b := <-f.full:
			f.queued[b.from] = append(f.queued[b.from], b)
		default:
			return
		}
	}
}

// merge hands the queued packets to use in time order, each reader's in
// its own order, renumbered and counted, with their flow hashes, and gives
// the batches back. Each reader's packets are taken in order, so the next
// few of the batch a packet comes from are asked for ahead. It stops early
// when use says so (-c), and returns the first reader's error after that
// reader's packets.
func (f *fanin) merge(use func(*capture.Packet, tracker.FlowHash) bool) (stop bool, err error) {
	defer f.release()
	for {
		best := -1
		var bt int64
		for r := range f.queued {
			for len(f.queued[r]) > 0 && f.queued[r][0].at == len(f.queued[r][0].pkts) {
				if e := f.queued[r][0].err; e != nil && err == nil {
					err = e
				}
				f.retire(r)
			}
			if q := f.queued[r]; len(q) > 0 {
				if t := q[0].pkts[q[0].at].Time; best < 0 || t < bt {
					best, bt = r, t
				}
			}
		}
		if best < 0 {
			return err != nil, err
		}
		b := f.queued[best][0]
		i := b.at
		p := &b.pkts[i]
		b.at++
		f.count(p)
		if f.keep != nil {
			if err := b.spool(i, p.Num, f.keep); err != nil {
				return true, err
			}
		}
		var h tracker.FlowHash
		if f.tr != nil {
			prefetchAhead(f.tr, b.pkts, b.hashes, i)
			h = b.hashes[i]
		}
		if !use(p, h) {
			return true, nil
		}
	}
}

// retire gives reader r's first queued batch back to it.
func (f *fanin) retire(r int) {
	q := f.queued[r]
	b := q[0]
	f.queued[r] = q[:copy(q, q[1:])] // a few batches: shifting keeps the slice's room
	if b.err == nil {
		b.pkts, b.hashes, b.at, b.raw, b.raws = b.pkts[:0], b.hashes[:0], 0, b.raw[:0], b.raws[:0]
		f.free[r] <- b // never blocks: it holds that reader's batches only
	}
}

// release gives back every batch still queued (merge stopped early).
func (f *fanin) release() {
	for r := range f.queued {
		for len(f.queued[r]) > 0 {
			f.retire(r)
		}
	}
}

// count numbers p across the readers and adds it to the statistics.
func (f *fanin) count(p *capture.Packet) {
	f.num++
	p.Num = f.num
	st := &f.stats
	st.Packets++
	switch p.Kind {
	case capture.TCP:
		p.Seg.Packet = f.num
		st.TCP++
	case capture.NotTCP:
		st.NotTCP++
	case capture.ICMPError:
		p.Seg.Packet = f.num
		st.NotTCP++
	case capture.Fragment:
		st.Fragments++
	case capture.Truncated:
		st.Truncated++
	case capture.Malformed:
		st.Malformed++
	case capture.Filtered:
		st.Filtered++
	}
	if st.First == 0 {
		st.First = p.Time
	}
	st.Last = max(st.Last, p.Time)
}

// minTick: the fanout loop's ticker runs no faster than this, whatever
// --interval asks (--interval 1ns would halve to 0, which a ticker refuses).
const minTick = time.Millisecond

// fanLoop is loop for a fanout capture: the packets come in batches from
// the readers' goroutines, and a ticker keeps the clock, the detectors and
// the view going when none come.
func (w *watch) fanLoop(ctx context.Context) (interrupted bool, err error) {
	f := w.fan
	clk := w.startClock()
	tick := time.NewTicker(max(min(sweepEvery, w.cfg.interval)/2, minTick))
	defer tick.Stop()
	var n uint64
	use := func(p *capture.Packet, h tracker.FlowHash) bool {
		feedHashed(w.tr, p, h)
		if p.Kind == capture.TCP {
			w.payload += uint64(p.Seg.Payload)
		}
		n++
		w.counted = w.cfg.count > 0 && n >= w.cfg.count
		return !w.counted
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case b := <-f.full:
			f.take(b)
			if stop, err := f.merge(use); stop || err != nil {
				return false, err
			}
		case now := <-tick.C:
			w.tr.Advance(now.Add(-fanLag).UnixNano())
		}
		if stop, err := w.due(time.Now(), &clk); stop || err != nil {
			return false, err
		}
	}
}

// useDecoders applies the flags to every reader's decoder and keeps them
// for the report.
func (c *decapConfig) useDecoders(rds []*capture.Reader) {
	c.useDecoder(rds[0])
	c.more = c.more[:0]
	for _, rd := range rds[1:] {
		c.configure(rd)
		c.more = append(c.more, rd.Decoder())
	}
}

// anyTunnel looks a tunnel context up in every reader's decoder: an ID is
// a hash of the context, the same whichever decoder saw it.
func (c *decapConfig) anyTunnel(id uint32) (t tracker.Tunnel, ok bool) {
	if t, ok = c.dec.Tunnel(id); ok {
		return t, true
	}
	for _, d := range c.more {
		if t, ok = d.Tunnel(id); ok {
			return t, true
		}
	}
	return t, false
}

// fragmentStats adds up the decoders' reassembly counts.
func (c *decapConfig) fragmentStats() capture.FragmentStats {
	st := c.dec.FragmentStats()
	for _, d := range c.more {
		m := d.FragmentStats()
		st.Reassembled += m.Reassembled
		st.Overlaps += m.Overlaps
		st.Incomplete += m.Incomplete
		st.Oversize += m.Oversize
	}
	return st
}
