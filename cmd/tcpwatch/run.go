package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/html"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// liveSnaplen is the default live snapshot length: enough for link, IP
// (with extension headers) and TCP headers with options. In immediate mode
// libpcap sizes each ring slot from the snapshot length, so tcpdump's 262144
// leaves room for about 128 packets in a 32 MiB ring and drops at ~40k
// packets/s here; with 256 bytes no drops were seen up to the load's limit
// (docs/capacity.md).
const liveSnaplen = 256

// Exit codes (SPEC.md).
const (
	exitOK      = 0
	exitMatched = 1
	exitError   = 2
)

// run is tcpwatch with its arguments and streams; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stdout)
	if errors.Is(err, errDone) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	format, _ := report.ParseFormat(cfg.format)
	if cfg.iface != "" {
		return runLive(ctx, cfg, format, stdout, stderr)
	}

	rd, err := capture.OpenFilesContext(ctx, cfg.files, cfg.filter)
	if err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	defer rd.Close()
	out, err := openOutputs(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	defer out.close()
	if err := cfg.pictures.openHTML(cfg.files, cfg.writeFile); err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	defer cfg.pictures.closeHTML()
	cfg.decap.useDecoder(rd)

	tc := trackerConfig(cfg)
	if cfg.pictures.html != "" {
		cfg.pictures.forgotten = new(html.Fold)
		tc.OnForgotten = cfg.pictures.forgotten.Add
	}
	var events *report.Events
	if format == report.NDJSON {
		events = report.NewEvents(stdout, cfg.verbose > 0)
		events.SetTunnels(cfg.decap.tunnels())
		events.Hook(&tc)
	}
	tr := tracker.New(tc)
	order := &fileOrder{file: -1}
	prog := newProgress(cfg, cfg.files, "", rd, stderr)
	analyzeInput := analyze
	if pipelined(cfg.files, format) {
		analyzeInput = analyzePipelined // (pipeline.go)
	}
	ended, interrupted, inputErr := analyzeInput(rd, tr, cfg.count, order, prog)
	prog.finish(rd.Stats().Packets, ended)
	st := rd.Stats()
	ranOn := ended && st.End > st.Last
	if ranOn {
		// The capture ran on after its last packet (pcapng's isb_endtime):
		// a CLOSE_WAIT that lasted to the end is judged on its real length.
		tr.Advance(st.End)
	}
	tr.Finish()
	if events != nil && events.Err() != nil && inputErr == nil {
		inputErr = writeError(events.Err())
	}

	in := inputOf(rd.Stats())
	in.Files = cfg.files
	in.Interrupted = interrupted
	in.Warnings = order.warnings
	if ranOn {
		in.CaptureEnd = report.Time(st.End)
	}
	return finish(cfg, format, in, tr, inputErr, out, stdout, stderr)
}

// trackerConfig is the tracker's configuration from the command line.
func trackerConfig(cfg *config) tracker.Config {
	tc := tracker.Config{MSL: cfg.msl, MaxConns: cfg.maxConns, MaxKept: cfg.keep,
		Thresholds: tracker.Thresholds{Stuck: cfg.stuck, TimeWaitLimit: cfg.twLimit}, KeepFlood: cfg.all,
		FrozenTransitions: cfg.verbose > 0}
	if cfg.pictures.ladder.set || cfg.pictures.html != "" {
		tc.FrozenTransitions = true // ladders and charts draw them
	}
	return tc
}

// inputOf describes what a reader read, from its counts.
func inputOf(st capture.Stats) report.Input {
	in := report.Input{
		Packets:     st.Packets,
		TCPPackets:  st.TCP,
		Skipped:     map[report.Skip]uint64{report.NotTCP: st.NotTCP, report.Truncated: st.Truncated, report.Malformed: st.Malformed},
		FirstPacket: report.Time(st.First),
		LastPacket:  report.Time(st.Last),
		Dropped:     report.Dropped{Interface: st.Dropped},
	}
	if st.Fragments > 0 {
		in.Skipped[report.Fragment] = st.Fragments
	}
	if st.Filtered > 0 {
		in.Skipped[report.Filtered] = st.Filtered
	}
	return in
}

