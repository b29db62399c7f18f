package svg

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestNumHasAtMostTwoDecimalsAndNoTrailingZeros(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1, "1"}, {1.5, "1.5"}, {1.25, "1.25"}, {1.256, "1.26"}, {-0.001, "0"}, {-3.1, "-3.1"}, {100, "100"}} {
		if got := Num(c.v); got != c.want {
			t.Errorf("Num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestTextAndAttributesAreEscapedAndTheDocumentParses(t *testing.T) {
	d := New(10, 20, A("class", `a"b`))
	d.Open("g", A("id", "x<y"))
	d.Text("text", "SYN & <ACK>", N("x", 1.5))
	d.Empty("line", N("x1", 0), N("x2", 10))
	out := string(d.Bytes())
	for _, want := range []string{`class="a&#34;b"`, `id="x&lt;y"`, "SYN &amp; &lt;ACK&gt;", `x="1.5"`, `viewBox="0 0 10 20"`} {
		if !strings.Contains(out, want) {
			t.Errorf("document lacks %s:\n%s", want, out)
		}
	}
	dec := xml.NewDecoder(strings.NewReader(out))
	var texts []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			texts = append(texts, string(cd))
		}
	}
	if len(texts) != 1 || texts[0] != "SYN & <ACK>" {
		t.Errorf("parsed text = %q, want [SYN & <ACK>]", texts)
	}
	if !strings.HasSuffix(out, "</g>\n</svg>\n") {
		t.Errorf("open elements not closed:\n%s", out)
	}
}
