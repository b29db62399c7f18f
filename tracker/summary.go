package tracker

// History returns Zeek's history letters for the connection. Upper-case
// letters are Zeek's originator's, which is the client except in the cases
// ZeekSummary documents .
func (c *Conn) History() string { return c.zeek.History() }

// ConnState returns Zeek's conn_state code for the connection.
func (c *Conn) ConnState() string { return c.zeek.ConnState() }
