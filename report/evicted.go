package report

import (
	"reflect"
	"strings"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// EvictedOf converts the tracker's eviction counts into the model, every
// kind of eviction under its JSON name (input.evicted).
func EvictedOf(ev tracker.Evictions) Evicted {
	return Evicted{Embryonic: ev.Embryonic, Established: ev.Established, SynFlood: ev.Flood, Forgotten: ev.Forgotten,
		ForgottenUnanswered: ev.ForgottenUnanswered, TimeWait: ev.TimeWait, TimeWaitAhead: ev.TimeWaitAhead, Readmitted: ev.Readmitted,
		TakenOver: ev.TakenOver}
}

// EvictionCount is one kind of eviction: its name in input.evicted and
// its count.
type EvictionCount struct {
	Reason string
	N      uint64
}

// Counts returns every kind of eviction, zero or not, named as JSON names
// it, in the order of the JSON document (for the metrics' reason label).
func (e Evicted) Counts() []EvictionCount {
	v := reflect.ValueOf(e)
	out := make([]EvictionCount, 0, v.NumField())
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		out = append(out, EvictionCount{Reason: name, N: v.Field(i).Uint()})
	}
	return out
}
