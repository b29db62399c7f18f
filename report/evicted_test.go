package report

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// evictedJSON returns input.evicted's members for ev.
func evictedJSON(t *testing.T, ev tracker.Evictions) map[string]uint64 {
	t.Helper()
	b, err := json.Marshal(EvictedOf(ev))
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]uint64
	if err := json.Unmarshal(b, &members); err != nil {
		t.Fatal(err)
	}
	return members
}

// TestEvictedOfCarriesEveryEviction: each count of tracker.Evictions
// reaches a member of input.evicted of its own; a field added to
// Evictions and not to the model fails.
func TestEvictedOfCarriesEveryEviction(t *testing.T) {
	typ := reflect.TypeFor[tracker.Evictions]()
	seen := map[string]string{} // member: field
	for i := range typ.NumField() {
		var ev tracker.Evictions
		want := 1000 + uint64(i)
		reflect.ValueOf(&ev).Elem().Field(i).SetUint(want)
		var named []string
		for name, n := range evictedJSON(t, ev) {
			switch n {
			case want:
				named = append(named, name)
			case 0:
			default:
				t.Errorf("Evictions.%s = %d: member %q is %d, want 0", typ.Field(i).Name, want, name, n)
			}
		}
		if len(named) != 1 {
			t.Errorf("Evictions.%s = %d: found in members %v, want exactly one", typ.Field(i).Name, want, named)
			continue
		}
		if f, ok := seen[named[0]]; ok {
			t.Errorf("Evictions.%s and .%s both go to %q", f, typ.Field(i).Name, named[0])
		}
		seen[named[0]] = typ.Field(i).Name
	}
}

// TestEvictedCountsNameEveryMember: Counts lists every member of
// input.evicted under its JSON name with its value, zero or not.
func TestEvictedCountsNameEveryMember(t *testing.T) {
	var ev tracker.Evictions
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(i + 1))
	}
	members := evictedJSON(t, ev)
	got := map[string]uint64{}
	for _, c := range EvictedOf(ev).Counts() {
		got[c.Reason] = c.N
	}
	if !reflect.DeepEqual(got, members) {
		t.Errorf("Counts %v, JSON %v", got, members)
	}
	for _, c := range (Evicted{}).Counts() {
		if c.N != 0 || members[c.Reason] == 0 {
			t.Errorf("zero Evicted: %s = %d", c.Reason, c.N)
		}
	}
	if n := len((Evicted{}).Counts()); n != len(members) {
		t.Errorf("zero Evicted: %d counts, want all %d", n, len(members))
	}
}
