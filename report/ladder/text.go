package ladder

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TextOptions say how to draw a ladder as text.
type TextOptions struct {
	Width int  // columns to fit; below MinWidth, MinWidth
	ASCII bool // plain ASCII instead of Unicode box drawing
}

// MinWidth is the narrowest text ladder: its arrows keep room for a label.
const MinWidth = 60

// DefaultWidth is the width used when the output is not a terminal.
const DefaultWidth = 100

// glyphs are the characters a text ladder is drawn with.
type glyphs struct {
	line, startR, startL, solid, dashed, headR, headL, ellipsis string
}

var (
	unicodeGlyphs = glyphs{"│", "├", "┤", "─", "╌", "▶", "◀", "…"}
	asciiGlyphs   = glyphs{"|", "+", "+", "-", ".", ">", "<", "~"}
)

const stateWidth = len("ESTABLISHED")

// Text draws the ladder to w.
func Text(w io.Writer, l *Ladder, opts TextOptions) error {
	g := unicodeGlyphs
	arrow := "→"
	if opts.ASCII {
		g, arrow = asciiGlyphs, "->"
	}
	width := max(opts.Width, MinWidth)
	tw := len(relTime(l, l.lastTime()))
	pw := len(strconv.FormatUint(l.lastPacket(), 10))
	pw = max(pw, len("pkt"))
	// time, packet, client state, line, arrows, line, server state
	left := 2 + tw + 1 + pw + 2 + stateWidth + 1
	area := max(width-left-1-1-1-stateWidth, 16)

	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s %s\n", l.ID, l.Client, arrow, l.Server)
	head := fmt.Sprintf("  %*s %*s  %*s %s%s%s %s", tw, "time", pw, "pkt", stateWidth, "client", g.line,
		strings.Repeat(" ", area), g.line, "server")
	b.WriteString(strings.TrimRight(head, " ") + "\n")
	row := func(t, pkt string, st [2]string, mid string) {
		s := fmt.Sprintf("  %*s %*s  %*s %s %s", tw, t, pw, pkt, stateWidth, st[0], mid, st[1])
		b.WriteString(strings.TrimRight(s, " ") + "\n")
	}
	row("", "", [2]string{tracker.Closed.String(), tracker.Closed.String()}, g.line+strings.Repeat(" ", area)+g.line)
	for i := range l.Steps {
		s := &l.Steps[i]
		pkt := ""
		if s.Packet > 0 && s.Kind == Segment {
			pkt = strconv.FormatUint(s.Packet, 10)
		}
		row(relTime(l, s.Time), pkt, [2]string{s.State[0].String(), s.State[1].String()}, g.middle(s, area))
		for _, f := range s.Findings {
			writeFinding(&b, f, left, width, opts.ASCII)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// middle draws the part of a step's row between the two lines, the lines
// included.
func (g glyphs) middle(s *Step, area int) string {
	if s.Kind == Timer {
		return g.line + center(g.fit("("+whyOf(s)+")", area-2), area) + g.line
	}
	dash := g.solid
	if s.Kind == Inferred {
		dash = g.dashed
	}
	label := " " + g.fit(s.Label(), area-6) + " "
	fill := area - 3 - utf8.RuneCountInString(label)
	if s.From == tracker.Client {
		return g.startR + dash + label + strings.Repeat(dash, fill+1) + g.headR + g.line
	}
	return g.line + g.headL + strings.Repeat(dash, fill+1) + label + dash + g.startL
}

// fit cuts s to n runes, marking the cut.
func (g glyphs) fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + g.ellipsis
}

func center(s string, n int) string {
	pad := n - utf8.RuneCountInString(s)
	if pad <= 0 {
		return s
	}
	return strings.Repeat(" ", pad/2) + s + strings.Repeat(" ", pad-pad/2)
}

// writeFinding writes a finding under its step, wrapped to the width and
// indented to the client's line.
func writeFinding(b *strings.Builder, f Finding, indent, width int, ascii bool) {
	mark := "⚠"
	if ascii {
		mark = "!"
	}
	text := mark + " " + f.Title() + ": " + f.Detail
	pad := strings.Repeat(" ", indent)
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && indent+utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			b.WriteString(pad + line + "\n")
			line = "   " // continuation under the text
		}
		if line != "" && line != "   " {
			line += " "
		}
		line += word
	}
	if strings.TrimSpace(line) != "" {
		b.WriteString(pad + line + "\n")
	}
}

// relTime is t in seconds since the ladder's first step, "+1.234567".
func relTime(l *Ladder, t int64) string {
	return "+" + strconv.FormatFloat(float64(t-l.Start)/1e9, 'f', 6, 64)
}

func (l *Ladder) lastTime() int64 {
	if len(l.Steps) == 0 {
		return l.Start
	}
	return l.Steps[len(l.Steps)-1].Time
}

func (l *Ladder) lastPacket() uint64 {
	var p uint64
	for i := range l.Steps {
		p = max(p, l.Steps[i].Packet)
	}
	return p
}
