package tracker

import "github.com/tcpwatch/tcpwatch/tracker/zeek"

// History returns Zeek's history letters for the connection. Upper-case
// letters are Zeek's originator's, which is the client except in the cases
// zeek.Summary documents (see its Orientation).
func (c *Conn) History() string { return c.zeek.History() }

// ConnState returns Zeek's conn_state code for the connection.
func (c *Conn) ConnState() string { return c.zeek.ConnState() }

// Zeek returns what the Zeek summary needs of the segment; fromClient says
// which side of the connection sent it. The flags convert as they are:
// zeek.Flags keeps the header's bit positions, as Flags does.
func (s *Segment) Zeek(fromClient bool) zeek.Segment {
	return zeek.Segment{
		Seq: s.Seq, Ack: s.Ack, Payload: s.Payload,
		SrcPort: s.SrcPort, DstPort: s.DstPort, Window: s.Window,
		Flags: zeek.Flags(s.Flags), FromClient: fromClient,
	}
}
