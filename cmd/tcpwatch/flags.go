package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// config is the parsed command line.
type config struct {
	files    files
	iface    string
	count    uint64
	format   string
	verbose  int
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
	twLimit  int
	pictures pictureConfig
	metrics  string // --metrics ADDR
	decap    decapConfig
	ring     ringConfig // --fanout, --libpcap, -B (fanout.go)

	quiet      bool // -q
	times      int  // -t, -tt, ...
	numeric    int  // -n, -nn: accepted; tcpwatch never resolves names
	lineBuffer bool // -l: accepted; every line is written as it is made
	listIfaces bool // -D
	user       string
	progress   string // auto, on, off
	writeFile  string // -w
	write      string // --write: which connections -w writes

	help, version bool
}

// files is the repeatable -r.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }
func (f *files) Type() string       { return "FILE" }

// errDone is parseArgs's answer when the command line asked for something
// it has done already (--help, --version): exit 0.
var errDone = errors.New("done")

// usageError is a command line that cannot be run; its message ends with
// where to find the usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() + " (tcpwatch --help for usage)" }
func (e usageError) Unwrap() error { return e.err }

// parseArgs parses the command line the way tcpdump does (POSIX short
// flags that cluster, -nr FILE, -c10; GNU long flags; options may follow
// the filter; "--" ends the options).
func parseArgs(args []string, stdout io.Writer) (*config, error) {
	c := &config{}
	fs := newFlagSet(c)
	args = ladderArgs(args)
	if err := fs.Parse(args); err != nil {
		return nil, usageError{parseError(fs, args, err)}
	}
	switch {
	case c.help:
		return nil, printHelp(stdout, fs)
	case c.version:
		return nil, printVersion(stdout)
	case c.listIfaces:
		return nil, listInterfaces(stdout)
	}
	c.filter = strings.Join(fs.Args(), " ")
	if err := c.check(fs); err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// parseError is pflag's error in tcpwatch's words: a long flag written
// with one dash, as Go's flag package took it (-stuck), is named as such,
// and a flag that has only a letter is named by it ("-c", not "-c, --c").
func parseError(fs *pflag.FlagSet, args []string, err error) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if len(a) > 2 && a[1] != '-' && a[0] == '-' && len(name) > 1 && fs.Lookup(name) != nil {
			return fmt.Errorf("%s: long flags take two dashes: --%s", a, name)
		}
	}
	msg := err.Error()
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == f.Shorthand {
			msg = strings.ReplaceAll(msg, `"-`+f.Name+`, --`+f.Name+`"`, `"-`+f.Name+`"`)
		}
	})
	if arg, ok := strings.CutPrefix(msg, "invalid argument "); ok {
		return valueError(arg, msg)
	}
	return errors.New(msg)
}

// durationSyntax is what time.ParseDuration takes, whatever the size.
var durationSyntax = regexp.MustCompile(`^[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)

// valueError words pflag's `invalid argument "V" for "FLAG" flag: why`
// (arg is what follows "invalid argument ") for the flags whose own words
// would puzzle: a packet count, a count flag given a value, a duration too
// long for Go's.
func valueError(arg, msg string) error {
	v, rest, _ := strings.Cut(arg, " for ")
	v = strings.Trim(v, `"`)
	switch {
	case strings.HasPrefix(rest, `"-c" flag:`):
		if n, err := strconv.ParseUint(v, 10, 64); err != nil && errors.Is(err, strconv.ErrRange) && n > 0 {
			return fmt.Errorf("-c %s: invalid packet count, want 1 to %d", v, uint64(math.MaxUint64))
		}
		return fmt.Errorf("-c %s: invalid packet count, want 1 or more", v)
	case strings.HasPrefix(rest, `"-v, --verbose" flag:`):
		return fmt.Errorf("--verbose=%s: -v takes no value; give it once, or twice (-vv) for more", v)
	case strings.Contains(rest, "duration") && durationSyntax.MatchString(v):
		if _, err := time.ParseDuration(v); err != nil { // (well formed, so too long)
			flag, _, _ := strings.Cut(strings.Trim(rest, `"`), `"`)
			return fmt.Errorf("%s %s: too long, at most %v", flag[strings.LastIndex(flag, " ")+1:], v, time.Duration(math.MaxInt64))
		}
	}
	return errors.New(msg)
}

