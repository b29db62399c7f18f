package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// spoofed is the prefix record.sh's floods take their sources from.
var spoofed = netip.MustParsePrefix("198.19.0.0/16")

// TestSynFloodForensics checks the syn_flood finding of every flood
// recording against the kernel: the server sockets in SYN_RCVD at the end
// (ss -tan state syn-recv, NAME.syn-recv, and the .states file), the SYNs
// that left no socket (answered by a cookie, or dropped), and the
// legitimate clients that gave up.
func TestSynFloodForensics(t *testing.T) {
	for _, name := range []string{"syn-flood", "syn-flood-cookies", "syn-flood-no-cookies"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(anomalyDir, name)
			rows := readStates(t, base+".states")
			var synRcvd, noSocket, legitGaveUp int
			for _, r := range rows {
				switch {
				case r.serverState == tracker.SynRcvd:
					synRcvd++
				case !spoofed.Contains(r.client.Addr()) && r.clientState == tracker.Closed:
					legitGaveUp++ // a legitimate client whose connect() gave up
					noSocket++
				case r.clientState == tracker.Closed && r.serverState == tracker.Closed:
					noSocket++
				}
			}
			if b, err := os.ReadFile(base + ".syn-recv"); err == nil {
				n, err := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || n != synRcvd {
					t.Fatalf("%s.syn-recv says %q, the .states file has %d in SYN_RCVD", name, b, synRcvd)
				}
			}
			rep := runJSON(t, "-r", base+".pcap.gz")
			if len(rep.Anomalies) != 1 || rep.Anomalies[0].Kind != tracker.SynFlood {
				t.Fatalf("want one syn_flood finding:\n%s", findings(rep))
			}
			a := rep.Anomalies[0]
			field := func(k string) int {
				v, ok := a.Fields[k].(float64)
				if !ok {
					t.Fatalf("field %q missing or not a number: %v", k, a.Fields)
				}
				return int(v)
			}
			want := map[string]int{
				"half_open_at_end": synRcvd, // what the kernel held at the end
				"syn_rcvd":         synRcvd, // none expired within these recordings (under 7 s)
				"legit_failed":     legitGaveUp,
			}
			for k, v := range want {
				if got := field(k); got != v {
					t.Errorf("%s = %d, the kernel's count is %d\n%s", k, got, v, a.Detail)
				}
			}
			if got := field("syn_cookies") + field("dropped"); got != noSocket {
				t.Errorf("syn_cookies + dropped = %d, the kernel kept no socket for %d\n%s", got, noSocket, a.Detail)
			}
			if got := field("syn_rcvd") + field("syn_cookies") + field("dropped") + field("undetermined"); got != field("syns") {
				t.Errorf("the server's answers add up to %d, not the %d SYNs that failed", got, field("syns"))
			}
			if !strings.Contains(a.Detail, "still held "+tracker.Grouped(synRcvd)+" in SYN_RCVD") {
				t.Errorf("the sentence does not give the %d half-open at the end: %s", synRcvd, a.Detail)
			}
		})
	}
}

// TestSynFloodCookiesOrDrops: with SYN cookies the listener answers every
// SYN beyond its backlog once and keeps nothing; without them it answers
// none. The kernel's .states cannot tell the two apart (no socket either
// way); the segments can.
func TestSynFloodCookiesOrDrops(t *testing.T) {
	for _, c := range []struct {
		name          string
		cookies, drop bool
	}{
		{"syn-flood-cookies", true, false},
		{"syn-flood-no-cookies", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := runJSON(t, "-r", filepath.Join(anomalyDir, c.name+".pcap.gz"))
			if len(rep.Anomalies) != 1 {
				t.Fatalf("want one finding:\n%s", findings(rep))
			}
			f := rep.Anomalies[0].Fields
			if got := f["syn_cookies"].(float64) > 0; got != c.cookies {
				t.Errorf("syn_cookies = %v, want cookies: %v", f["syn_cookies"], c.cookies)
			}
			if got := f["dropped"].(float64) > 0; got != c.drop {
				t.Errorf("dropped = %v, want drops: %v", f["dropped"], c.drop)
			}
			if c.cookies && f["legit_completed"].(float64) == 0 {
				t.Errorf("with SYN cookies the legitimate clients get through: legit_completed = %v", f["legit_completed"])
			}
		})
	}
}
