package report

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// connectionOf makes a connection of arbitrary values from b.
func connectionOf(b []byte) Connection {
	u := func(i int) uint64 {
		if len(b) == 0 {
			return 0
		}
		var x [8]byte
		copy(x[:], b[min(i, len(b)):])
		return binary.LittleEndian.Uint64(x[:]) >> (b[i%max(len(b), 1)] % 64)
	}
	flags := u(0)
	var c Connection
	c.ID = u(1)
	ip4 := netip.AddrFrom4([4]byte{byte(u(2)), byte(u(3)), 0, 1})
	ip6 := netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(u(4))})
	c.Client = netip.AddrPortFrom(ip4, uint16(u(5)))
	if flags&1 != 0 {
		c.Server = netip.AddrPortFrom(ip6, uint16(u(6)))
	}
	c.ClientState, c.ServerState = tracker.State(u(7)%13), tracker.State(u(8)%13)
	c.FirstPacket, c.LastPacket = Time(u(9)), Time(u(10)&^(1<<63))
	c.Midstream = flags&2 != 0
	c.Packets, c.PayloadBytes = PerSide{u(11), u(12)}, PerSide{u(13), u(14)}
	c.Keepalives, c.ZeroWindowProbes = u(15)%3, u(16)%3
	c.History = string(b[min(17, len(b)):min(17+int(u(17)%12), len(b))])
	c.ConnState = ConnState([]string{"", "SF", "S0", "REJ", "RSTR\x01", "OTH"}[u(18)%6])
	c.CommunityID = "1:" + string(b[:min(len(b), int(u(19)%30))])
	c.Anomalies = []tracker.Kind{}
	for k := range u(20) % 4 {
		c.Anomalies = append(c.Anomalies, tracker.Kind(1+(u(21)+k)%20))
	}
	c.Capture, c.Seen = Capture(flags>>2&1), OptionalSide{tracker.Side(flags >> 3 & 1), flags&16 != 0}
	if flags&32 != 0 {
		c.MissedBytes = &PerSide{u(22), u(23)}
	}
	c.NotCaptured, c.BadChecksums = u(24)%5, u(25)%5
	if flags&64 != 0 {
		whys := []string{"sent SYN", "its FIN was acknowledged (ACK ≥ FIN+1)", "a \"quoted\" why", "SYN-ACK → ISN+1", "cut \xe2\x89", "\u2028"}
		trs := []Transition{}
		for i := range u(26) % 4 {
			trs = append(trs, Transition{Time: Time(u(27 + int(i))), Packet: u(28) >> i, Side: tracker.Side(i & 1),
				From: tracker.State(u(29+int(i)) % 13), To: tracker.State(u(30) % 13), Why: whys[(u(31)+i)%6], Inferred: flags&128 != 0})
		}
		c.Transitions = &trs
	}
	return c
}

// FuzzConnectionJSON: appendConnection writes what encoding/json writes,
// or leaves the connection to it.
func FuzzConnectionJSON(f *testing.F) {
	f.Add([]byte("ShADadFf"))
	f.Add([]byte{0xff, 0x00, 0x7f, '"', '\\', 0xe9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	f.Add(bytes.Repeat([]byte{0x41, 0x9c}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := connectionOf(b)
		got, ok := appendConnection(nil, &c)
		if !ok {
			return
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&c); err != nil {
			t.Fatal(err)
		}
		if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
			t.Fatalf("appendConnection:\n got %s\nwant %s", got, w)
		}
	})
}
