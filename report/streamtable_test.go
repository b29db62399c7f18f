package report

import (
	"bytes"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"
)

// TestStreamedTablePrintsAsTheWholeTable: a table printed a row at a time
// with its columns' widths measured beforehand is the bytes the table
// library prints holding every row: empty cells, cells wider than their
// header, non-ASCII (µ, an IPv6 zone) and right-aligned columns included.
func TestStreamedTablePrintsAsTheWholeTable(t *testing.T) {
	header := []string{"ID", "A LONG HEADER", "X", "DURATION"}
	align := []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignRight}
	for _, rows := range [][][]string{
		{{"1", "", "", ""}},
		{{"1*", "[fe80::1%eth0]:443", "CLOSE_WAIT", "92.3µs"}, {"12,345", "a", "", "1.5s"}, {"7>", "", "ESTABLISHED, LAST_ACK", ""}},
	} {
		var whole, streamed bytes.Buffer
		(&printer{w: &whole}).table(header, rows, align)
		widths := make([]int, len(header))
		for _, r := range append([][]string{header}, rows...) {
			for i, c := range r {
				widths[i] = max(widths[i], twwidth.Width(c))
			}
		}
		p := &printer{w: &streamed}
		p.streamTable(header, align, widths, func(add func([]string) error) {
			for _, r := range rows {
				add(r)
			}
		})
		if p.err != nil || streamed.String() != whole.String() {
			t.Errorf("streamed (%v):\n%s\nwhole:\n%s", p.err, streamed.String(), whole.String())
		}
	}
}
