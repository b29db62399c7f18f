package main

import (
	"fmt"
	"strings"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// failOn is a parsed --fail-on (or --write): anomaly kinds, a severity
// (that severity or worse), or any.
type failOn struct {
	any    bool
	sev    tracker.Severity
	hasSev bool
	kinds  map[tracker.Kind]bool
	list   string // as given, without the spaces around its words: for messages
}

func parseFailOn(s string) (*failOn, error) { return parseKinds("--fail-on", s) }

// parseKinds parses the comma-separated list s given to flag.
func parseKinds(flag, s string) (*failOn, error) {
	if s == "" {
		return nil, nil
	}
	f := &failOn{kinds: map[tracker.Kind]bool{}}
	words := strings.Split(s, ",")
	for i, w := range words {
		w = strings.TrimSpace(w)
		words[i] = w
		if w == "any" {
			f.any = true
			continue
		}
		if sev, ok := tracker.ParseSeverity(w); ok {
			if !f.hasSev || sev < f.sev {
				f.sev, f.hasSev = sev, true
			}
			continue
		}
		k, ok := tracker.ParseKind(w)
		if !ok {
			var names []string
			for _, k := range tracker.Kinds() {
				names = append(names, k.String())
			}
			return nil, fmt.Errorf("%s %q: %q is not an anomaly kind, info, warning, critical or any (kinds: %s)", flag, s, w, strings.Join(names, ", "))
		}
		f.kinds[k] = true
	}
	f.list = strings.Join(words, ",")
	return f, nil
}

// matches reports whether one of the kinds is in the list.
func (f *failOn) matches(kinds []tracker.Kind) bool {
	for _, k := range kinds {
		if f.any || f.kinds[k] || f.hasSev && k.Severity() >= f.sev {
			return true
		}
	}
	return false
}

// matched reports whether the report has a finding the list names, by its
// kind or a kind in its also list (the conditions it caused). It counts
// every finding, also those past the listing cap.
func (f *failOn) matched(r *report.Report) bool { return f.reason(r) != "" }

// reason says which findings matched, by kind in the kinds' order:
// "2 close_wait_stuck, 1 fin_wait_2_stuck (also), 1 half_open (+1 also)":
// "(also)" a kind only in other findings' also lists, "+N also" a kind
// found on its own and in also lists; "" if none matched.
func (f *failOn) reason(r *report.Report) string {
	if f == nil {
		return ""
	}
	var found []string
	for _, k := range tracker.Kinds() {
		if !f.matches([]tracker.Kind{k}) {
			continue
		}
		n, also := r.Summary.Anomalies[k], r.Summary.Also[k]
		switch {
		case n > 0 && also > 0:
			found = append(found, fmt.Sprintf("%s %v (+%s also)", tracker.Grouped(n), k, tracker.Grouped(also)))
		case n > 0:
			found = append(found, tracker.Grouped(n)+" "+k.String())
		case also > 0:
			found = append(found, tracker.Grouped(also)+" "+k.String()+" (also)")
		}
	}
	return strings.Join(found, ", ")
}
