package tracker

// History returns Zeek's history letters for the connection.
func (c *Conn) History() string { return "" }

// ConnState returns Zeek's conn_state code for the connection.
func (c *Conn) ConnState() string { return "" }
