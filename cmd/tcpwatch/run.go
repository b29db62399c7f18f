package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
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

const usage = `usage: tcpwatch -r FILE [-r FILE ...] [options] [BPF filter expression]
       tcpwatch -i IFACE [options] [BPF filter expression]

Follows every TCP connection and infers each side's RFC 793 state.

options:
`

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

type config struct {
	files    files
	iface    string
	count    uint64
	format   string
	verbose  bool
	all      bool
	msl      time.Duration
	stuck    time.Duration
	failOn   string
	fail     *failOn
	maxConns int
	keep     int
	snaplen  int
	noPromis bool
	duration time.Duration
	interval time.Duration
	filter   string
	decap    decapConfig
}

func parseArgs(args []string, stdout io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("tcpwatch", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by run
	fs.Usage = func() {}     // and the usage is printed for -h only (below), never on an error

	fs.Var(&c.files, "r", "read packets from `FILE` (pcap or pcapng, gzip allowed; - for standard input); repeat to read several in order")
	fs.StringVar(&c.iface, "i", "", "capture live on `IFACE` (any: all interfaces)")
	fs.Uint64Var(&c.count, "c", 0, "stop after `N` packets")
	fs.StringVar(&c.format, "F", "table", "output `format`: table, json or ndjson")
	fs.StringVar(&c.format, "format", "table", "same as -F")
	fs.BoolVar(&c.verbose, "v", false, "add each connection's timeline of state transitions")
	fs.BoolVar(&c.all, "all", false, "list every connection in the table (by default a large capture lists only those that did not close cleanly)")
	fs.DurationVar(&c.msl, "msl", tracker.DefaultMSL, "maximum segment lifetime; TIME_WAIT lasts 2×MSL")
	fs.DurationVar(&c.stuck, "stuck", 60*time.Second, "how long a side may sit idle in CLOSE_WAIT or FIN_WAIT_2, or a zero window stall its peer, before it is flagged")
	fs.StringVar(&c.failOn, "fail-on", "", "exit 1 if any of these anomaly kinds (comma-separated), a severity (warning, critical: that or worse) or any was found")
	fs.IntVar(&c.keep, "keep", tracker.DefaultMaxKept, "connections kept for the report after they ended; older ones are counted, not listed (bounds memory in long live runs and huge files)")
	fs.IntVar(&c.maxConns, "max-conns", tracker.DefaultMaxConns, "cap on connections followed at once; beyond it, those whose handshake never completed are evicted first")
	fs.IntVar(&c.snaplen, "s", liveSnaplen, "live: snapshot length in bytes; the default keeps the headers only (payload lengths come from the IP header), so the kernel ring holds many packets")
	fs.BoolVar(&c.noPromis, "p", false, "live: do not put the interface into promiscuous mode")
	fs.DurationVar(&c.duration, "duration", 0, "live: stop after this long")
	fs.DurationVar(&c.interval, "interval", time.Second, "live: refresh interval")
	addDecapFlags(fs, &c.decap)
	// Options may also follow the filter, as GNU getopt lets tcpdump take
	// them (tcpwatch -r x.pcap port 80 -F json); "--" ends the options.
	var filter []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			filter = append(filter, rest...) // after "--" every word is the filter's
			break
		}
		filter = append(filter, rest[0])
		args = rest[1:]
	}
	c.filter = strings.Join(filter, " ")
	switch {
	case len(c.files) == 0 && c.iface == "":
		return nil, errors.New("nothing to read: give -r FILE or -i IFACE (tcpwatch -h for help)")
	case len(c.files) > 0 && c.iface != "":
		return nil, errors.New("-r and -i cannot be used together")
	case c.msl <= 0:
		return nil, fmt.Errorf("--msl %v: must be positive", c.msl)
	case c.stuck <= 0:
		return nil, fmt.Errorf("--stuck %v: must be positive", c.stuck)
	}
	if _, err := report.ParseFormat(c.format); err != nil {
		return nil, err
	}
	if c.maxConns <= 0 {
		return nil, fmt.Errorf("--max-conns %d: must be positive", c.maxConns)
	}
	if c.keep <= 0 {
		return nil, fmt.Errorf("--keep %d: must be positive", c.keep)
	}
	f, err := parseFailOn(c.failOn)
	if err != nil {
		return nil, err
	}
	c.fail = f
	return c, nil
}

// run is tcpwatch with its arguments and streams; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
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
	cfg.decap.useDecoder(rd)

	tc := trackerConfig(cfg)
	var events *report.Events
	if format == report.NDJSON {
		events = report.NewEvents(stdout, cfg.verbose)
		events.SetTunnels(cfg.decap.tunnels())
		tc.OnTransition, tc.OnAnomaly = events.Transition, events.Anomaly
	}
	tr := tracker.New(tc)
	ended, interrupted, inputErr := analyze(rd, tr, cfg.count)
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
	if ranOn {
		in.CaptureEnd = report.Time(st.End)
	}
	return finish(cfg, format, in, tr, inputErr, stdout, stderr)
}

// trackerConfig is the tracker's configuration from the command line.
func trackerConfig(cfg *config) tracker.Config {
	limitMemory(cfg.maxConns)
	return tracker.Config{MSL: cfg.msl, MaxConns: cfg.maxConns, MaxKept: cfg.keep,
		Thresholds: tracker.Thresholds{Stuck: cfg.stuck}}
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
func finish(cfg *config, format report.Format, in report.Input, tr *tracker.Tracker, inputErr error, stdout, stderr io.Writer) int {
	if inputErr != nil {
		in.Error = inputErr.Error()
	}
	cfg.decap.decapInput(&in)
	rep := report.Build(in, tr, report.Options{Verbose: cfg.verbose, Tunnels: cfg.decap.tunnels()})
	if err := report.Print(stdout, rep, format, report.PrintOptions{All: cfg.all}); err != nil {
		fmt.Fprintf(stderr, "tcpwatch: %v; the report is lost\n", writeError(err))
		return exitError
	}
	if inputErr != nil {
		fmt.Fprintf(stderr, "tcpwatch: %s\n", inputMessage(inputErr, in.Packets))
		return exitError
	}
	if cfg.fail.matched(rep) {
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

// limitMemory sets a soft memory limit that a full flow table fits in with
// room to spare, so that the garbage collector runs harder before the heap
// doubles under a flood of evicted connections. GOMEMLIMIT overrides it.
func limitMemory(maxConns int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(maxConns)*2048 + 48<<20)
}

// feed hands one packet to the tracker: a TCP segment to follow, or just
// the time of any other packet (the capture's clock moves with every packet).
func feed(tr *tracker.Tracker, p *capture.Packet) {
	if p.Kind == capture.TCP {
		tr.Observe(&p.Seg)
	} else {
		tr.Advance(p.Time)
	}
}

// analyze feeds every packet to the tracker until the input ends, count
// packets have been analyzed (0: no limit) or the reader was interrupted
// (its context ended: a signal). It returns whether it was interrupted,
// and the error that ended the input early, if any.
func analyze(rd *capture.Reader, tr *tracker.Tracker, count uint64) (ended, interrupted bool, err error) {
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
		feed(tr, &p)
		if p.Kind != capture.Filtered {
			n++
			if count > 0 && n >= count {
				return false, false, nil
			}
		}
	}
}
