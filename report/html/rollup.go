package html

import (
	"net/netip"

	"github.com/tcpwatch/tcpwatch/report"
)

// service is one row of the page's services table: the report's rollup of
// one server ip:port.
type service struct {
	Server                     netip.AddrPort
	Connections, Open          uint64
	ClientStates, ServerStates string
	Findings                   string
}

// maxServices caps the services table's rows.
const maxServices = 50

// services lists the rollup's services, worst first, and how many more
// there were.
func services(r *report.Report) (rows []service, more int) {
	svs := report.RollupOf(r).Services
	for i := range svs[:min(len(svs), maxServices)] {
		sv := &svs[i]
		rows = append(rows, service{Server: sv.Server, Connections: sv.Connections, Open: sv.Open,
			ClientStates: report.ServiceStates(sv, false), ServerStates: report.ServiceStates(sv, true),
			Findings: report.ServiceFindings(sv)})
	}
	return rows, len(svs) - len(rows)
}
