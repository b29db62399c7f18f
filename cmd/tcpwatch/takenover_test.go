package main

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/synth"
)

// TestEvictedConnectionsForgottenAreCountedOnce: through a flow table and
// a store smaller than the connections open at once, a connection evicted
// open and forgotten before its next segment came is followed on by the
// connection picked up mid-stream at that segment, which takes over what
// it knew of its sides (its FINs), and counted once: it was counted twice
// (8,904 connections for 4,000, 3,702 clients left ESTABLISHED for ever,
// 2,798 in TIME_WAIT of the 4,000 that are).
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
		w := want.Summary.Connections
		if n := got.Summary.Connections; n*100 > w*103 {
			t.Errorf("%v: %d connections, want within 3%% of %d", caps, n, w)
		}
		if e := got.Summary.States.Client["ESTABLISHED"]; e*100 > w*2 {
			t.Errorf("%v: %d clients left ESTABLISHED, of %d connections that all closed", caps, e, w)
		}
		if tw, wtw := got.Summary.States.Client["TIME_WAIT"], want.Summary.States.Client["TIME_WAIT"]; tw*100 < wtw*85 {
			t.Errorf("%v: %d clients in TIME_WAIT, want at least 85%% of %d", caps, tw, wtw)
		}
	}
}

// TestTightCapsGiveTheSummaryOfATableLargeEnough: 4,000 connections, 400
// open at once, one in 20 refused, reset or left in CLOSE_WAIT, through a
// flow table and a store 2 to 8 times too small, give the summary of a
// table large enough: every connection once, every side's state, every
// finding by kind. The segments a forgotten connection's end is made of
// are answered by nothing, so they open no connection to take it over: the
// last ACK, the ACK of a FIN its peer does not answer, an abort's RST; and
// the connection that took one over comes back when evicted in turn. The
// transitions told (-F ndjson) are the same too, but for those of the
// connections that take forgotten ones over, picked up mid-stream.
func TestTightCapsGiveTheSummaryOfATableLargeEnough(t *testing.T) {
	file := synthCapture(t, synth.Config{Seed: 5, Conns: 4000, Concurrency: 400, Faults: 20})
	summary := func(args ...string) (string, int) {
		code, out, errs := runCLI(append([]string{"-r", file, "-F", "json"}, args...)...)
		if code != 0 && code != 1 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var d struct {
			Summary json.RawMessage `json:"summary"`
			Input   struct {
				Evicted struct {
					Forgotten int `json:"forgotten"`
				} `json:"evicted"`
			} `json:"input"`
		}
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		return string(d.Summary), d.Input.Evicted.Forgotten
	}
	// transitions counts the transitions told (-F ndjson) by side, states
	// and why, but for those of a connection picked up mid-stream, which a
	// connection taking one over makes.
	transitions := func(args ...string) map[string]int {
		code, out, errs := runCLI(append([]string{"-r", file, "-F", "ndjson"}, args...)...)
		if code != 0 && code != 1 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		n := map[string]int{}
		for line := range strings.Lines(out) {
			var e struct{ Event, Side, From, To, Why string }
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			if e.Event == "transition" && !strings.HasPrefix(e.Why, "first seen mid-stream") {
				n[e.Side+" "+e.From+" -> "+e.To+": "+e.Why]++
			}
		}
		return n
	}
	want, _ := summary()
	wantTrs := transitions()
	for _, caps := range [][]string{{"--max-conns", "200", "--keep", "200"}, {"--max-conns", "50", "--keep", "100"}} {
		got, forgotten := summary(caps...)
		if forgotten == 0 {
			t.Errorf("%v: nothing forgotten: the case tests nothing", caps)
		}
		if got != want {
			t.Errorf("%v: summary\n%s\nwant (no caps binding)\n%s", caps, got, want)
		}
		if trs := transitions(caps...); !maps.Equal(trs, wantTrs) {
			t.Errorf("%v: transitions told\n%v\nwant (no caps binding)\n%v", caps, trs, wantTrs)
		}
	}
}
