package html

import (
	"math"
	"strconv"
	"time"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/svg"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// Buckets is how many time slices the charts divide the capture into.
const Buckets = 120

// Span is the capture's time, divided into Buckets slices.
type Span struct{ Start, End int64 }

// bucket returns the slice t falls in.
func (s Span) bucket(t int64) int {
	if s.End <= s.Start {
		return 0
	}
	b := int((t - s.Start) * Buckets / (s.End - s.Start + 1))
	return min(max(b, 0), Buckets-1)
}

// seconds is the length of one slice.
func (s Span) seconds() float64 {
	return float64(s.End-s.Start+1) / Buckets / 1e9
}

// StateSeries counts, for each side, the connections in each state at the
// end of each slice of the capture.
type StateSeries struct {
	Span  Span
	Count [2][Buckets][]int // by side, slice and state
}

// States follows every connection's transitions over the span: the
// report's Records, whole or frozen with their transitions, and those of
// the connections it forgot (forgotten, if not nil).
func States(conns []*tracker.Record, forgotten *Fold, span Span) *StateSeries {
	n := len(tracker.States())
	s := &StateSeries{Span: span}
	var delta [2][Buckets][]int
	for side := range delta {
		for b := range delta[side] {
			delta[side][b] = make([]int, n)
			s.Count[side][b] = make([]int, n)
		}
	}
	for _, c := range conns {
		for _, tr := range c.Transitions() {
			b := span.bucket(tr.Time)
			delta[tr.Side][b][tr.From]--
			delta[tr.Side][b][tr.To]++
		}
	}
	forgotten.addTo(&delta, span)
	for side := range delta {
		run := make([]int, n)
		for b := range delta[side] {
			for st := range run {
				run[st] += delta[side][b][st]
				s.Count[side][b][st] = run[st]
			}
		}
	}
	return s
}

// SYNCounter counts SYNs (without ACK) per slice of the capture.
type SYNCounter struct {
	Span  Span
	Count [Buckets]uint64
}

// Add counts seg if it is a SYN.
func (c *SYNCounter) Add(seg *tracker.Segment) {
	if seg.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN {
		c.Count[c.Span.bucket(seg.Time)]++
	}
}

// stateColors gives each state a colour of its own in the charts.
var stateColors = map[tracker.State]string{
	tracker.SynSent: "#ffd43b", tracker.SynRcvd: "#fd7e14", tracker.Established: "#40c057",
	tracker.FinWait1: "#74c0fc", tracker.FinWait2: "#4dabf7", tracker.CloseWait: "#e03131",
	tracker.Closing: "#9775fa", tracker.LastAck: "#f783ac", tracker.TimeWait: "#adb5bd", tracker.Listen: "#495057",
}

const (
	chartW, chartH = 900, 220
	padL, padR     = 56, 170
	padT, padB     = 22, 34
)

// stateChart draws one side's connections by state as stacked areas
// (CLOSED left out).
func stateChart(s *StateSeries, side tracker.Side) []byte {
	d := svg.New(chartW, chartH, svg.A("class", "chart states"), svg.A("data-side", side.String()),
		svg.A("font-family", "sans-serif"), svg.A("font-size", "11"), svg.A("role", "img"))
	d.Text("title", "Connections by "+side.String()+" state over the capture")
	top := 1
	for b := range Buckets {
		sum := 0
		for st, n := range s.Count[side][b] {
			if tracker.State(st) != tracker.Closed {
				sum += n
			}
		}
		top = max(top, sum)
	}
	axes(d, s.Span, float64(top), side.String()+" states: connections")
	var below [Buckets]int
	legendY := padT + 4
	for _, st := range tracker.States() {
		if st == tracker.Closed || !present(s, side, st) {
			continue
		}
		var path []byte
		for b := range Buckets {
			path = appendPoint(path, b == 0, x(b), y(float64(below[b]+s.Count[side][b][st]), float64(top)))
			path = appendPoint(path, false, x(b+1), y(float64(below[b]+s.Count[side][b][st]), float64(top)))
		}
		for b := Buckets - 1; b >= 0; b-- {
			path = appendPoint(path, false, x(b+1), y(float64(below[b]), float64(top)))
			path = appendPoint(path, false, x(b), y(float64(below[b]), float64(top)))
		}
		for b := range Buckets {
			below[b] += s.Count[side][b][st]
		}
		d.Open("path", svg.A("d", string(path)+"Z"), svg.A("fill", stateColors[st]), svg.A("data-state", st.String()))
		d.Text("title", st.String())
		d.Close()
		d.Empty("rect", svg.N("x", chartW-padR+12), svg.N("y", float64(legendY)), svg.N("width", 10), svg.N("height", 10), svg.A("fill", stateColors[st]))
		d.Text("text", st.String(), svg.N("x", chartW-padR+28), svg.N("y", float64(legendY+9)))
		legendY += 16
	}
	return d.Bytes()
}

func present(s *StateSeries, side tracker.Side, st tracker.State) bool {
	for b := range Buckets {
		if s.Count[side][b][st] != 0 {
			return true
		}
	}
	return false
}

// synChart draws SYNs per second over the capture: above each slice, the
// rate of the second around it (synRates).
func synChart(c *SYNCounter) []byte {
	d := svg.New(chartW, chartH, svg.A("class", "chart syn-rate"), svg.A("font-family", "sans-serif"),
		svg.A("font-size", "11"), svg.A("role", "img"))
	d.Text("title", "SYNs per second over the capture")
	rates := synRates(c)
	top := 1.0
	for _, r := range rates {
		top = max(top, r)
	}
	axes(d, c.Span, top, "SYN/s")
	slice := tracker.FormatDuration(time.Duration(c.Span.seconds() * 1e9))
	for b, n := range c.Count {
		if n == 0 {
			continue
		}
		rate := rates[b]
		d.Open("rect", svg.N("x", x(b)), svg.N("y", y(rate, top)), svg.N("width", x(b+1)-x(b)),
			svg.N("height", y(0, top)-y(rate, top)), svg.A("fill", "#e8590c"))
		d.Text("title", strconv.FormatUint(n, 10)+" SYNs in this "+slice+" ("+svg.Num(rate)+"/s around it)")
		d.Close()
	}
	return d.Bytes()
}

// synRates is, for each slice, the SYNs per second of the slices around
// it that span a second (slices of a second or more: of itself). The
// divisor is a second at least: where the capture, or what is left of it
// at an end, is shorter, the rate is a lower bound (one SYN in a 27 ms
// capture is one a second, not 37).
func synRates(c *SYNCounter) [Buckets]float64 {
	slice := c.Span.seconds()
	k := 1
	if slice > 0 && slice < 1 {
		k = min(int(math.Ceil(1/slice)), Buckets)
	}
	var rates [Buckets]float64
	for b := range Buckets {
		lo := max(b-k/2, 0)
		hi := min(lo+k, Buckets)
		var n uint64
		for _, m := range c.Count[lo:hi] {
			n += m
		}
		rates[b] = float64(n) / max(float64(hi-lo)*slice, 1)
	}
	return rates
}

// axes draws the frame, the top value and the span's start and end times.
func axes(d *svg.Doc, span Span, top float64, unit string) {
	d.Empty("rect", svg.N("x", padL), svg.N("y", padT), svg.N("width", chartW-padL-padR), svg.N("height", chartH-padT-padB),
		svg.A("fill", "#f8f9fa"), svg.A("stroke", "#ced4da"))
	d.Text("text", svg.Num(top), svg.N("x", padL-6), svg.N("y", padT+10), svg.A("text-anchor", "end"))
	d.Text("text", "0", svg.N("x", padL-6), svg.N("y", chartH-padB), svg.A("text-anchor", "end"))
	d.Text("text", unit, svg.N("x", padL), svg.N("y", padT-4), svg.A("fill", "#495057"))
	d.Text("text", clock(span.Start), svg.N("x", padL), svg.N("y", chartH-padB+16))
	d.Text("text", clock(span.End), svg.N("x", chartW-padR), svg.N("y", chartH-padB+16), svg.A("text-anchor", "end"))
}

func x(b int) float64 { return padL + float64(b)*float64(chartW-padL-padR)/Buckets }

func y(v, top float64) float64 { return chartH - padB - v/top*float64(chartH-padT-padB) }

func appendPoint(p []byte, first bool, px, py float64) []byte {
	if first {
		p = append(p, 'M')
	} else {
		p = append(p, 'L')
	}
	return append(append(append(p, svg.Num(px)...), ','), svg.Num(py)...)
}

// clock formats a capture time as UTC time of day with microseconds.
func clock(t int64) string {
	if t == 0 {
		return ""
	}
	return report.Clock(report.Time(t))
}