func addInputFlags(fs *pflag.FlagSet, c *config) {
	fs.VarP(&c.files, "r", "r", "read packets from `FILE` (pcap or pcapng, gzip allowed; - for standard input); repeat to read several in order")
	fs.StringVarP(&c.iface, "interface", "i", "", "capture live on `IFACE` (any: all interfaces)")
	fs.Uint64VarP(&c.count, "c", "c", 0, "stop after `N` packets")
}

// newFlagSet is tcpwatch's flags, set into c as they are parsed. Each
// group of flags is registered by a function of its own, in the order
// --help lists them.
func newFlagSet(c *config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("tcpwatch", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by run
	fs.Usage = func() {}     // and the usage is printed for --help only, never on an error
	fs.SortFlags = false
	addInputFlags(fs, c)
	addOutputFlags(fs, c)
	addWriteFlags(fs, c)
	addAnalysisFlags(fs, c)
	addDecapFlags(fs, &c.decap)
	addFindingFlags(fs, c)
	addPictureFlags(fs, c)
	addLiveFlags(fs, c)
	addRingFlags(fs, &c.ring)
	addMetricsFlags(fs, c)
	addInfoFlags(fs, c)
	return fs
}

func addWriteFlags(fs *pflag.FlagSet, c *config) {
	fs.StringVarP(&c.writeFile, "w", "w", "", "write the packets of the connections that matter to `FILE`, a pcap file")
	fs.StringVar(&c.write, "write", "warning", "which connections -w writes: `LIST` of anomaly kinds, a severity (that or worse), any (a finding) or all")
}

func addOutputFlags(fs *pflag.FlagSet, c *config) {
	fs.StringVarP(&c.format, "format", "F", "table", "output `FORMAT`: table, json, ndjson, csv or zeek")
	fs.CountVarP(&c.verbose, "verbose", "v", "add each connection's timeline of state transitions")
	fs.BoolVar(&c.all, "all", false, "list every connection and finding in the table (by default a capture of more than 50 connections is rolled up: services, findings by kind, the connections that matter most)")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "table: the summary and the findings only, no connections (a rollup keeps its services and findings)")
	fs.CountVarP(&c.times, "t", "t", "table: times as tcpdump prints them: -t none, -tt seconds since 1970, -ttt since the previous time, -tttt date and time, -ttttt since the first packet")
	fs.CountVarP(&c.numeric, "n", "n", "accepted for tcpdump's sake: tcpwatch never resolves addresses or ports to names")
	fs.StringVar(&c.progress, "progress", "auto", "show how far reading files has come, on standard error when it is a terminal; `WHEN`: auto (once reading has taken a second), on (at once) or off")
	fs.BoolVarP(&c.lineBuffer, "l", "l", false, "accepted for tcpdump's sake: standard output is not block-buffered (what is printed is written as soon as it is made)")
}

func addAnalysisFlags(fs *pflag.FlagSet, c *config) {
	fs.DurationVar(&c.msl, "msl", tracker.DefaultMSL, "maximum segment lifetime; TIME_WAIT lasts 2×MSL")
	fs.DurationVar(&c.stuck, "stuck", 60*time.Second, "how long a side may sit idle in CLOSE_WAIT or FIN_WAIT_2, or a zero window stall its peer, before it is flagged")
	fs.StringVar(&c.failOn, "fail-on", "", "exit 1 if a finding matches `LIST`: anomaly kinds (comma-separated), a severity (info, warning, critical: that or worse), or any")
	fs.IntVar(&c.maxConns, "max-conns", tracker.DefaultMaxConns, "cap on connections followed at once; beyond it, those whose handshake never completed are evicted first")
	fs.IntVar(&c.keep, "keep", tracker.DefaultMaxKept, "connections kept for the report after they ended; older ones are counted, not listed (bounds memory in long live runs and huge files)")
}

