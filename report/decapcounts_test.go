package report

import (
	"strings"
	"testing"
)

// TestDecapsulationCountsShown: oversize datagrams and segments from hosts
// past the checksum tables' cap are said under the table, and left out
// when there were none.
func TestDecapsulationCountsShown(t *testing.T) {
	for _, tc := range []struct {
		name string
		dec  Decapsulation
		want []string
		not  []string
	}{
		{"oversize datagrams", Decapsulation{Fragments: Fragments{Oversize: 3}},
			[]string{"3 discarded for passing 65,535 bytes"}, nil},
		{"no oversize datagram", Decapsulation{Fragments: Fragments{Reassembled: 2}},
			[]string{"2 datagrams reassembled"}, []string{"65,535"}},
		{"unfollowed checksum hosts", Decapsulation{Checksums: &Checksums{Dropped: 5, Unfollowed: 7}},
			[]string{"7 segments from hosts past the checksum tables' cap (16,384 hosts each)"}, nil},
		{"every checksum host followed", Decapsulation{Checksums: &Checksums{Dropped: 5}},
			[]string{"5 segments ignored"}, []string{"tables' cap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleReport(false)
			dec := tc.dec
			r.Input.Decapsulation = &dec
			out := string(printed(t, r, Table, PrintOptions{}))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("%q in:\n%s", w, out)
				}
			}
		})
	}
}
