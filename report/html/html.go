package html

import (
	_ "embed"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/ladder"
	"github.com/tcpwatch/tcpwatch/tracker"
)

//go:embed report.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"clock":    func(t report.Time) string { return clock(int64(t)) },
	"date":     report.DateClock,
	"duration": func(c *report.Connection) string { return tracker.FormatDuration(c.Duration()) },
	"count":    tracker.Grouped[uint64],
	"countInt": tracker.Grouped[int],
	"kinds":    kindsText,
}).Parse(pageText))

// MaxLadders caps the ladders on one page: the first this many listed
// connections get one (a large capture with --all lists them all).
const MaxLadders = 200

// MaxSteps caps a ladder's rows on the page: a long transfer is drawn by
// its first and last MaxSteps/2 steps (its timeline is complete).
const MaxSteps = 400

// Data is what the page shows.
type Data struct {
	Report  *report.Report
	Listed  []int                     // indexes in Report.Connections of the listed connections
	Ladders map[uint64]*ladder.Ladder // by connection ID: the listed connections'
	States  *StateSeries
	SYNs    *SYNCounter
}

// view is Data as the template reads it.
type view struct {
	R         *report.Report
	Title     string
	Duration  string
	Skipped   string
	Services  []service
	More      int
	Listed    []listed
	Left      int
	NoLadder  int             // listed connections beyond MaxLadders
	Drawn     map[uint64]bool // connections with a ladder on the page
	States    []stateRow
	Charts    []template.HTML
	SYNChart  template.HTML
	Anomalies []report.Anomaly
}

type listed struct {
	C        *report.Connection
	Ladder   template.HTML
	Timeline []report.Transition
}

type stateRow struct {
	State          tracker.State
	Client, Server uint64
}

// Write writes the page.
func Write(w io.Writer, d *Data) error {
	r := d.Report
	v := &view{R: r, Title: "tcpwatch: " + strings.Join(r.Input.Files, ", "), Anomalies: r.Anomalies, Drawn: map[uint64]bool{}}
	if r.Input.Interface != "" {
		v.Title = "tcpwatch: " + r.Input.Interface
	}
	v.Duration = tracker.FormatDuration(time.Duration(r.Input.LastPacket - r.Input.FirstPacket))
	var skipped []string
	for _, k := range report.Skips() {
		if n := r.Input.Skipped[k]; n > 0 {
			skipped = append(skipped, tracker.Grouped(n)+" "+strings.ReplaceAll(k.String(), "_", " "))
		}
	}
	v.Skipped = strings.Join(skipped, ", ")
	v.Services, v.More = services(r)
	for _, i := range d.Listed {
		c := &r.Connections[i]
		l := listed{C: c}
		if ld := d.Ladders[c.ID]; ld != nil {
			l.Ladder = template.HTML(ladder.SVGAtMost(ld, MaxSteps)) // our own writer escaped every text and attribute
			l.Timeline = timeline(ld)
		}
		if l.Ladder == "" {
			v.NoLadder++
		} else {
			v.Drawn[c.ID] = true
		}
		v.Listed = append(v.Listed, l)
	}
	v.Left = len(r.Connections) - len(d.Listed)
	for _, st := range tracker.States() {
		c, s := r.Summary.States.Client[st], r.Summary.States.Server[st]
		if c+s > 0 {
			v.States = append(v.States, stateRow{st, c, s})
		}
	}
	if d.States != nil {
		v.Charts = []template.HTML{template.HTML(stateChart(d.States, tracker.Client)), template.HTML(stateChart(d.States, tracker.Server))}
	}
	if d.SYNs != nil {
		v.SYNChart = template.HTML(synChart(d.SYNs))
	}
	return page.Execute(w, v)
}

func kindsText(ks []tracker.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// timeline lists the ladder's state changes, as the -v timeline does.
func timeline(l *ladder.Ladder) []report.Transition {
	var out []report.Transition
	var was [2]tracker.State
	for i := range l.Steps {
		s := &l.Steps[i]
		for side := tracker.Client; side <= tracker.Server; side++ {
			if !s.Changed[side] {
				continue
			}
			out = append(out, report.Transition{Time: report.Time(s.Time), Packet: s.Packet, Side: side, From: was[side],
				To: s.State[side], Why: s.Why[side], Inferred: s.Kind == ladder.Inferred})
			was[side] = s.State[side]
		}
	}
	return out
}