// addFindingFlags registers the detectors' thresholds.
func addFindingFlags(fs *pflag.FlagSet, c *config) {
	fs.IntVar(&c.twLimit, "time-wait-limit", tracker.DefaultThresholds.TimeWaitLimit,
		"TIME_WAITs one client host may hold towards one service before time_wait_buildup; the default is a quarter of Linux's 28,232 ephemeral ports")
}

func addLiveFlags(fs *pflag.FlagSet, c *config) {
	fs.IntVarP(&c.snaplen, "snapshot-length", "s", liveSnaplen, "live: snapshot length in bytes; the default keeps the headers only (payload lengths come from the IP header), so the kernel ring holds many packets")
	fs.BoolVarP(&c.noPromis, "no-promiscuous-mode", "p", false, "live: do not put the interface into promiscuous mode")
	fs.DurationVar(&c.duration, "duration", 0, "live: stop after this long (0: until stopped)")
	fs.DurationVar(&c.interval, "interval", time.Second, "live: how often the live view is redrawn or a stats event written")
	fs.StringVarP(&c.user, "relinquish-privileges", "Z", "", "once the input is open, switch from root to `USER` (uid, gid and supplementary groups), as tcpdump does")
	fs.BoolVarP(&c.listIfaces, "list-interfaces", "D", false, "list the interfaces libpcap can capture on, as tcpdump -D does, and exit")
}

func addInfoFlags(fs *pflag.FlagSet, c *config) {
	fs.BoolVar(&c.version, "version", false, "print tcpwatch's version and commit, and exit")
	fs.BoolVarP(&c.help, "help", "h", false, "print this help, and exit")
}

// check validates the parsed flags against each other.
func (c *config) check(fs *pflag.FlagSet) error {
	switch {
	case fs.Changed("c") && c.count == 0:
		return errors.New("-c 0: invalid packet count, want 1 or more")
	case c.msl <= 0:
		return fmt.Errorf("--msl %v: must be positive", c.msl)
	case c.msl > tracker.MaxMSL:
		return fmt.Errorf("--msl %v: at most %v", c.msl, tracker.MaxMSL)
	case c.stuck <= 0:
		return fmt.Errorf("--stuck %v: must be positive", c.stuck)
	case c.maxConns <= 0:
		return fmt.Errorf("--max-conns %d: must be positive", c.maxConns)
	case c.keep <= 0:
		return fmt.Errorf("--keep %d: must be positive", c.keep)
	case c.maxConns > tracker.MaxCap:
		return fmt.Errorf("--max-conns %d: at most %s", c.maxConns, tracker.Grouped(tracker.MaxCap))
	case c.keep > tracker.MaxCap:
		return fmt.Errorf("--keep %d: at most %s", c.keep, tracker.Grouped(tracker.MaxCap))
	case c.twLimit <= 0:
		return fmt.Errorf("--time-wait-limit %d: must be positive", c.twLimit)
	case c.times > 5:
		return fmt.Errorf("-%s: at most five t's (-t, -tt, -ttt, -tttt, -ttttt)", strings.Repeat("t", c.times))
	case fs.Changed("format") && c.format == "":
		return errors.New(`-F "": give a format: table, json, ndjson, csv or zeek`)
	case fs.Changed("relinquish-privileges") && c.user == "":
		return errors.New(`-Z "": give the user to switch to`)
	case fs.Changed("w") && c.writeFile == "":
		return errors.New(`-w "": give the name of the file to write`)
	case c.writeFile == "-":
		return errors.New("-w -: standard output takes the report; give the name of the file to write")
	case fs.Changed("html") && c.pictures.html == "":
		return errors.New(`--html "": give the name of the file to write`)
	case c.interval <= 0:
		return fmt.Errorf("--interval %v: must be positive", c.interval)
	case c.duration < 0:
		return fmt.Errorf("--duration %v: must not be negative", c.duration)
	case c.snaplen < 0:
		return fmt.Errorf("-s %d: invalid snapshot length, want 0 (262144, as tcpdump) or more", c.snaplen)
	case fs.Changed("fail-on") && strings.TrimSpace(c.failOn) == "":
		return fmt.Errorf("--fail-on %q: give anomaly kinds, a severity (info, warning, critical) or any", c.failOn)
	case fs.Changed("write") && strings.TrimSpace(c.write) == "":
		return fmt.Errorf("--write %q: give anomaly kinds, a severity (info, warning, critical), any or all", c.write)
	case fs.Changed("write") && c.writeFile == "":
		return errors.New("--write chooses what -w writes: give -w FILE too")
	}
	if _, err := report.ParseFormat(c.format); err != nil {
		return err
	}
	if err := checkInputs(c); err != nil {
		return err
	}
	switch c.progress {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("--progress %q: want auto, on or off", c.progress)
	}
	f, err := parseFailOn(c.failOn)
	if err != nil {
		return err
	}
	c.fail = f
	if err := checkPictureFlags(c); err != nil {
		return err
	}
	if err := checkMetricsFlags(c); err != nil {
		return err
	}
	if err := c.ring.check(); err != nil {
		return err
	}
	return c.checkWrite()
}

