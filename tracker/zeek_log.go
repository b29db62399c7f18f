package tracker

// ZeekOrigIsClient reports whether Zeek's originator is the client (see
// zeek.Summary's Orientation): conn.log's id.orig_h is then the client's.
func (c *Conn) ZeekOrigIsClient() bool { return c.zeek.OrigIsClient() }

// ZeekBytes returns conn.log's orig_bytes and resp_bytes for the
// connection: payload bytes as sequence numbers span them.
func (c *Conn) ZeekBytes() (orig, resp uint64) { return c.zeek.Bytes() }
