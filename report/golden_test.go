package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/NAME.golden and shows a line diff
// when they differ; -update rewrites the file instead.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./report -update creates it)", err)
	}
	if d := lineDiff(string(want), string(got)); d != "" {
		t.Errorf("output differs from %s (- want, + got; go test ./report -update rewrites it):\n%s", path, d)
	}
}

// diffContext is how many unchanged lines lineDiff shows around a change.
const diffContext = 2

// lineDiff returns the lines that differ between want and got, each
// change under an "@@ line N @@" header (N counts want's lines from 1),
// removed lines marked "-", added ones "+", diffContext unchanged lines
// around them marked " "; "" if want and got are equal. It aligns the
// lines on a longest common subsequence.
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	ops := diffOps(a, b)
	keep := make([]bool, len(ops)) // shown: a change or near one
	for i, op := range ops {
		if op.kind != ' ' {
			for j := max(0, i-diffContext); j <= min(len(ops)-1, i+diffContext); j++ {
				keep[j] = true
			}
		}
	}
	var out strings.Builder
	for i, op := range ops {
		if !keep[i] {
			continue
		}
		if i == 0 || !keep[i-1] {
			fmt.Fprintf(&out, "@@ line %d @@\n", op.line)
		}
		fmt.Fprintf(&out, "%c %s\n", op.kind, op.text)
	}
	return out.String()
}

// diffOp is one line of a diff: ' ' in both, '-' only in want, '+' only
// in got; line is its line in want (for '+', the next line of want).
type diffOp struct {
	kind byte
	line int
	text string
}

// diffOps aligns a and b by dynamic programming over their longest common
// subsequence (quadratic: golden files are small).
func diffOps(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1) // lcs[i][j]: of a[i:] and b[j:]
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, diffOp{' ', i + 1, a[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', i + 1, a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', i + 1, b[j]})
			j++
		}
	}
	return ops
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct{ want, got, diff string }{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\nc\n", "a\nx\nc\n", "@@ line 1 @@\n  a\n- b\n+ x\n  c\n  \n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "@@ line 7 @@\n  7\n  8\n+ 9\n  \n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n", "0\n1\n2\n3\n4\n5\n6\n8\n", "@@ line 1 @@\n+ 0\n  1\n  2\n@@ line 5 @@\n  5\n  6\n- 7\n  8\n  \n"},
		{"no newline", "no newline\n", "@@ line 1 @@\n  no newline\n+ \n"},
	} {
		if d := lineDiff(tc.want, tc.got); d != tc.diff {
			t.Errorf("lineDiff(%q, %q) =\n%s\nwant\n%s", tc.want, tc.got, d, tc.diff)
		}
	}
}
