package report

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"
)

// TestStreamedTablePrintsAsTheWholeTable: a table printed a row at a time
// with its columns' widths measured beforehand is the bytes the table
// library prints holding every row: empty cells, cells wider than their
// header, non-ASCII (µ, an IPv6 zone, an arrow), spaces inside and at the
// ends of cells and right-aligned columns included, whether the rows after
// the first are laid out by asciiRow or by the library.
func TestStreamedTablePrintsAsTheWholeTable(t *testing.T) {
	header := []string{"ID", "A LONG HEADER", "X", "DURATION"}
	align := []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignRight}
	rng := rand.New(rand.NewPCG(1, 2))
	var random [][]string
	for range 300 {
		row := make([]string, len(header))
		for i := range row {
			for range rng.IntN(14) {
				row[i] += string([]rune("a1 ,:µ→[]%*>Z")[rng.IntN(13)])
			}
		}
		random = append(random, row)
	}
	for _, rows := range [][][]string{
		{{"1", "", "", ""}},
		{{"1*", "[fe80::1%eth0]:443", "CLOSE_WAIT", "92.3µs"}, {"12,345", "a", "", "1.5s"}, {"7>", "", "ESTABLISHED, LAST_ACK", ""}},
		{{"1", "a", "b", "c"}, {"2", " lead", "trail ", "in side"}, {"3", "", "x", "µ"}, {"44444", "→", "", "1"}},
		random,
	} {
		var whole, streamed bytes.Buffer
		(&printer{w: &whole}).table(header, rows, align)
		widths := make([]int, len(header))
		for _, r := range append([][]string{header}, rows...) {
			for i, c := range r {
				widths[i] = max(widths[i], twwidth.Width(strings.TrimSpace(c))) // as the library trims them
			}
		}
		for _, slow := range []bool{false, true} {
			streamed.Reset()
			p := &printer{w: &streamed, slowTable: slow}
			p.streamTable(header, align, widths, func(add func([]string) error) {
				for _, r := range rows {
					add(r)
				}
			})
			if p.err != nil || streamed.String() != whole.String() {
				t.Errorf("streamed (library only: %v; %v):\n%s\nwhole:\n%s", slow, p.err, streamed.String(), whole.String())
			}
		}
	}
}

// TestCellWidthIsTheLibrarys: cellWidth measures a cell as the table
// library does, ASCII or not.
func TestCellWidthIsTheLibrarys(t *testing.T) {
	for _, s := range []string{"", "a", "198.18.0.1:443", "  spaced  ", "92.3µs", "→", "漢字", "\x1b[31mred\x1b[0m", "tab\there", "\x7f"} {
		if got, want := cellWidth(s), twwidth.Width(s); got != want {
			t.Errorf("cellWidth(%q) = %d, the library's %d", s, got, want)
		}
	}
}
