package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestTinyCapsGiveTheSameSummary: recordings whose connections outnumber a
// flow table of 5 and a store of 20 many times over. Connections evicted
// open come back with their next segment, handshakes evicted wait for
// their answer out of the table, and those never seen again are judged at
// the end as if still in it: the summary (connections, findings by kind,
// states) is the one a table large enough gives.
// Handshakes evicted are kept for the report too, and brought back by
// their SYN sent again; those of a SYN flood found after they were
// forgotten leave the forgotten counts for the flood's.
func TestTinyCapsGiveTheSameSummary(t *testing.T) {
	for _, name := range []string{
		"multi-close.pcap",
		"multi-close-ipv6-rtt20-at-server.pcap",
		"multi-close-over-vxlan.pcap",
		"anomalies/time-wait-buildup.pcap.gz",
		"end-states.pcap",                     // a SYN retransmitted into silence: its syn_timeout
		"anomalies/syn-flood-cookies.pcap.gz", // the flood's handshakes forgotten before it is found
	} {
		t.Run(name, func(t *testing.T) {
			summary := func(args ...string) (any, map[string]any) {
				code, out, errs := runCLI(append([]string{"-r", "../../testdata/pcaps/" + name, "-F", "json"}, args...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				var doc struct {
					Summary any `json:"summary"`
					Input   struct {
						Evicted map[string]any `json:"evicted"`
					} `json:"input"`
				}
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatal(err)
				}
				return doc.Summary, doc.Input.Evicted
			}
			want, _ := summary()
			got, evicted := summary("--max-conns", "5", "--keep", "20")
			if evicted["readmitted"] == nil && evicted["time_wait"] == nil && evicted["established"] == 0.0 {
				t.Fatalf("nothing was evicted (%v): the case tests nothing", evicted)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("--max-conns 5 --keep 20: summary\n%v\nwant, as with the default caps:\n%v", got, want)
			}
		})
	}
}
