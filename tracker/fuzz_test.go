package tracker

import (
	"encoding/binary"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// FuzzTracker feeds arbitrary segment sequences between a few endpoints and
// checks the invariants: no panic; every transition changes the state and
// chains from the previous one; every state is a real one; findings are
// complete; the table respects its cap.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 2, 0, 0, 0, 1, 1, 18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{0, 1, 0, 0, 0, 0, 9, 4, 0, 0, 0, 0, 0, 0, 0, 0, 2, 17, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := New(Config{MaxConns: 4, Thresholds: Thresholds{Stuck: 1e9}})
		now := int64(1_700_000_000_000_000_000)
		const rec = 13
		for len(data) >= rec {
			b := data[:rec]
			data = data[rec:]
			now += int64(b[0]) << 20 // up to ~0.27 s per segment
			ends := [4]Addr{AddrFrom4([4]byte{198, 18, 0, 1}), AddrFrom4([4]byte{198, 18, 0, 2}),
				AddrFrom4([4]byte{198, 18, 0, 3}), AddrFrom16([16]byte{0: 0xfd, 15: 1})}
			seg := Segment{
				Time: now, Packet: 1,
				Src: ends[b[1]&3], Dst: ends[b[1]>>2&3],
				SrcPort: 80 + uint16(b[1]>>4&1), DstPort: 80 + uint16(b[1]>>5&1),
				Flags:   Flags(b[2]) | Flags(b[3]&1)<<8,
				Seq:     seqnum.Value(binary.BigEndian.Uint32(b[4:])),
				Ack:     seqnum.Value(binary.BigEndian.Uint32(b[8:])),
				Payload: uint32(b[12] & 0x3f),
				Window:  uint16(b[12]>>6) * 1000,
				WScale:  int8(b[3]>>1) % 16,
			}
			if b[3]&0x80 != 0 {
				seg.WScale = -1
			}
			tr.Observe(&seg)
			if tr.Active() > 4 {
				t.Fatalf("table holds %d connections, cap 4", tr.Active())
			}
		}
		tr.Advance(now + 200e9)
		tr.Finish()
		for _, c := range tr.Conns() {
			prev := [2]State{Closed, Closed}
			for _, x := range c.Transitions() {
				if x.From != prev[x.Side] || x.From == x.To || x.To >= numStates || x.Why == "" {
					t.Fatalf("bad transition %+v after %v\n%s", x, prev[x.Side], timeline(c))
				}
				prev[x.Side] = x.To
			}
			if prev != [2]State{c.State(Client), c.State(Server)} {
				t.Fatalf("states %v/%v do not match the transitions", c.State(Client), c.State(Server))
			}
			_ = c.History()
			_ = c.ConnState()
		}
		for _, a := range tr.Anomalies() {
			if a.Kind == 0 || a.Kind >= numKinds || a.Detail == "" || !a.Target.IsValid() {
				t.Fatalf("incomplete finding %+v", a)
			}
		}
	})
}
