package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestJSONStreamedAsEncoded: the streamed JSON document, and the ndjson
// stream's report event, are byte for byte what encoding/json makes of the
// whole report, with connections, with none, and with characters
// encoding/json would escape for HTML.
func TestJSONStreamedAsEncoded(t *testing.T) {
	sc := newScene(tracker.Config{MSL: time.Second})
	for _, port := range []uint16{40001, 40002, 40003} {
		sc.handshake(port)
		sc.seg(true, port, tracker.FIN|tracker.ACK, 101, 501)
	}
	sc.tr.Finish()
	full := Build(Input{Packets: sc.pkt, TCPPackets: sc.pkt, Files: []string{"<a&b>.pcap"}}, sc.tr, Options{Verbose: true})
	empty := Build(Input{}, tracker.New(tracker.Config{}), Options{})
	for name, r := range map[string]*Report{"connections": full, "none": empty, "nil": {Summary: full.Summary}} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: streamed JSON differs:\n%s\nwant:\n%s", name, got.Bytes(), want.Bytes())
		}
		want.Reset()
		got.Reset()
		enc = json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Event  string  `json:"event"`
			Report *Report `json:"report"`
		}{"report", r}); err != nil {
			t.Fatal(err)
		}
		if err := writeNDJSONReport(&got, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: streamed ndjson report differs:\n%s\nwant:\n%s", name, got.Bytes(), want.Bytes())
		}
	}
}
