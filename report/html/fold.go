package html

import (
	"math"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// fineSlices is how many slices a Fold divides its time into: 64 to a
// chart's slice, or 32 once its width has doubled past the span.
const fineSlices = Buckets * 64

// Fold counts the transitions of the connections the report forgot
// (tracker.Config.OnForgotten), told as they go, before the capture's span
// is known: in fineSlices slices of one width, which doubles whenever a
// transition falls outside them, so that it takes the same memory (about
// 680 KB) however long the capture. The charts count each slice in the
// one of theirs its middle falls in: a transition within half a slice of
// a chart's slice boundary may be counted in the slice beside it, where
// those of the connections kept are exact.
type Fold struct {
	start, width int64   // the first slice's start, each one's length; width 0: empty
	delta        []int32 // by slice, side and state: entered minus left
	n            int     // states
}

// Add counts one transition.
func (f *Fold) Add(tr tracker.Transition) {
	if f.width == 0 {
		f.n = len(tracker.States())
		f.delta = make([]int32, fineSlices*2*f.n)
		f.start, f.width = tr.Time, 1
	}
	for tr.Time < f.start && f.width < maxWidth {
		f.double(true)
	}
	for tr.Time-f.start >= f.width*fineSlices && f.width < maxWidth {
		f.double(false)
	}
	i := min(max((tr.Time-f.start)/f.width, 0), fineSlices-1)
	row := f.delta[(int(i)*2+int(tr.Side))*f.n:]
	row[tr.From]--
	row[tr.To]++
}

// maxWidth keeps start and the end of the slices within an int64.
const maxWidth = math.MaxInt64 / (4 * fineSlices)

// double doubles the slices' width, adding the new half of its time
// before the first slice (left) or after the last.
func (f *Fold) double(left bool) {
	size := 2 * f.n // one slice
	half := fineSlices / 2
	if left {
		// New slice j ≥ half holds old slices 2(j-half) and the next:
		// from the last down, each reads only slices not written yet.
		for j := fineSlices - 1; j >= half; j-- {
			f.merge(j, 2*(j-half), size)
		}
		clear(f.delta[:half*size])
		f.start -= f.width * fineSlices
	} else {
		for j := range half {
			f.merge(j, 2*j, size)
		}
		clear(f.delta[half*size:])
	}
	f.width *= 2
}

// merge sets slice j to the sum of slices i and i+1.
func (f *Fold) merge(j, i, size int) {
	dst, a, b := f.delta[j*size:(j+1)*size], f.delta[i*size:(i+1)*size], f.delta[(i+1)*size:(i+2)*size]
	for k := range dst {
		dst[k] = a[k] + b[k]
	}
}

// addTo adds the counts to a chart's deltas over span.
func (f *Fold) addTo(delta *[2][Buckets][]int, span Span) {
	if f == nil || f.width == 0 {
		return
	}
	for i := range fineSlices {
		b := span.bucket(f.start + int64(i)*f.width + f.width/2)
		for side := range 2 {
			row := f.delta[(i*2+side)*f.n : (i*2+side+1)*f.n]
			for st, d := range row {
				delta[side][b][st] += int(d)
			}
		}
	}
}
