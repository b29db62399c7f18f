package tracker

// History returns Zeek's history letters for the connection. Upper-case
// letters are Zeek's originator's, which is the client except in the cases
// ZeekSummary documents (see HistoryOrigIsClient).
func (c *Conn) History() string { return c.zeek.History() }

// HistoryOrigIsClient reports whether History's upper-case letters are the
// client's (true) or the server's.
func (c *Conn) HistoryOrigIsClient() bool { return c.zeek.OrigIsClient() }

// ConnState returns Zeek's conn_state code for the connection.
func (c *Conn) ConnState() string { return c.zeek.ConnState() }
