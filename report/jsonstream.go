package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// writeJSON writes the report as one JSON document indented by two spaces,
// exactly as encoding/json would, but streams the connections one at a
// time: the rest of the document is encoded first with the connections
// left out, and they are written in their place, so that a report of
// hundreds of thousands of connections is never held a second time as
// its encoding.
func writeJSON(w io.Writer, r *Report) error {
	head := *r
	head.Connections = nil
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&head); err != nil {
		return err
	}
	doc := b.Bytes()
	const marker = "\n  \"connections\": "
	i := bytes.Index(doc, []byte(marker+"null"))
	if i < 0 {
		return errors.New("report: JSON encoding without its connections field")
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.Write(doc[:i+len(marker)])
	if err := writeConnections(bw, r.Connections); err != nil {
		return err
	}
	bw.Write(doc[i+len(marker)+len("null"):])
	return bw.Flush()
}

// writeConnections writes the connections as the elements of an array one
// level deep in the document.
func writeConnections(bw *bufio.Writer, conns []Connection) error {
	switch {
	case conns == nil:
		bw.WriteString("null")
		return nil
	case len(conns) == 0:
		bw.WriteString("[]")
		return nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("    ", "  ")
	enc.SetEscapeHTML(false)
	bw.WriteString("[\n")
	for i := range conns {
		b.Reset()
		if err := enc.Encode(&conns[i]); err != nil {
			return err
		}
		bw.WriteString("    ")
		bw.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
		if i < len(conns)-1 {
			bw.WriteString(",\n")
		}
	}
	bw.WriteString("\n  ]")
	return nil
}
