package report

// Listed returns the indexes in r.Connections of the connections the table
// lists in full with opts: every one, or when a large capture is rolled up
// the connections that matter most. They are the ones that get a timeline,
// a ladder, a link. A streamed report is materialized first.
func Listed(r *Report, opts PrintOptions) []int {
	r.Materialize()
	rows := make([]int, 0, len(r.Connections))
	if !rolledUp(r, opts) {
		for i := range r.Connections {
			rows = append(rows, i)
		}
		return rows
	}
	index := make(map[*Connection]int, MaxTop)
	for i := range r.Connections {
		index[&r.Connections[i]] = i
	}
	for _, c := range rollupOf(r).Top {
		if i, ok := index[c]; ok {
			rows = append(rows, i)
		}
	}
	return rows
}

// RollupOf returns the rollup of the report the table format prints for
// a large capture: services worst first, findings by kind, the connections
// that matter most.
func RollupOf(r *Report) *Rollup { return rollupOf(r) }

// ServiceStates lists a service's final states for one side as the rollup
// table does ("ESTABLISHED 3, TIME_WAIT 2"), server side if server.
func ServiceStates(sv *Service, server bool) string {
	if server {
		return stateArray(&sv.ServerStates)
	}
	return stateArray(&sv.ClientStates)
}

// ServiceFindings lists a service's findings by kind, worst first, as the
// rollup table does.
func ServiceFindings(sv *Service) string { return serviceFindings(sv) }
