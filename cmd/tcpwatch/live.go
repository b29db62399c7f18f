package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/metrics"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// wallEvery is how many packets the live loop handles between readings of
// the wall clock; in between, a packet's capture time (the kernel's wall
// clock stamp) tells the time.
const wallEvery = 64

// sweepEvery is how often live mode runs the tracker's time-based
// detectors over every open connection when the clock moves without
// packets (and, under load, between packets).
const sweepEvery = 250 * time.Millisecond

// openedKey is the context key of a func() runLive calls once every
// reader is open and filtered, so that what arrives from then on is
// captured: tests wait on it rather than sleep.
type openedKey struct{}

// runLive is tcpwatch -i: the file pipeline (Reader → decoder → tracker →
// report) fed by libpcap, with the wall clock driving the tracker's timers.
// It stops on ctx (Ctrl-C, SIGTERM), --duration or -c, and prints the same
// final report as file mode, with the interface and libpcap's drop counts.
//
// While it runs, the table format draws the live view every --interval;
// ndjson streams events as they happen, and a "stats" event every
// --interval; json prints only the final document.
func runLive(ctx context.Context, cfg *config, format report.Format, stdout, stderr io.Writer) int {
	rds, err := openLiveReaders(cfg, capture.LiveOptions{
		Snaplen: cfg.snaplen,
		Promisc: !cfg.noPromis,
		Filter:  cfg.filter,
		Timeout: min(capture.DefaultReadTimeout, cfg.interval/2),
	})
	if err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	closeAll := func() {
		for _, rd := range rds {
			rd.Close()
		}
	}
	defer closeAll()
	if opened, ok := ctx.Value(openedKey{}).(func()); ok {
		opened()
	}
	out, err := openOutputs(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	defer out.close()
	cfg.decap.useDecoders(rds)

	w := &watch{rd: rds[0], rds: rds, cfg: cfg, pcap: out}
	tc := trackerConfig(cfg)
	switch format {
	case report.Table:
		term := isTerminal(stdout)
		w.view = report.NewLiveView(stdout, cfg.iface, term)
		w.view.Hook(&tc)
		if term {
			w.out = stdout.(*os.File)
			w.winch = watchSize(w.out, w.view)
			defer signal.Stop(w.winch)
		}
	case report.NDJSON:
		w.events = report.NewEvents(stdout, cfg.verbose > 0)
		w.events.SetTunnels(cfg.decap.tunnels())
		w.events.Hook(&tc)
	}
	w.tr = tracker.New(tc)
	stopMetrics, err := w.startMetrics()
	if err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	defer stopMetrics()

	interrupted, inputErr := w.run(ctx)
	closeAll() // the final counters are read as the handles close
	ls := w.kernelStats()
	if !w.counted {
		// Watched until now: the silence since the last packet is evidence.
		// After -c's last packet nothing more was looked at.
		w.tr.Advance(time.Now().UnixNano())
	}
	w.tr.Finish()
	if w.events != nil && w.events.Err() != nil && inputErr == nil {
		inputErr = writeError(w.events.Err())
	}

	in := inputOf(w.inputStats())
	in.Interface = cfg.iface
	in.Interrupted = interrupted
	in.Dropped = report.Dropped{Kernel: ls.Dropped, Interface: ls.IfDropped}
	if end := report.Time(w.tr.Now()); !w.counted && in.LastPacket != 0 && end > in.LastPacket {
		in.CaptureEnd = end // the silence was watched until then
	}
	if w.view != nil {
		if err := w.view.Close(); err != nil && inputErr == nil {
			inputErr = writeError(err)
		}
		fmt.Fprintln(stdout) // the final report follows the last frame
	}
	return finish(cfg, format, in, w.tr, inputErr, out, stdout, stderr)
}

// watch is one live capture's loop state.
type watch struct {
	rd      *capture.Reader   // the one reader, or the first of a fanout
	rds     []*capture.Reader // every reader
	fan     *fanin            // AF_PACKET rings: read on goroutines of their own
	tr      *tracker.Tracker
	cfg     *config
	counted bool             // -c's count was reached: the capture ended at its last packet
	view    *report.LiveView // table format
	events  *report.Events   // ndjson format
	winch   chan os.Signal   // the terminal's size changed (SIGWINCH); nil if not a terminal
	out     *os.File         // the terminal, with winch
	pcap    *pcapOut         // -w: keeps every packet for the second pass

	lastPackets uint64 // at the last tick, for packets/s
	lastTick    time.Time

	metrics *metrics.Exporter // --metrics
	payload uint64            // TCP payload bytes, for --metrics
}

// loop reads and tracks packets until ctx is done (interrupted: a
// signal), --duration has passed, -c packets were analyzed or the capture
// fails (the error returned). Everything runs in this goroutine: Next
// returns ErrTimeout when the wire is quiet, so the clock, the detectors
// and the view keep going.
func (w *watch) loop(ctx context.Context) (interrupted bool, err error) {
	clk := w.startClock()
	var p capture.Packet
	var n uint64
	var wall time.Time // the wall clock, read when the wire is quiet and every wallEvery packets
	for {
		if ctx.Err() != nil {
			return true, nil
		}
		err := w.rd.Next(&p)
		if err != nil || n%wallEvery == 0 {
			wall = time.Now()
		}
		now := wall
		if err == nil && p.Time > wall.UnixNano() {
			now = time.Unix(0, p.Time) // the kernel's stamp: the wall clock, without a clock read
		}
		switch {
		case err == capture.ErrTimeout:
			w.tr.Advance(now.UnixNano())
		case err != nil:
			return false, err
		default:
			feed(w.tr, &p)
			if err := w.pcap.keep(w.rd); err != nil {
				return false, err
			}
			if p.Kind == capture.TCP {
				w.payload += uint64(p.Seg.Payload)
			}
			n++
			if w.cfg.count > 0 && n >= w.cfg.count {
				w.counted = true
				return false, nil
			}
		}
		if stop, err := w.due(now, &clk); stop || err != nil {
			return false, err
		}
	}
}

// run reads and tracks packets as loop does: a libpcap handle on this
// goroutine; an AF_PACKET ring, or the --fanout rings, each read and
// decoded on a goroutine of its own, the tracker on this one (fanLoop), so
// that a busy interface is analyzed on two cores or more.
func (w *watch) run(ctx context.Context) (interrupted bool, err error) {
	if len(w.rds) == 1 && w.rd.Engine() != capture.EngineRing {
		return w.loop(ctx)
	}
	var keep keepFunc
	if w.pcap != nil {
		keep = w.pcap.keepRaw
	}
	w.fan = startFanin(w.rds, keep, w.tr)
	defer w.fan.stop()
	return w.fanLoop(ctx)
}

// liveClock is when the live loop next sweeps, ticks and ends.
type liveClock struct {
	end, nextSweep, nextTick time.Time // end: zero without --duration
}

// startClock starts the live loop's clock now.
func (w *watch) startClock() liveClock {
	start := time.Now()
	w.lastTick = start
	c := liveClock{nextSweep: start.Add(sweepEvery), nextTick: start.Add(w.cfg.interval)}
	if w.cfg.duration > 0 {
		c.end = start.Add(w.cfg.duration)
	}
	return c
}

// due does what is due at now: stop (--duration), sweep the detectors,
// draw the view or write a stats event.
func (w *watch) due(now time.Time, c *liveClock) (stop bool, err error) {
	if !c.end.IsZero() && !now.Before(c.end) {
		return true, nil
	}
	if !now.Before(c.nextSweep) {
		w.tr.Advance(now.UnixNano())
		w.tr.Sweep()
		c.nextSweep = now.Add(sweepEvery)
	}
	if w.resized() || !now.Before(c.nextTick) {
		if err := w.tick(now); err != nil {
			return false, err
		}
		for !c.nextTick.After(now) {
			c.nextTick = c.nextTick.Add(w.cfg.interval)
		}
	}
	return false, nil
}

// inputStats counts the packets analyzed: the reader's, or with fanout
// those the readers handed over.
func (w *watch) inputStats() capture.Stats {
	if w.fan != nil {
		return w.fan.stats
	}
	return w.rd.Stats()
}

// kernelStats adds up the readers' kernel counters.
func (w *watch) kernelStats() capture.LiveStats {
	var sum capture.LiveStats
	for _, rd := range w.rds {
		ls, _ := rd.LiveStats()
		sum.Received += ls.Received
		sum.Dropped += ls.Dropped
		sum.IfDropped += ls.IfDropped
	}
	return sum
}

// tick draws the live view or writes a stats event.
func (w *watch) tick(now time.Time) error {
	st := w.inputStats()
	ls := w.kernelStats()
	s := report.LiveStats{
		Time:        report.Time(now.UnixNano()),
		Packets:     st.Packets,
		TCPPackets:  st.TCP,
		Dropped:     report.Dropped{Kernel: ls.Dropped, Interface: ls.IfDropped},
		Active:      w.tr.Open(),
		Connections: len(w.tr.Conns()) + w.tr.Frozen(),
	}
	if dt := now.Sub(w.lastTick).Seconds(); dt > 0 {
		s.PacketsPerS = float64(st.Packets-w.lastPackets) / dt
	}
	w.lastPackets, w.lastTick = st.Packets, now
	w.publishMetrics(s)
	switch {
	case w.view != nil:
		if err := w.view.Render(s, w.tr); err != nil {
			return writeError(err)
		}
	case w.events != nil:
		w.events.Stats(s)
		if err := w.events.Err(); err != nil {
			return writeError(err)
		}
	}
	return nil
}

// watchSize sizes the live view to the terminal f and returns the channel
// on which SIGWINCH says its size changed.
func watchSize(f *os.File, v *report.LiveView) chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	if cols, rows, err := term.GetSize(int(f.Fd())); err == nil {
		v.SetSize(cols, rows)
	}
	return ch
}

// resized reports whether the terminal's size changed since the last
// frame, and if so sizes the view anew: the frame is then redrawn at once.
func (w *watch) resized() bool {
	select {
	case <-w.winch:
	default:
		return false
	}
	if cols, rows, err := term.GetSize(int(w.out.Fd())); err == nil {
		w.view.SetSize(cols, rows)
	}
	return true
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
