package report

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"
)

// zeekFields and zeekTypes are conn.log's columns as Zeek writes them.
var (
	zeekFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
		"duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes",
		"history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"}
	zeekTypes = []string{"time", "string", "addr", "port", "addr", "port", "enum", "string",
		"interval", "count", "count", "string", "bool", "bool", "count",
		"string", "count", "count", "count", "count", "set[string]"}
)

// zeekUnset is Zeek's #unset_field: a column with no value.
const zeekUnset = "-"

// printZeek writes -F zeek: the connections as Zeek's conn.log, in its TSV
// format (tab-separated, the header lines Zeek's ASCII writer writes), so
// that zeek-cut and Zeek log readers read it. Columns follow Zeek's rules
// for what is set: duration, orig_bytes and resp_bytes only when the
// duration is not zero; history only when there is one. Left unset: service
// (tcpwatch identifies no protocol), local_orig and local_resp (no local
// networks are configured), orig_ip_bytes and resp_ip_bytes (tcpwatch does
// not keep IP header lengths), tunnel_parents. #open and #close carry the
// capture's first packet time and its end (capture_end when later than the
// last packet), not the wall clock, so that the same capture always gives
// the same log.
func printZeek(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	stamp := func(t Time) string { return time.Unix(0, int64(t)).UTC().Format("2006-01-02-15-04-05") }
	fmt.Fprintf(bw, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t%s\n#path\tconn\n", zeekUnset)
	fmt.Fprintf(bw, "#open\t%s\n#fields\t%s\n#types\t%s\n", stamp(r.Input.FirstPacket),
		strings.Join(zeekFields, "\t"), strings.Join(zeekTypes, "\t"))
	row := make([]string, 0, len(zeekFields))
	r.each(func(c *Connection) bool {
		row = zeekRow(row[:0], c)
		for j, v := range row {
			if j > 0 {
				bw.WriteByte('\t')
			}
			bw.WriteString(zeekEscape(v))
		}
		bw.WriteByte('\n')
		return true
	})
	fmt.Fprintf(bw, "#close\t%s\n", stamp(max(r.Input.LastPacket, r.Input.CaptureEnd)))
	return bw.Flush()
}

// zeekRow appends a connection's conn.log values to row.
func zeekRow(row []string, c *Connection) []string {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	orig, resp := c.Client, c.Server
	opk, rpk := c.Packets.Client, c.Packets.Server
	if c.Zeek.OrigIsServer {
		orig, resp, opk, rpk = resp, orig, rpk, opk
	}
	dur, ob, rb := zeekUnset, zeekUnset, zeekUnset
	if d := c.Duration(); d > 0 {
		dur, ob, rb = fmt.Sprintf("%.6f", d.Seconds()), u(c.Zeek.OrigBytes), u(c.Zeek.RespBytes)
	}
	var missed uint64
	if c.MissedBytes != nil {
		missed = c.MissedBytes.Client + c.MissedBytes.Server
	}
	hist := c.History
	if hist == "" {
		hist = zeekUnset
	}
	return append(row, epochClock(c.FirstPacket), zeekUID(c), orig.Addr().String(), u(uint64(orig.Port())),
		resp.Addr().String(), u(uint64(resp.Port())), "tcp", zeekUnset, dur, ob, rb, string(c.ConnState),
		zeekUnset, zeekUnset, u(missed), hist, u(opk), zeekUnset, u(rpk), zeekUnset, zeekUnset)
}

// zeekUID is a connection's uid: "C" and 17 characters, like Zeek's, but
// derived from the connection (its Community ID, first packet and id) so
// that the same capture always gives the same uids.
func zeekUID(c *Connection) string {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s %d %d", c.CommunityID, c.FirstPacket, c.ID)
	s := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	return "C" + uidAlphabet.Replace(s[:17])
}

// uidAlphabet keeps a uid to letters and digits, as Zeek's are.
var uidAlphabet = strings.NewReplacer("-", "x", "_", "y")

// zeekEscape escapes a value as Zeek's ASCII writer does: the separator, a
// backslash and non-printable bytes as \xHH; a value that is exactly the
// unset or empty marker only when it is not meant as one (never, here).
func zeekEscape(v string) string {
	clean := true
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
