package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/html"
	"github.com/tcpwatch/tcpwatch/report/ladder"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// pictureConfig holds the options that draw connections: ladders in the
// terminal, the HTML report.
type pictureConfig struct {
	ladder ladderIDs // --ladder: every listed connection, or these IDs
	ascii  bool      // --ascii
	html   string    // --html FILE
	out    *os.File  // FILE, created before the input is read
	// forgotten counts the transitions of the connections forgotten
	// beyond --keep, for the HTML report's charts.
	forgotten *html.Fold
}

// openHTML creates the --html file before the input is read (after -Z, as
// -w's), so that a path that cannot be written is an error at once, not
// after the analysis. It refuses a file that is an input or -w's file
// (-w's is created first): creating it would empty it.
func (p *pictureConfig) openHTML(inputs []string, writeFile string) error {
	if p.html == "" {
		return nil
	}
	if name, ok := sameFileAs(p.html, inputs); ok {
		return fmt.Errorf("--html %q: it is also an input (-r %q); write to another file", p.html, name)
	}
	if _, ok := sameFileAs(p.html, []string{writeFile}); ok && writeFile != "" {
		return fmt.Errorf("--html %q: it is also -w's file; write to another file", p.html)
	}
	f, err := os.Create(p.html)
	if err != nil {
		return outputFileError("--html", p.html, err)
	}
	p.out = f
	return nil
}

// closeHTML closes the --html file, and removes it if the run failed
// before writing it (it is empty).
func (p *pictureConfig) closeHTML() {
	if p.out != nil {
		p.out.Close()
		removeIfEmpty(p.html)
	}
}

// ladderIDs is --ladder's value: set with no IDs means every listed
// connection.
type ladderIDs struct {
	set bool
	ids []uint64
}

func (l *ladderIDs) String() string {
	s := make([]string, len(l.ids))
	for i, id := range l.ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ",")
}

// Set takes "true" (the flag alone) or a comma-separated list of IDs.
func (l *ladderIDs) Set(v string) error {
	l.set = true
	if v == "true" {
		return nil
	}
	for _, f := range strings.Split(v, ",") {
		id, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(f), "#"), 10, 64)
		if err != nil || id == 0 {
			return fmt.Errorf("--ladder %q: want connection IDs as the table numbers them (--ladder 3 or --ladder 3,7)", v)
		}
		if !slices.Contains(l.ids, id) { // each drawn once
			l.ids = append(l.ids, id)
		}
	}
	return nil
}

func (l *ladderIDs) Type() string { return "ID[,ID...]" }

// addPictureFlags registers the drawing options.
func addPictureFlags(fs *pflag.FlagSet, c *config) {
	fs.Var(&c.pictures.ladder, "ladder", "draw a ladder diagram of each listed connection, or of the connections `ID[,ID...]`, after the report")
	fs.Lookup("ladder").NoOptDefVal = "true" // --ladder alone: every listed connection
	fs.BoolVar(&c.pictures.ascii, "ascii", false, "draw ladders in plain ASCII instead of Unicode box drawing")
	fs.StringVar(&c.pictures.html, "html", "", "also write a self-contained HTML report with charts and ladders to `FILE`")
}

// ladderArgs rewrites "--ladder 3,7" as "--ladder=3,7", so that the IDs
// are the flag's and not the first word of a filter (no BPF filter is a
// list of numbers); the flag alone stays alone. A word with a comma is
// the flag's too, as no BPF filter has one: "--ladder 3,x" is a bad list
// of IDs, not a bad filter; a flag after it is not ("--ladder
// --fail-on=reset,syn_flood").
func ladderArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--ladder" || a == "-ladder") && i+1 < len(args) && ladderValue(args[i+1]) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// ladderValue reports whether s, after a bare --ladder, is its value: a
// list of IDs, or a word with a comma that is not a flag.
func ladderValue(s string) bool {
	return isIDList(s) || !strings.HasPrefix(s, "-") && strings.Contains(s, ",")
}

func isIDList(s string) bool {
	return s != "" && strings.Trim(s, "0123456789,#") == ""
}

