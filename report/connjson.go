package report

import (
	"strconv"
	"time"
)

// appendConnection appends c as encoding/json encodes it (compact, HTML
// not escaped), field by field without reflection: most of the time of a
// large JSON report. It reports false, having appended nothing, for a
// connection with what it leaves to encoding/json: a tunnel context, or a
// string that needs escaping.
func appendConnection(b []byte, c *Connection) ([]byte, bool) {
	if len(c.Tunnel) > 0 || !plain(c.History) || !plain(string(c.ConnState)) || !plain(c.CommunityID) ||
		!plainWhys(c.Transitions) || !plain(c.Client.Addr().Zone()) || !plain(c.Server.Addr().Zone()) {
		return b, false
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, c.ID, 10)
	b = append(b, `,"client":"`...)
	b = c.Client.AppendTo(b)
	b = append(b, `","server":"`...)
	b = c.Server.AppendTo(b)
	b = append(b, `","client_state":"`...)
	b = append(b, c.ClientState.String()...)
	b = append(b, `","server_state":"`...)
	b = append(b, c.ServerState.String()...)
	b = append(b, `","first_packet":"`...)
	b = appendTime(b, c.FirstPacket)
	b = append(b, `","last_packet":"`...)
	b = appendTime(b, c.LastPacket)
	b = append(b, `","midstream":`...)
	b = strconv.AppendBool(b, c.Midstream)
	b = appendPerSide(append(b, `,"packets":`...), c.Packets)
	b = appendPerSide(append(b, `,"payload_bytes":`...), c.PayloadBytes)
	b = strconv.AppendUint(append(b, `,"keepalives":`...), c.Keepalives, 10)
	if c.ZeroWindowProbes != 0 {
		b = strconv.AppendUint(append(b, `,"zero_window_probes":`...), c.ZeroWindowProbes, 10)
	}
	b = append(append(append(b, `,"history":"`...), c.History...), '"')
	b = append(append(append(b, `,"conn_state":"`...), c.ConnState...), '"')
	b = append(append(append(b, `,"community_id":"`...), c.CommunityID...), '"')
	if c.Transitions != nil {
		b = append(b, `,"transitions":[`...)
		for i := range *c.Transitions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTransition(b, &(*c.Transitions)[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"anomalies":[`...)
	for i, k := range c.Anomalies {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), k.String()...), '"')
	}
	b = append(b, ']')
	return appendConnectionTail(b, c), true
}

// plainWhys reports whether every transition's why is plainText.
func plainWhys(trs *[]Transition) bool {
	if trs == nil {
		return true
	}
	for i := range *trs {
		if !plainText((*trs)[i].Why) {
			return false
		}
	}
	return true
}

// appendTransition appends a transition of a connection's list.
func appendTransition(b []byte, t *Transition) []byte {
	b = appendTime(append(b, `{"time":"`...), t.Time)
	b = strconv.AppendUint(append(b, `","packet":`...), t.Packet, 10)
	b = append(append(b, `,"side":"`...), t.Side.String()...)
	b = append(append(b, `","from":"`...), t.From.String()...)
	b = append(append(b, `","to":"`...), t.To.String()...)
	b = append(append(append(b, `","why":"`...), t.Why...), '"')
	if t.Inferred {
		b = append(b, `,"inferred":true`...)
	}
	return append(b, '}')
}

// appendConnectionTail appends the fields left out when they are empty.
func appendConnectionTail(b []byte, c *Connection) []byte {
	if c.Capture != BothDirections {
		b = append(append(append(b, `,"capture":"`...), c.Capture.String()...), '"')
	}
	if c.Seen.Valid {
		b = append(append(append(b, `,"seen":"`...), c.Seen.String()...), '"')
	}
	if c.MissedBytes != nil {
		b = appendPerSide(append(b, `,"missed_bytes":`...), *c.MissedBytes)
	}
	if c.NotCaptured != 0 {
		b = strconv.AppendUint(append(b, `,"not_captured":`...), c.NotCaptured, 10)
	}
	if c.BadChecksums != 0 {
		b = strconv.AppendUint(append(b, `,"bad_checksums":`...), c.BadChecksums, 10)
	}
	return append(b, '}')
}

func appendPerSide(b []byte, p PerSide) []byte {
	b = strconv.AppendUint(append(b, `{"client":`...), p.Client, 10)
	b = strconv.AppendUint(append(b, `,"server":`...), p.Server, 10)
	return append(b, '}')
}

// appendTime appends t as Time.MarshalText writes it.
func appendTime(b []byte, t Time) []byte {
	if t == 0 {
		return b
	}
	return time.Unix(0, int64(t)).UTC().AppendFormat(b, timeLayout)
}

// plain reports whether encoding/json writes s as it is: printable ASCII
// but the quote and the backslash.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
