package metrics

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestEvictionsHaveASeriesForEveryKind: every field of tracker.Evictions
// has a tcpwatch_evictions_total series, its reason named as the JSON
// summary (input.evicted) names it, with its count; a field added to
// Evictions without a series fails.
func TestEvictionsHaveASeriesForEveryKind(t *testing.T) {
	var ev tracker.Evictions
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(100 + i)) // distinct, so each names one member
	}
	b, err := json.Marshal(report.EvictedOf(ev))
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]uint64
	if err := json.Unmarshal(b, &members); err != nil {
		t.Fatal(err)
	}
	byValue := map[uint64]string{}
	for name, n := range members {
		byValue[n] = name
	}
	series := evictionSeries(t, &Snapshot{Evicted: ev})
	for i := range v.NumField() {
		field, n := v.Type().Field(i).Name, uint64(100+i)
		name, ok := byValue[n]
		if !ok {
			t.Errorf("Evictions.%s: not in the JSON summary %s", field, b)
			continue
		}
		if got, ok := series[name]; !ok || got != float64(n) {
			t.Errorf("Evictions.%s: tcpwatch_evictions_total{reason=%q} = %v (present %v), want %d", field, name, got, ok, n)
		}
	}
	if len(series) != len(members) {
		t.Errorf("%d reasons %v, the JSON summary has %d", len(series), series, len(members))
	}
}

// evictionSeries collects s and returns tcpwatch_evictions_total by reason.
func evictionSeries(t *testing.T, s *Snapshot) map[string]float64 {
	t.Helper()
	e := &Exporter{}
	e.Publish(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "tcpwatch_evictions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