// checkPictureFlags refuses drawings that cannot be made: the segments of
// the drawn connections are read again from the files.
func checkPictureFlags(c *config) error {
	p := &c.pictures
	if !p.ladder.set && p.html == "" {
		if p.ascii {
			return errors.New("--ascii draws ladders: give --ladder too")
		}
		return nil
	}
	what := "--ladder"
	if !p.ladder.set {
		what = "--html"
	}
	if c.iface != "" {
		return fmt.Errorf("%s needs -r FILE: the drawn connections' segments are read again from the file", what)
	}
	for _, f := range c.files {
		if f == "-" {
			return fmt.Errorf("%s cannot read standard input twice: save the capture to a file and give -r FILE", what)
		}
		if isPipe(f) {
			return fmt.Errorf("%s cannot read a pipe or FIFO twice: save the capture to a file and give -r FILE", what)
		}
	}
	if p.ladder.set && c.format != "table" {
		return fmt.Errorf("--ladder draws in the table output only, not with -F %s; --html FILE draws ladders as SVG", c.format)
	}
	if p.ladder.set && len(p.ladder.ids) == 0 && c.quiet {
		return errors.New("--ladder without IDs draws the connections the table lists, and -q lists none: name them (--ladder 3,7) or leave out -q")
	}
	return nil
}

// drawPictures draws what the picture options ask for, after the report
// rep of the tracker tr was printed: the segments of the connections drawn
// are read again from the files, and nothing is recorded for the others.
func drawPictures(cfg *config, rep *report.Report, tr *tracker.Tracker, stdout io.Writer) error {
	p := &cfg.pictures
	if !p.ladder.set && p.html == "" {
		return nil
	}
	records := tr.Records()
	byID := make(map[uint64]*tracker.Record, len(records))
	for _, r := range records {
		byID[r.ID] = r
	}
	terminal, err := ladderConns(cfg, rep, byID)
	if err != nil {
		return err
	}
	listed := report.Listed(rep, report.PrintOptions{All: cfg.all})
	conns := terminal
	if p.html != "" {
		conns = union(terminal, listedConns(rep, listed[:min(len(listed), html.MaxLadders)], byID))
	}
	rec := ladder.NewRecorder(trackerConfig(cfg), conns)
	var syns *html.SYNCounter
	if p.html != "" {
		syns = &html.SYNCounter{Span: htmlSpan(rep)}
	}
	if err := reread(cfg, rep.Input.Packets, rec, syns); err != nil {
		return err
	}
	ladders := make(map[uint64]*ladder.Ladder)
	for _, l := range rec.Ladders(tr.Anomalies()) {
		ladders[l.ID] = l
	}
	if p.html != "" {
		d := &html.Data{Report: rep, Listed: listed, Ladders: ladders, SYNs: syns,
			States: html.States(records, p.forgotten, syns.Span)}
		if err := writeHTML(p.html, p.out, d); err != nil {
			return err
		}
	}
	if !p.ladder.set {
		return nil
	}
	if len(terminal) == 0 {
		// A rolled-up capture lists the connections that matter; none did.
		if _, err := fmt.Fprintln(stdout, "\nNo ladder: no connection is listed (--all lists every one; --ladder ID draws any of them)."); err != nil {
			return writeError(err)
		}
		return nil
	}
	opts := ladder.TextOptions{Width: termWidth(stdout), ASCII: p.ascii}
	for _, c := range terminal {
		if _, err := fmt.Fprintln(stdout); err != nil {
			return writeError(err)
		}
		if err := ladder.Text(stdout, ladders[c.ID], opts); err != nil {
			return writeError(err)
		}
	}
	return nil
}

// ladderConns returns the connections --ladder draws in the terminal: the
// ones it names, or every connection the table lists.
func ladderConns(cfg *config, rep *report.Report, byID map[uint64]*tracker.Record) ([]*tracker.Record, error) {
	if !cfg.pictures.ladder.set {
		return nil, nil
	}
	ids := cfg.pictures.ladder.ids
	if len(ids) == 0 {
		return listedConns(rep, report.Listed(rep, report.PrintOptions{All: cfg.all}), byID), nil
	}
	var out []*tracker.Record
	for _, id := range ids {
		c := byID[id]
		if c == nil {
			return nil, fmt.Errorf("--ladder %d: no connection #%d in the report (it lists %s)%s", id, id,
				tracker.Grouped(len(rep.Connections)), leftOut(cfg, rep.Input.Evicted))
		}
		out = append(out, c)
	}
	return out, nil
}

