package report

import (
	"bytes"
	"encoding/json"
	"testing"
)

var indentCases = []string{
	`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[1,2,{"c":null}]}`, `"x"`, `1.5e-7`, `true`,
	`{"k\"ey":"va,l:u{e}[]\\","e":"\u00e9\\\"\\\\"}`, `[[[]],[{}],{"a":[{"b":[]}]}]`,
	`{"connections":[{"id":1,"history":"ShADadFf","anomalies":[],"transitions":[{"why":"sent SYN, then: \"x\""}]}]}` + "\n",
}

// TestIndentedAsJSONIndent compares appendIndented with json.Indent.
func TestIndentedAsJSONIndent(t *testing.T) {
	for _, src := range indentCases {
		checkIndented(t, []byte(src))
	}
}

func checkIndented(t *testing.T, src []byte) {
	t.Helper()
	for _, p := range [][2]string{{"", "  "}, {"    ", "  "}, {"", "\t"}} {
		var want bytes.Buffer
		if err := json.Indent(&want, src, p[0], p[1]); err != nil {
			t.Fatalf("json.Indent(%q): %v", src, err)
		}
		if got := appendIndented(nil, src, p[0], p[1]); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendIndented(%q, %q, %q):\n got %q\nwant %q", src, p[0], p[1], got, want.Bytes())
		}
	}
}

// FuzzIndented: on any valid JSON, compacted as json.Marshal writes it,
// appendIndented and json.Indent agree byte for byte.
func FuzzIndented(f *testing.F) {
	for _, src := range indentCases {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			t.Fatal(err)
		}
		checkIndented(t, compact.Bytes())
	})
}
