package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
)

const schemaFile = "../../docs/tcpwatch.schema.json"

// compileSchema compiles the schema, or the definition at ptr in it.
func compileSchema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(schemaFile + ptr)
	if err != nil {
		t.Fatalf("compile %s%s: %v", schemaFile, ptr, err)
	}
	return sch
}

// recordings lists every bundled recording.
func recordings(t *testing.T) []string {
	t.Helper()
	var all []string
	for _, g := range []string{"../../testdata/pcaps/*.pcap", "../../testdata/pcaps/anomalies/*.pcap", "../../testdata/pcaps/anomalies/*.pcap.gz"} {
		m, _ := filepath.Glob(g)
		all = append(all, m...)
	}
	if len(all) < 40 {
		t.Fatalf("only %d recordings found", len(all))
	}
	return all
}

// validate checks one JSON document against sch.
func validate(t *testing.T, sch *jsonschema.Schema, what, doc string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s does not match %s:\n%v", what, schemaFile, err)
	}
}

// TestOutputMatchesSchema: -F json (with and without -v) and every line of
// -F ndjson, on every bundled recording (with --stuck 2s, so that the
// stuck kinds occur), match docs/tcpwatch.schema.json.
func TestOutputMatchesSchema(t *testing.T) {
	doc, event := compileSchema(t, ""), compileSchema(t, "#/$defs/event")
	for _, p := range recordings(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			for _, args := range [][]string{{"-F", "json"}, {"-F", "json", "-v", "--stuck", "2s"}} {
				code, out, errs := runCLI(append([]string{"-r", p}, args...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				validate(t, doc, fmt.Sprint(args), out)
			}
			code, out, errs := runCLI("-r", p, "-F", "ndjson", "-v", "--stuck", "2s")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			validateLines(t, event, out)
		})
	}
}

// validateLines validates each line of an ndjson stream against event.
func validateLines(t *testing.T, event *jsonschema.Schema, out string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		validate(t, event, fmt.Sprintf("ndjson line %d", n), sc.Text())
	}
}