// leftOut says which connections the report leaves out, and how to keep
// them, for a --ladder ID it does not list; "" if it leaves none out.
func leftOut(cfg *config, ev report.Evicted) string {
	var why []string
	if ev.Forgotten > 0 {
		why = append(why, fmt.Sprintf("%s that ended were forgotten beyond --keep %s (raise it to keep them)",
			tracker.Grouped(ev.Forgotten), tracker.Grouped(cfg.keep)))
	}
	if ev.SynFlood > 0 {
		why = append(why, fmt.Sprintf("%s half-open ones of a SYN flood are summarized in its finding (--all keeps them)", tracker.Grouped(ev.SynFlood)))
	}
	if ev.Embryonic > 0 {
		why = append(why, fmt.Sprintf("%s evicted from the full flow table before their handshake completed (raise --max-conns)", tracker.Grouped(ev.Embryonic)))
	}
	if len(why) == 0 {
		return ""
	}
	return ": " + strings.Join(why, "; ")
}

func listedConns(rep *report.Report, listed []int, byID map[uint64]*tracker.Record) []*tracker.Record {
	var out []*tracker.Record
	for _, i := range listed {
		if c := byID[rep.Connections[i].ID]; c != nil {
			out = append(out, c)
		}
	}
	return out
}

// union returns a's connections, then b's not in a.
func union(a, b []*tracker.Record) []*tracker.Record {
	seen := make(map[*tracker.Record]bool, len(a))
	out := append([]*tracker.Record(nil), a...)
	for _, c := range a {
		seen[c] = true
	}
	for _, c := range b {
		if !seen[c] {
			out = append(out, c)
		}
	}
	return out
}

// htmlSpan is the capture's time, for the charts.
func htmlSpan(rep *report.Report) html.Span {
	return html.Span{Start: int64(rep.Input.FirstPacket), End: max(int64(rep.Input.LastPacket), int64(rep.Input.CaptureEnd))}
}

// writeHTML writes the HTML report to name, into f if it is open already.
func writeHTML(name string, f *os.File, d *html.Data) error {
	if f == nil {
		var err error
		if f, err = os.Create(name); err != nil {
			return outputFileError("--html", name, err)
		}
	}
	w := bufio.NewWriter(f)
	var err error
	err = html.Write(w, d)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return outputFileError("--html", name, err)
	}
	return nil
}

// reread reads the files again, up to the packet the first reading ended
// at, gives the recorder the segments it wants and counts SYNs.
func reread(cfg *config, packets uint64, rec *ladder.Recorder, syns *html.SYNCounter) error {
	if rec.Len() == 0 && syns == nil {
		return nil
	}
	rd, err := capture.OpenFiles(cfg.files, cfg.filter)
	if err != nil {
		return fmt.Errorf("reading again for the drawings: %w%s", err, afterSwitch(cfg))
	}
	defer rd.Close()
	cfg.decap.configure(rd)
	var p capture.Packet
	for {
		switch err := rd.Next(&p); {
		case err == io.EOF:
			return nil
		case err != nil && p.Num >= packets:
			return nil // where the first reading ended too (its error is reported)
		case err != nil:
			return fmt.Errorf("reading again for the drawings: %w%s", err, afterSwitch(cfg))
		}
		if p.Num > packets {
			return nil
		}
		if p.Kind != capture.TCP {
			continue
		}
		if syns != nil {
			syns.Add(&p.Seg)
		}
		rec.Observe(&p.Seg) // it ignores the connections not drawn
	}
}

// termWidth is the width of the terminal w is, or ladder.DefaultWidth.
func termWidth(w io.Writer) int {
	if cols := terminalColumns(w); cols > 0 {
		return cols
	}
	return ladder.DefaultWidth
}

// terminalColumns is the width of the terminal w is, 0 if it is none.
func terminalColumns(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}
