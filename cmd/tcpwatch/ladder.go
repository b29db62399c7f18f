package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/ladder"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// pictureConfig holds the options that draw connections: ladders in the
// terminal, the HTML report.
type pictureConfig struct {
	ladder ladderIDs // --ladder: every listed connection, or these IDs
	ascii  bool      // --ascii
	html   string    // --html FILE
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
		l.ids = append(l.ids, id)
	}
	return nil
}

// IsBoolFlag lets --ladder stand alone (flag package).
func (l *ladderIDs) IsBoolFlag() bool { return true }

// addPictureFlags registers the drawing options.
func addPictureFlags(fs *flag.FlagSet, c *config) {
	fs.Var(&c.pictures.ladder, "ladder", "draw a ladder diagram of each listed connection, or of the connections `ID[,ID...]`, after the report")
	fs.BoolVar(&c.pictures.ascii, "ascii", false, "draw ladders in plain ASCII instead of Unicode box drawing")
	fs.StringVar(&c.pictures.html, "html", "", "also write a self-contained HTML report with charts and ladders to `FILE`")
}

// ladderArgs rewrites "--ladder 3,7" as "--ladder=3,7", so that the IDs
// are the flag's and not the first word of a filter (no BPF filter is a
// list of numbers); the flag alone stays alone.
func ladderArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--ladder" || a == "-ladder") && i+1 < len(args) && isIDList(args[i+1]) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
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
	}
	if p.ladder.set && c.format != "table" {
		return fmt.Errorf("--ladder draws with the table format only (-F %s); --html FILE draws ladders as SVG", c.format)
	}
	return nil
}

// drawPictures draws what the picture options ask for, after the report
// rep of the tracker tr was printed.
func drawPictures(cfg *config, rep *report.Report, tr *tracker.Tracker, stdout io.Writer) error {
	p := &cfg.pictures
	if !p.ladder.set && p.html == "" {
		return nil
	}
	conns, err := drawnConns(cfg, rep, tr)
	if err != nil {
		return err
	}
	rec := ladder.NewRecorder(trackerConfig(cfg), conns)
	if err := reread(cfg, rep.Input.Packets, rec); err != nil {
		return err
	}
	ladders := rec.Ladders(tr.Anomalies())
	if p.ladder.set {
		opts := ladder.TextOptions{Width: termWidth(stdout), ASCII: p.ascii}
		for _, l := range ladders {
			if _, err := fmt.Fprintln(stdout); err != nil {
				return writeError(err)
			}
			if err := ladder.Text(stdout, l, opts); err != nil {
				return writeError(err)
			}
		}
	}
	return nil
}

// drawnConns returns the connections to draw: those --ladder names, or
// every connection the table lists.
func drawnConns(cfg *config, rep *report.Report, tr *tracker.Tracker) ([]*tracker.Conn, error) {
	byID := make(map[uint64]*tracker.Conn)
	for _, c := range tr.Conns() {
		byID[c.ID] = c
	}
	var out []*tracker.Conn
	if ids := cfg.pictures.ladder.ids; len(ids) > 0 {
		for _, id := range ids {
			c := byID[id]
			if c == nil {
				return nil, fmt.Errorf("--ladder %d: no connection #%d in the report (it lists %d)", id, id, len(rep.Connections))
			}
			out = append(out, c)
		}
		return out, nil
	}
	for _, i := range report.Listed(rep, report.PrintOptions{All: cfg.all}) {
		if c := byID[rep.Connections[i].ID]; c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// reread reads the files again, up to the packet the first reading ended
// at, and gives the recorder the segments it wants.
func reread(cfg *config, packets uint64, rec *ladder.Recorder) error {
	if rec.Len() == 0 {
		return nil
	}
	rd, err := capture.OpenFiles(cfg.files, cfg.filter)
	if err != nil {
		return err
	}
	defer rd.Close()
	var p capture.Packet
	for {
		switch err := rd.Next(&p); {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("reading again for the drawings: %w", err)
		}
		if p.Num > packets {
			return nil
		}
		if p.Kind == capture.TCP && rec.Wants(&p.Seg) {
			rec.Observe(&p.Seg)
		}
	}
}

// termWidth is the width of the terminal w is, or ladder.DefaultWidth.
func termWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return ladder.DefaultWidth
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return ladder.DefaultWidth
	}
	return int(ws.Col)
}
