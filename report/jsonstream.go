package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// writeJSON writes the report as one JSON document indented by two spaces,
// exactly as encoding/json would, but streams the connections one at a
// time: the rest of the document is encoded first with the connections
// left out, and they are written in their place, so that a report of
// hundreds of thousands of connections is never held a second time as
// its encoding.
func writeJSON(w io.Writer, r *Report) error {
	head := *r
	head.Connections, head.source = nil, nil
	return writeStreamed(w, &head, r, true)
}

// writeNDJSONReport writes the ndjson stream's final report event, one line,
// streamed the same way.
func writeNDJSONReport(w io.Writer, r *Report) error {
	head := *r
	head.Connections, head.source = nil, nil
	return writeStreamed(w, struct {
		Event  string  `json:"event"`
		Report *Report `json:"report"`
	}{"report", &head}, r, false)
}

// writeStreamed encodes doc, whose report's connections are nil, and writes
// it with conns in their place, indented (two spaces, the report at the
// top) or on one line.
func writeStreamed(w io.Writer, doc any, r *Report, indent bool) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	marker := `"connections":`
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	out := b.Bytes()
	if indent {
		out = appendIndented(nil, out, "", "  ") // as enc.SetIndent("", "  ") would (indent.go)
		marker = "\n  \"connections\": "
	}
	i := bytes.Index(out, []byte(marker+"null"))
	if i < 0 {
		return errors.New("report: JSON encoding without its connections field")
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.Write(out[:i+len(marker)])
	if err := writeConnections(bw, r, indent); err != nil {
		return err
	}
	bw.Write(out[i+len(marker)+len("null"):])
	return bw.Flush()
}

// writeConnections writes the connections as the elements of an array: one
// level deep in an indented document, or on one line.
func writeConnections(bw *bufio.Writer, r *Report, indent bool) error {
	switch {
	case r.Connections == nil && r.source == nil:
		bw.WriteString("null")
		return nil
	case r.NumConnections() == 0:
		bw.WriteString("[]")
		return nil
	}
	open, sep, end := "[", ",", "]"
	if indent {
		open, sep, end = "[\n    ", ",\n    ", "\n  ]"
	}
	bw.WriteString(open)
	err := r.eachEncoded(func(dst []byte, i int, c *Connection) ([]byte, error) {
		if i > 0 {
			dst = append(dst, sep...)
		}
		return appendConnectionJSON(dst, c, indent)
	}, func(b []byte) error {
		_, err := bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString(end)
	return nil
}

// appendConnectionJSON appends a connection's JSON, one level deep in an
// indented document or compact, without a newline.
func appendConnectionJSON(dst []byte, c *Connection, indent bool) ([]byte, error) {
	if !indent {
		if out, ok := appendConnection(dst, c); ok { // (connjson.go)
			return out, nil
		}
		return appendEncoded(dst, c)
	}
	scratch := compactBufs.Get().(*[]byte)
	defer compactBufs.Put(scratch)
	out, ok := appendConnection((*scratch)[:0], c)
	*scratch = out
	if !ok {
		var err error
		if out, err = appendEncoded(out[:0], c); err != nil {
			return dst, err
		}
	}
	// As enc.SetIndent("    ", "  ") would, faster (indent.go).
	return appendIndented(dst, out, "    ", "  "), nil
}

// compactBufs holds the buffers connections are encoded compact in before
// they are indented.
var compactBufs = sync.Pool{New: func() any { return new([]byte) }}

// appendEncoded appends c as encoding/json encodes it (without HTML
// escapes), for what appendConnection does not write.
func appendEncoded(dst []byte, c *Connection) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), nil
}