// checkWrite validates -w and --write.
func (c *config) checkWrite() error {
	if c.write != "all" {
		if _, err := parseKinds("--write", c.write); err != nil {
			return fmt.Errorf("%w, or all", err)
		}
	}
	if c.writeFile == "" {
		return nil
	}
	for _, f := range c.files {
		if f == "-" {
			return errors.New("-w reads the input twice: give a file, not standard input (-r -)")
		}
		if isPipe(f) {
			return fmt.Errorf("-w reads the input twice: give a file, not a pipe or FIFO (-r %s)", f)
		}
	}
	return nil
}

// count returns how many of list are s.
// checkInputs checks what is to be read: files or an interface, and each
// file once. It runs after the flags' values are checked, so that a bad
// value is named even when the input is missing too.
func checkInputs(c *config) error {
	switch {
	case len(c.files) == 0 && c.iface == "":
		return errors.New("nothing to read: give -r FILE or -i IFACE")
	case len(c.files) > 0 && c.iface != "":
		return errors.New("-r and -i cannot be used together")
	case count(c.files, "-") > 1:
		return errors.New("-r - given more than once: standard input can be read only once")
	}
	if a, b, ok := sameFile(c.files); ok {
		if a == b {
			return fmt.Errorf("-r %s given twice: each file is read once (its packets twice would be retransmissions)", a)
		}
		return fmt.Errorf("-r %s and -r %s are the same file: each file is read once (its packets twice would be retransmissions)", a, b)
	}
	return nil
}

// sameFile returns the first two names that open the same file (write.go's
// sameFileAs). A name that cannot be stat'ed is left for opening it to
// report, and "-" is checked by count.
func sameFile(names []string) (a, b string, ok bool) {
	for i, n := range names {
		if n == "-" {
			continue
		}
		if a, ok := sameFileAs(n, names[:i]); ok {
			return a, n, true
		}
	}
	return "", "", false
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// isPipe reports whether the file named is a pipe, a FIFO or a device
// (/dev/stdin of a pipe, <(zcat x.pcap.gz), mkfifo): it cannot be read a
// second time, as standard input cannot; opening it again finds it
// drained, or waits for a writer that never comes.
func isPipe(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeSocket|os.ModeDevice|os.ModeCharDevice) != 0
}
