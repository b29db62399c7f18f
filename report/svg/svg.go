// Package svg writes small SVG documents: elements with attributes and text,
// escaped as XML (encoding/xml), with numbers printed the same way every
// time, so that the same drawing is always the same bytes.
package svg

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// Doc is an SVG document being written. Its zero value is not usable: use New.
type Doc struct {
	buf   bytes.Buffer
	open  []string // names of the elements not yet closed
	depth int
}

// Attr is one attribute: a name and its value, escaped when written.
type Attr struct{ Name, Value string }

// A returns an attribute.
func A(name, value string) Attr { return Attr{name, value} }

// N returns an attribute whose value is a number, with at most two decimals.
func N(name string, v float64) Attr { return Attr{name, Num(v)} }

// Num formats v with at most two decimals and no trailing zeros.
func Num(v float64) string {
	// 'f' with two decimals always writes the point: the zeros trimmed
	// stop at it.
	s := strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(v, 'f', 2, 64), "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// New starts a document width × height (user units = pixels) with the given
// extra attributes on the root element (a class, a role, an id).
func New(width, height float64, attrs ...Attr) *Doc {
	d := &Doc{}
	root := append([]Attr{A("xmlns", "http://www.w3.org/2000/svg"), N("width", width), N("height", height),
		A("viewBox", "0 0 "+Num(width)+" "+Num(height))}, attrs...)
	d.Open("svg", root...)
	return d
}

// Open starts an element that holds others (g, text with tspans, a link).
func (d *Doc) Open(name string, attrs ...Attr) {
	d.start(name, attrs)
	d.buf.WriteString(">\n")
	d.open = append(d.open, name)
	d.depth++
}

// Close ends the element opened last.
func (d *Doc) Close() {
	name := d.open[len(d.open)-1]
	d.open = d.open[:len(d.open)-1]
	d.depth--
	d.indent()
	d.buf.WriteString("</" + name + ">\n")
}

// Empty writes an element with no content (line, rect, path, circle).
func (d *Doc) Empty(name string, attrs ...Attr) {
	d.start(name, attrs)
	d.buf.WriteString("/>\n")
}

// Text writes an element holding only text (text, title, tspan, style).
func (d *Doc) Text(name, text string, attrs ...Attr) {
	d.start(name, attrs)
	d.buf.WriteByte('>')
	xml.EscapeText(&d.buf, []byte(text))
	d.buf.WriteString("</" + name + ">\n")
}

func (d *Doc) start(name string, attrs []Attr) {
	d.indent()
	d.buf.WriteString("<" + name)
	for _, a := range attrs {
		d.buf.WriteString(" " + a.Name + `="`)
		xml.EscapeText(&d.buf, []byte(a.Value))
		d.buf.WriteByte('"')
	}
}

func (d *Doc) indent() {
	for range d.depth {
		d.buf.WriteByte(' ')
	}
}

// Bytes closes every element still open and returns the document.
func (d *Doc) Bytes() []byte {
	for len(d.open) > 0 {
		d.Close()
	}
	return d.buf.Bytes()
}
