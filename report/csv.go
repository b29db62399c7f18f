package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csvHeader names the columns of -F csv, one row per connection.
var csvHeader = []string{
	"id", "client_addr", "client_port", "server_addr", "server_port", "client_state", "server_state",
	"first_packet", "last_packet", "duration", "midstream", "client_packets", "server_packets",
	"client_payload_bytes", "server_payload_bytes", "keepalives", "zero_window_probes",
	"history", "conn_state", "community_id", "anomalies", "capture", "seen",
	"client_missed_bytes", "server_missed_bytes", "not_captured",
}

// printCSV writes -F csv: a header row, then one row per connection, as
// RFC 4180 says (encoding/csv). Times are the JSON document's; duration is
// in seconds to the nanosecond; anomalies are the kinds, joined by ";".
func printCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	var err error
	r.each(func(c *Connection) bool {
		var miss PerSide
		if c.MissedBytes != nil {
			miss = *c.MissedBytes
		}
		ks := make([]string, len(c.Anomalies))
		for j, k := range c.Anomalies {
			ks[j] = k.String()
		}
		row := []string{
			u(c.ID), c.Client.Addr().String(), u(uint64(c.Client.Port())), c.Server.Addr().String(), u(uint64(c.Server.Port())),
			c.ClientState.String(), c.ServerState.String(), c.FirstPacket.String(), c.LastPacket.String(),
			fmt.Sprintf("%.9f", c.Duration().Seconds()), strconv.FormatBool(c.Midstream),
			u(c.Packets.Client), u(c.Packets.Server), u(c.PayloadBytes.Client), u(c.PayloadBytes.Server),
			u(c.Keepalives), u(c.ZeroWindowProbes), c.History, string(c.ConnState), c.CommunityID,
			strings.Join(ks, ";"), c.Capture.String(), c.Seen.String(), u(miss.Client), u(miss.Server), u(c.NotCaptured),
		}
		err = cw.Write(row)
		return err == nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