// finish builds the report of what the tracker (after Finish) analyzed,
// prints it, and returns the exit code. inputErr is the error that ended
// the input early, if any: it is reported, and the exit code is 2.
//
// With -w, the packets of the connections that matter are then written
// (out).
func finish(cfg *config, format report.Format, in report.Input, tr *tracker.Tracker, inputErr error, out *pcapOut, stdout, stderr io.Writer) int {
	if inputErr != nil {
		in.Error = inputErr.Error()
	}
	cfg.decap.decapInput(&in)
	rep := report.BuildStreamed(in, tr, report.Options{Verbose: cfg.verbose > 0, Tunnels: cfg.decap.tunnels()})
	pictures := cfg.pictures.ladder.set || cfg.pictures.html != ""
	if out != nil || pictures {
		rep.Materialize() // -w and the pictures go through the connections again
	}
	if !pictures {
		// The report has what it needs: what followed segments goes, and
		// the memory it held goes back before the report is printed, so
		// that printing does not add its peak to the analysis's.
		tr.Release()
		if rep.NumConnections() > 10_000 {
			debug.FreeOSMemory() // (a forced collection: worth it only for a big report)
		}
	}
	if err := report.Print(stdout, rep, format, report.PrintOptions{All: cfg.all, Quiet: cfg.quiet, Times: report.TimeFormatOf(cfg.times), Width: terminalColumns(stdout)}); err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v; the report was not written in full\n", writeError(err))
		return exitError
	}
	if err := drawPictures(cfg, rep, tr, stdout); err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	}
	if warning, err := out.finish(cfg, rep, in.Packets, stderr); err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v\n", err)
		return exitError
	} else if warning != "" {
		fmt.Fprintf(stderr, "tcpwatch: %s\n", warning)
	}
	if inputErr != nil {
		fmt.Fprintf(stderr, "tcpwatch: %s\n", inputMessage(inputErr, in.Packets))
		return exitError
	}
	if why := cfg.fail.reason(rep); why != "" {
		fmt.Fprintf(stderr, "tcpwatch: --fail-on %s matched: %s\n", cfg.fail.list, why)
		return exitMatched
	}
	return exitOK
}

// inputMessage is the line tcpwatch prints for the error that ended its
// input after packets packets: an input's error says that what was read
// before it is in the report.
func inputMessage(err error, packets uint64) string {
	var ce *capture.Error
	if errors.As(err, &ce) && packets > 0 {
		if packets == 1 {
			return fmt.Sprintf("%v; the report covers the packet before it", err)
		}
		return fmt.Sprintf("%v; the report covers the %d packets before it", err, packets)
	}
	return err.Error()
}

// writeError is the error for a failed write of the report or the events
// to standard output (a full disk, a reader that went away).
func writeError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("write standard output: %w", err)
}

// feed hands one packet to the tracker: a TCP segment to follow, or just
// the time of any other packet (the capture's clock moves with every packet).
func feed(tr *tracker.Tracker, p *capture.Packet) { feedHashed(tr, p, tracker.FlowHash{}) }

// analyze feeds every packet to the tracker until the input ends, count
// packets have been analyzed (0: no limit) or the reader was interrupted
// (its context ended: a signal), showing its progress if prog is not nil.
// It returns whether it was interrupted,
// and the error that ended the input early, if any.
func analyze(rd *capture.Reader, tr *tracker.Tracker, count uint64, order *fileOrder, prog *progress) (ended, interrupted bool, err error) {
	var p capture.Packet
	var n uint64
	for {
		switch err := rd.Next(&p); {
		case err == io.EOF:
			return true, false, nil
		case err == capture.ErrInterrupted:
			return false, true, nil
		case err != nil:
			return false, false, err
		}
		order.see(rd, &p)
		feed(tr, &p)
		if p.Num%progressEvery == 0 {
			prog.tick(p.Num)
		}
		if p.Kind != capture.Filtered {
			n++
			if count > 0 && n >= count {
				return false, false, nil
			}
		}
	}
}
