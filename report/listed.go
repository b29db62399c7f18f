package report

// Listed returns the indexes in r.Connections of the connections the table
// lists with opts (all of them, or for a large capture those that did not
// close cleanly): the ones that get a timeline, a ladder, a link.
func Listed(r *Report, opts PrintOptions) []int {
	rows, _, _ := shown(r, opts)
	return rows
}
