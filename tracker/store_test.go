package tracker

import (
	"testing"
	"time"
	"unsafe"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestReportKeepsAnsweredConnectionsOverOthers: with room for 20 ended
// connections, 20 real ones (handshake, then an RST) and 50 refused SYNs
// from spoofed ports, interleaved, then 2×MSL for all of them to leave the
// table: the report keeps the 20 real ones and forgets the 50 others,
// counted as such.
func TestReportKeepsAnsweredConnectionsOverOthers(t *testing.T) {
	tr := New(Config{MaxKept: 20})
	now := int64(1_700_000_000) * int64(time.Second)
	pkt := uint64(0)
	send := func(port uint16, from Side, flags Flags, seq, ack seqnum.Value) {
		now += int64(time.Millisecond)
		pkt++
		s := Segment{Time: now, Packet: pkt, Flags: flags, Seq: seq, Ack: ack, Window: 1000, WScale: -1,
			Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80}
		if from == Server {
			s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, cAddr, port
		}
		tr.Observe(&s)
	}
	for i := range 70 {
		port := uint16(10000 + i)
		if i%7 < 2 { // 20 real connections
			send(port, Client, SYN, 100, 0)
			send(port, Server, SYN|ACK, 500, 101)
			send(port, Client, ACK, 101, 501)
			send(port, Client, RST, 101, 0)
			continue
		}
		send(port, Client, SYN, 100, 0)
		send(port, Server, RST|ACK, 0, 101)
	}
	tr.Advance(now + int64(2*time.Minute))
	tr.Finish()
	real := 0
	for _, c := range tr.Conns() {
		if !c.answered() {
			t.Errorf("connection #%d (port %d) kept, never answered both ways", c.ID, c.Client().Port())
		}
		real++
	}
	if ev := tr.Evicted(); real != 20 || ev.Forgotten != 50 || ev.ForgottenUnanswered != 50 {
		t.Errorf("%d connections kept, %d forgotten (%d unanswered); want 20 kept, 50 unanswered forgotten", real, ev.Forgotten, ev.ForgottenUnanswered)
	}
}

// TestStoredSizesAsDocumented pins the sizes the README's memory bound is
// made of: a lone entry of 144 bytes, and a connection with its table slots
// (load ≤ ½), four timer entries and one block of transitions within 2 KB.
func TestStoredSizesAsDocumented(t *testing.T) {
	if n := unsafe.Sizeof(loneEntry{}); n != 144 {
		t.Errorf("a lone entry takes %d bytes, README says 144", n)
	}
	conn := unsafe.Sizeof(Conn{}) + 2*unsafe.Sizeof(flowSlot{}) + 4*unsafe.Sizeof(timer{}) + unsafe.Sizeof(transBlock{})
	if conn > 2048 {
		t.Errorf("a connection takes %d bytes with its slots, timers and transitions, README says at most 2 KB", conn)
	}
}

// TestEveryKindFitsTheFoundBits: a connection records the kinds found on it
// as bits 1<<Kind; every kind must have its bit.
func TestEveryKindFitsTheFoundBits(t *testing.T) {
	var c Conn
	if bits := 8 * unsafe.Sizeof(c.found[0]); uintptr(numKinds) > bits {
		t.Errorf("%d kinds, %d bits per side in Conn.found", numKinds-1, bits)
	}
}
