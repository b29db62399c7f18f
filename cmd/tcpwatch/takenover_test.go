package main

import (
	"encoding/json"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/synth"
)

// TestEvictedConnectionsForgottenAreCountedOnce: through a flow table and
// a store smaller than the connections open at once, a connection evicted
// open and forgotten before its next segment came is followed on by the
// connection picked up mid-stream at that segment, and counted once (it
// was counted twice: 8,904 connections for 4,000, 3,702 clients left
// ESTABLISHED for ever).
func TestEvictedConnectionsForgottenAreCountedOnce(t *testing.T) {
	file := synthCapture(t, synth.Config{Seed: 3, Conns: 4000, Concurrency: 400})
	type doc struct {
		Summary struct {
			Connections int `json:"connections"`
			States      struct {
				Client map[string]int `json:"client"`
			} `json:"states"`
		} `json:"summary"`
		Input struct {
			Evicted struct {
				Forgotten int `json:"forgotten"`
				TakenOver int `json:"taken_over"`
			} `json:"evicted"`
		} `json:"input"`
	}
	run := func(args ...string) doc {
		code, out, errs := runCLI(append([]string{"-r", file, "-F", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := run()
	for _, caps := range [][]string{{"--max-conns", "200", "--keep", "200"}, {"--max-conns", "200", "--keep", "400"}} {
		got := run(caps...)
		t.Logf("%v: %d connections (%d without caps), %d forgotten, %d taken over, clients %v",
			caps, got.Summary.Connections, want.Summary.Connections, got.Input.Evicted.Forgotten, got.Input.Evicted.TakenOver, got.Summary.States.Client)
		if got.Input.Evicted.TakenOver == 0 {
			t.Errorf("%v: none taken over: the case tests nothing", caps)
		}
		if n, w := got.Summary.Connections, want.Summary.Connections; n*100 > w*112 {
			t.Errorf("%v: %d connections, want within 12%% of %d", caps, n, w)
		}
		if e := got.Summary.States.Client["ESTABLISHED"]; e*100 > want.Summary.Connections*10 {
			t.Errorf("%v: %d clients left ESTABLISHED, of %d connections that all closed", caps, e, want.Summary.Connections)
		}
	}
}