// TestOutputUnderTightCapsMatchesSchema: with caps small enough that
// connections are forgotten and TIME_WAIT records dropped (the optional
// input.evicted.time_wait), -F json and every -F ndjson line still match
// the schema.
func TestOutputUnderTightCapsMatchesSchema(t *testing.T) {
	doc, event := compileSchema(t, ""), compileSchema(t, "#/$defs/event")
	for _, tc := range []struct {
		name, file string
		args       []string
	}{
		{"many-short, one connection at a time", "../../testdata/pcaps/many-short.pcap", []string{"--max-conns", "1", "--keep", "1"}},
		{"multi-close, two followed, three kept", "../../testdata/pcaps/multi-close.pcap", []string{"--max-conns", "2", "--keep", "3", "-v"}},
		{"time-wait-buildup, one followed", "../../testdata/pcaps/anomalies/time-wait-buildup.pcap.gz", []string{"--max-conns", "1", "--keep", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(append([]string{"-r", tc.file, "-F", "json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, `"time_wait":`) {
				t.Fatalf("no TIME_WAIT record was dropped: the case tests nothing")
			}
			validate(t, doc, "-F json", out)
			code, out, errs = runCLI(append([]string{"-r", tc.file, "-F", "ndjson"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			validateLines(t, event, out)
		})
	}
}

// TestFloodFindingsMatchSchema: the findings of floods of lone segments,
// which no recording holds, match the schema too, each with its fields
// (synack_backscatter's destinations among them).
func TestFloodFindingsMatchSchema(t *testing.T) {
	doc := compileSchema(t, "")
	for _, kind := range []synth.LoneKind{synth.LoneACK, synth.LoneSYNACK, synth.LoneMixed} {
		t.Run(kind.String(), func(t *testing.T) {
			code, out, errs := runCLI("-r", floodCapture(t, kind, 5000, false), "-F", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, `_flood"`) && !strings.Contains(out, `"synack_backscatter"`) {
				t.Fatalf("no flood finding in %.2000s", out)
			}
			validate(t, doc, kind.String()+" flood", out)
		})
	}
}

// TestSchemaRejectsWhatTheSpecForbids: the schema is not so loose that
// anything passes.
func TestSchemaRejectsWhatTheSpecForbids(t *testing.T) {
	sch := compileSchema(t, "#/$defs/anomaly")
	for _, doc := range []string{
		`{"kind":"odd","severity":"info","target":"198.18.0.2:80","time":"2026-11-21T08:50:33.243056000Z","detail":"x"}`,
		`{"kind":"reset","severity":"info","target":"198.18.0.2:80","time":"2026-11-21T08:50:33.243056Z","detail":"x","fields":{"reason":"abort","seconds_open":1}}`,
		`{"kind":"close_wait_stuck","severity":"warning","target":"198.18.0.2:80","time":"2026-11-21T08:50:33.243056000Z","detail":"x"}`,
		`{"kind":"zero_window","severity":"warning","target":"198.18.0.2:80","time":"2026-11-21T08:50:33.243056000Z","detail":"x","fields":{"seconds":1},"extra":1}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(v) == nil {
			t.Errorf("schema accepts %s", doc)
		}
	}
}

// TestSchemaListsEveryKind: the schema's kinds are the tracker's, in its
// order, and each has its fields described.
func TestSchemaListsEveryKind(t *testing.T) {
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]struct {
			Enum  []string `json:"enum"`
			AllOf []struct {
				If struct {
					Properties struct {
						Kind struct {
							Const string `json:"const"`
						} `json:"kind"`
					} `json:"properties"`
				} `json:"if"`
			} `json:"allOf"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range tracker.Kinds() {
		want = append(want, k.String())
	}
	if got := s.Defs["kind"].Enum; !slices.Equal(got, want) {
		t.Errorf("schema kinds %v, want the tracker's %v", got, want)
	}
	var described []string
	for _, a := range s.Defs["anomalyMembers"].AllOf {
		described = append(described, a.If.Properties.Kind.Const)
	}
	if !slices.Equal(described, want) {
		t.Errorf("fields described for %v, want every kind %v", described, want)
	}
}

// TestFieldsAgreeWithSentence: on every recording, a finding's figures in
// "fields" are the ones its sentence states.
func TestFieldsAgreeWithSentence(t *testing.T) {
	checks := map[string]struct {
		field   string
		formats []string // how the sentence prints the figure (one of them)
	}{
		// (still stuck; closed late; left CLOSE_WAIT without closing: leftCloseWait)
		"close_wait_stuck": {"seconds_stuck", []string{"not closed %s after", "closed only %s after", "stayed in CLOSE_WAIT %s after"}},
		"fin_wait_2_stuck": {"seconds_stuck", []string{"waited %s in FIN_WAIT_2"}},
		"unacked_fin":      {"retransmits", []string{"its FIN %d times"}},
		"syn_timeout":      {"syns", []string{"its SYN %d times"}},
		"syn_flood":        {"syns", []string{"received %,d SYNs"}},
		"zero_window":      {"seconds", []string{"zero window for %s"}},
	}
	seen := map[string]bool{}
	for _, p := range recordings(t) {
		_, out, _ := runCLI("-r", p, "-F", "json", "--stuck", "2s")
		var rep struct {
			Anomalies []struct {
				Kind   string         `json:"kind"`
				Detail string         `json:"detail"`
				Fields map[string]any `json:"fields"`
			} `json:"anomalies"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, a := range rep.Anomalies {
			c, ok := checks[a.Kind]
			if !ok {
				continue
			}
			v, _ := a.Fields[c.field].(float64)
			var wants []string
			for _, format := range c.formats {
				if strings.Contains(format, "%,d") { // a count with thousands separators
					wants = append(wants, strings.Replace(format, "%,d", tracker.Grouped(int(v)), 1))
				} else if strings.Contains(format, "%s") { // seconds, as sentences print durations
					wants = append(wants, fmt.Sprintf(format, tracker.FormatDuration(time.Duration(math.Round(v*1e9)))))
				} else {
					wants = append(wants, fmt.Sprintf(format, int(v)))
				}
			}
			if !slices.ContainsFunc(wants, func(w string) bool { return strings.Contains(a.Detail, w) }) {
				t.Errorf("%s: %s: fields.%s = %v, but the sentence says none of %q: %s", filepath.Base(p), a.Kind, c.field, v, wants, a.Detail)
			}
			seen[a.Kind] = true
		}
	}
	t.Logf("checked: %v", seen)
	if len(seen) < 4 {
		t.Errorf("only %v checked; the recordings should show more kinds", seen)
	}
}

// TestFullFlowTableWarns: open connections evicted from a full flow table
// are warned of, in the table and in the JSON document's input.warnings;
// with room enough, nothing is.
func TestFullFlowTableWarns(t *testing.T) {
	const file = "../../testdata/pcaps/multi-close.pcap"
	const warning = "the flow table was full (--max-conns): "
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{[]string{"--max-conns", "1"}, true},
		{[]string{"--max-conns", "1", "-F", "json"}, true},
		{nil, false},
		{[]string{"-F", "json"}, false},
	} {
		code, out, errs := runCLI(append([]string{"-r", file}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errs)
		}
		if got := strings.Contains(out, warning); got != tc.warn {
			t.Errorf("%v: warned %v, want %v:\n%s", tc.args, got, tc.warn, out[:min(len(out), 600)])
		}
	}
}
