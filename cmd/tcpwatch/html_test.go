package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/tcpwatch/tcpwatch/internal/testenv"
	"github.com/tcpwatch/tcpwatch/report"
)

// chromium returns the headless browser's path, or skips (fails in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.SkipOrFail(t, "chromium not installed (scripts/setup.sh installs Debian's chromium): the HTML report is not opened in a browser")
	return ""
}

// browse runs headless chromium on the page with args and returns its
// standard output.
func browse(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// TestHTMLReportInABrowser opens the HTML report of a recording in headless
// Chromium: the DOM has one SVG ladder per listed connection, each ending
// in the states the JSON report gives, and the screenshot is not blank.
func TestHTMLReportInABrowser(t *testing.T) {
	bin := chromium(t)
	page, err := filepath.Abs(filepath.Join(t.TempDir(), "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("-r", "../../testdata/pcaps/port-reuse.pcap", "-r", "../../testdata/pcaps/lost-third-ack.pcap",
		"-F", "json", "--html", page)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[uint64][2]string{}
	for _, c := range rep.Connections {
		want[c.ID] = [2]string{c.ClientState.String(), c.ServerState.String()}
	}
	if len(want) < 3 {
		t.Fatalf("the JSON report lists %d connections, want several", len(want))
	}

	dom, err := xhtml.Parse(bytes.NewReader(browse(t, bin, page, "--dump-dom")))
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64][2]string{}
	for _, svg := range elements(dom, "svg", "ladder") {
		id, err := strconv.ParseUint(attr(svg, "data-conn"), 10, 64)
		if err != nil {
			t.Fatalf("ladder without a connection ID: %v", err)
		}
		if _, dup := got[id]; dup {
			t.Errorf("two ladders of #%d", id)
		}
		steps := elements(svg, "g", "step")
		if len(steps) == 0 {
			t.Errorf("ladder #%d has no steps", id)
			continue
		}
		last := steps[len(steps)-1]
		got[id] = [2]string{attr(last, "data-client-state"), attr(last, "data-server-state")}
	}
	if len(got) != len(want) {
		t.Errorf("%d SVG ladders in the DOM, want one per listed connection (%d)", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("ladder #%d ends in %v, the JSON report says %v", id, got[id], w)
		}
	}

	shot := filepath.Join(t.TempDir(), "shot.png")
	browse(t, bin, page, "--screenshot="+shot, "--window-size=1200,1600")
	colours, ink := pixels(t, shot)
	if colours < 16 || ink < 0.03 {
		t.Errorf("screenshot looks blank: %d distinct colours, %.1f%% of pixels not white", colours, 100*ink)
	}
}

// elements returns the elements named name with class class under n.
func elements(n *xhtml.Node, name, class string) []*xhtml.Node {
	var out []*xhtml.Node
	var walk func(*xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == name && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ") {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// pixels decodes a PNG and returns its number of distinct colours and the
// share of its pixels that are not white.
func pixels(t *testing.T, path string) (colours int, ink float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	var notWhite int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r>>8 < 250 || g>>8 < 250 || bl>>8 < 250 {
				notWhite++
			}
		}
	}
	return len(seen), float64(notWhite) / float64(b.Dx()*b.Dy())
}
