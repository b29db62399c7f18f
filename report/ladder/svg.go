package ladder

import (
	"fmt"
	"strconv"

	"github.com/tcpwatch/tcpwatch/report/svg"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// The SVG ladder's geometry, in pixels.
const (
	svgWidth    = 900
	clientX     = 260
	serverX     = 680
	headerH     = 56
	rowH        = 30
	findingH    = 34
	slope       = 12 // how far an arrow falls on its way across
	maxDetail   = 66
	fontFamily  = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
	colorText   = "#212529"
	colorDim    = "#adb5bd"
	colorRtx    = "#d9480f"
	colorProbe  = "#868e96"
	colorRST    = "#c92a2a"
	colorInfer  = "#1c7ed6"
	colorWarn   = "#e8590c"
	colorNotice = "#1971c2"
)

// SVG draws the ladder as an SVG document. The root element carries the
// connection's ID and each side's final state (data-conn, data-client-state,
// data-server-state), and each step's group its states after it, so that a
// program reading the drawing finds the states without parsing the text.
func SVG(l *Ladder) []byte { return SVGAtMost(l, 0) }

// SVGAtMost draws at most max steps (0: all): the first and the last
// max/2, with a row between them that says how many were left out, so
// that a long transfer does not make a drawing of thousands of rows. The
// root's states are the final ones either way.
func SVGAtMost(l *Ladder, max int) []byte {
	shown, gapAt, gap := elide(len(l.Steps), max)
	h := headerH + 10
	if gap > 0 {
		h += rowH
	}
	for _, i := range shown {
		h += rowH + findingH*len(l.Steps[i].Findings)
	}
	final := l.Final()
	id := "ladder-" + strconv.FormatUint(l.ID, 10)
	d := svg.New(svgWidth, float64(h+10), svg.A("class", "ladder"), svg.A("id", id),
		svg.A("data-conn", strconv.FormatUint(l.ID, 10)),
		svg.A("data-client-state", final[tracker.Client].String()), svg.A("data-server-state", final[tracker.Server].String()),
		svg.A("font-family", fontFamily), svg.A("font-size", "12"), svg.A("role", "img"))
	d.Text("title", fmt.Sprintf("Connection #%d: %s → %s", l.ID, l.Client, l.Server))
	d.Open("defs")
	for _, c := range []string{colorText, colorRtx, colorProbe, colorRST, colorInfer} {
		d.Open("marker", svg.A("id", id+"-head-"+c[1:]), svg.A("viewBox", "0 0 10 10"), svg.N("refX", 10), svg.N("refY", 5),
			svg.N("markerWidth", 8), svg.N("markerHeight", 8), svg.A("orient", "auto-start-reverse"))
		d.Empty("path", svg.A("d", "M0,0 L10,5 L0,10 z"), svg.A("fill", c))
		d.Close()
	}
	d.Close()
	d.Text("text", "client "+l.Client.String(), svg.N("x", clientX), svg.N("y", 20), svg.A("text-anchor", "middle"), svg.A("font-weight", "bold"))
	d.Text("text", "server "+l.Server.String(), svg.N("x", serverX), svg.N("y", 20), svg.A("text-anchor", "middle"), svg.A("font-weight", "bold"))
	d.Text("text", "CLOSED", svg.N("x", clientX-8), svg.N("y", 42), svg.A("text-anchor", "end"), svg.A("fill", colorDim))
	d.Text("text", "CLOSED", svg.N("x", serverX+8), svg.N("y", 42), svg.A("fill", colorDim))
	for _, x := range []float64{clientX, serverX} {
		d.Empty("line", svg.N("x1", x), svg.N("y1", 30), svg.N("x2", x), svg.N("y2", float64(h)), svg.A("stroke", colorText), svg.N("stroke-width", 2))
	}
	y := headerH
	for k, i := range shown {
		if gap > 0 && k == gapAt {
			d.Text("text", "⋮ "+strconv.Itoa(gap)+" steps not drawn", svg.N("x", float64(clientX+serverX)/2), svg.N("y", float64(y)+18),
				svg.A("text-anchor", "middle"), svg.A("fill", colorProbe), svg.A("class", "elided"))
			y += rowH
		}
		y = svgStep(d, l, &l.Steps[i], id, y)
	}
	return d.Bytes()
}

// elide returns the indexes of the steps to draw out of n, at most max (0:
// all), and where and how many were left out.
func elide(n, max int) (shown []int, gapAt, gap int) {
	if max <= 0 || n <= max {
		max = n
	}
	head := max - max/2
	for i := range n {
		if i < head || i >= n-(max-head) {
			shown = append(shown, i)
		}
	}
	return shown, head, n - max
}

// svgStep draws one step from y and returns the y of the next.
func svgStep(d *svg.Doc, l *Ladder, s *Step, id string, y int) int {
	d.Open("g", svg.A("class", "step"), svg.A("data-kind", [...]string{"segment", "inferred", "timer"}[s.Kind]),
		svg.A("data-packet", strconv.FormatUint(s.Packet, 10)),
		svg.A("data-client-state", s.State[tracker.Client].String()), svg.A("data-server-state", s.State[tracker.Server].String()))
	d.Text("title", stepTitle(l, s))
	top := float64(y) + 14
	d.Text("text", relTime(l, s.Time), svg.N("x", 8), svg.N("y", top+4), svg.A("fill", colorProbe))
	if s.Kind == Segment {
		d.Text("text", "#"+strconv.FormatUint(s.Packet, 10), svg.N("x", 100), svg.N("y", top+4), svg.A("fill", colorProbe))
	}
	for side, x, anchor := tracker.Client, float64(clientX-8), "end"; side <= tracker.Server; side, x, anchor = side+1, serverX+8, "start" {
		attrs := []svg.Attr{svg.N("x", x), svg.N("y", top+4), svg.A("text-anchor", anchor), svg.A("class", "state")}
		if s.Changed[side] {
			attrs = append(attrs, svg.A("font-weight", "bold"), svg.A("fill", colorText))
		} else {
			attrs = append(attrs, svg.A("fill", colorDim))
		}
		d.Text("text", s.State[side].String(), attrs...)
	}
	mid := float64(clientX+serverX) / 2
	if s.Kind == Timer {
		d.Text("text", "("+whyOf(s)+")", svg.N("x", mid), svg.N("y", top+4), svg.A("text-anchor", "middle"),
			svg.A("fill", colorProbe), svg.A("font-style", "italic"))
	} else {
		x1, x2 := float64(clientX), float64(serverX)
		if s.From == tracker.Server {
			x1, x2 = x2, x1
		}
		c := arrowColor(s)
		attrs := []svg.Attr{svg.N("x1", x1), svg.N("y1", top-slope/2), svg.N("x2", x2), svg.N("y2", top+slope/2),
			svg.A("stroke", c), svg.N("stroke-width", 1.5), svg.A("marker-end", "url(#"+id+"-head-"+c[1:]+")")}
		if s.Kind == Inferred {
			attrs = append(attrs, svg.A("stroke-dasharray", "6 4"), svg.A("class", "inferred"))
		}
		d.Empty("line", attrs...)
		d.Text("text", s.Label(), svg.N("x", mid), svg.N("y", top-5), svg.A("text-anchor", "middle"), svg.A("fill", c))
	}
	d.Close()
	y += rowH
	for _, f := range s.Findings {
		c := colorNotice
		if f.Severity >= tracker.Warning {
			c = colorWarn
		}
		d.Open("g", svg.A("class", "finding"), svg.A("data-kind", f.Kind.String()))
		d.Text("title", f.Detail)
		d.Text("text", "⚠ "+f.Title(), svg.N("x", clientX+10), svg.N("y", float64(y)+12),
			svg.A("fill", c), svg.A("font-weight", "bold"))
		d.Text("text", unicodeGlyphs.fit(f.Detail, maxDetail), svg.N("x", clientX+10), svg.N("y", float64(y)+27), svg.A("fill", c),
			svg.A("font-size", "10"))
		d.Close()
		y += findingH
	}
	return y
}

func arrowColor(s *Step) string {
	switch {
	case s.Kind == Inferred:
		return colorInfer
	case s.Flags&tracker.RST != 0:
		return colorRST
	case s.Mark == Retransmission:
		return colorRtx
	case s.Mark != NoMark:
		return colorProbe
	}
	return colorText
}

// stepTitle is a step's tooltip: when, which packet, and why each state
// that changed did.
func stepTitle(l *Ladder, s *Step) string {
	t := relTime(l, s.Time) + " s"
	if s.Packet > 0 {
		t += ", packet " + strconv.FormatUint(s.Packet, 10)
	}
	for side := tracker.Client; side <= tracker.Server; side++ {
		if s.Changed[side] {
			t += "; " + side.String() + " → " + s.State[side].String() + ": " + s.Why[side]
		}
	}
	return t
}

// whyOf is the evidence of a timer step's change: a timer moves one side
// (each has a step of its own).
func whyOf(s *Step) string {
	if s.Changed[tracker.Client] {
		return s.Why[tracker.Client]
	}
	return s.Why[tracker.Server]
}
