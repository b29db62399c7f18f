package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw mode writes whole Ethernet frames onto the client's end of the
// veth pair through an AF_PACKET socket, sendmmsg(2) batches of 64, so
// that the load is not bounded by two kernel TCP stacks: each connection
// is the ten packets of conns mode (handshake, a 16-byte request and
// reply, both FINs) with right checksums, between addresses that are not
// the server's (198.19.0.0/16 to 198.18.1.1, port 80) and to a MAC address
// that is not its interface's, so the server's kernel drops them at once
// (PACKET_OTHERHOST) after the capturers' taps have seen them. Every
// connection has its own 4-tuple.

const (
	rawBatch   = 64
	rawPerConn = 10
	rawFrame   = 14 + 20 + 20 + 16 // Ethernet, IPv4, TCP, payload (at most)
)

// rawConns sends rate packets per second on iface for d, at most count
// packets (0: rate × d), and returns how many it sent.
func rawConns(iface string, rate int, d time.Duration, count uint64) (uint64, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0) // protocol 0: sends only, receives nothing
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		return 0, err
	}
	unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
	if count == 0 {
		count = uint64(float64(rate) * d.Seconds())
	}
	g := &rawGen{src: ifi.HardwareAddr}
	buf := make([]byte, rawBatch*rawFrame)
	iov := make([]unix.Iovec, rawBatch)
	msgs := make([]unix.Mmsghdr, rawBatch)
	var sent uint64
	fill := func(n int) {
		for i := range n {
			frame := g.next(buf[i*rawFrame : (i+1)*rawFrame])
			iov[i].Base = &frame[0]
			iov[i].SetLen(len(frame))
			msgs[i].Hdr.Iov = &iov[i]
			msgs[i].Hdr.Iovlen = 1
		}
	}
	var ferr error
	start := time.Now()
	pace(rate/rawBatch+1, d, func() {
		// pace catches up on a rate beyond reach by calling at once:
		// the time is checked here too.
		if sent >= count || ferr != nil || time.Since(start) >= d {
			return
		}
		n := int(min(uint64(rawBatch), count-sent))
		fill(n)
		for off := 0; off < n; {
			r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[off])), uintptr(n-off), 0, 0, 0)
			if errno == unix.ENOBUFS || errno == unix.EAGAIN {
				if time.Since(start) >= d {
					sent += uint64(off)
					return // the queue stayed full to the end: the load stays bounded in time
				}
				continue
			}
			if errno != 0 {
				ferr = errno
				return
			}
			off += int(r)
		}
		sent += uint64(n)
	})
	if ferr != nil {
		return sent, fmt.Errorf("sendmmsg: %w", ferr)
	}
	return sent, nil
}

// rawGen makes the frames of one connection after another.
type rawGen struct {
	src  net.HardwareAddr
	conn uint32 // the connection being made
	step int    // its next packet, 0 to 9
}

// The ten packets of a connection: who sends it (client?), flags,
// payload, and the sequence and acknowledgment offsets from each side's
// ISN.
var rawSteps = [rawPerConn]struct {
	client   bool
	flags    byte
	payload  int
	seq, ack uint32
}{
	{true, 0x02, 0, 0, 0},    // SYN
	{false, 0x12, 0, 0, 1},   // SYN-ACK
	{true, 0x10, 0, 1, 1},    // ACK
	{true, 0x18, 16, 1, 1},   // request
	{false, 0x10, 0, 1, 17},  // its ACK
	{false, 0x18, 16, 1, 17}, // reply
	{true, 0x10, 0, 17, 17},  // its ACK
	{true, 0x11, 0, 17, 17},  // client FIN
	{false, 0x11, 0, 17, 18}, // server FIN, ACK
	{true, 0x10, 0, 18, 18},  // last ACK
}

// next writes the next frame into b and returns it.
func (g *rawGen) next(b []byte) []byte {
	s := rawSteps[g.step]
	c := g.conn
	cli := [4]byte{198, 19, byte(c >> 14), byte(c >> 6)} // 64 ports per address
	cport := uint16(1024 + c&63)
	srv := [4]byte{198, 18, 1, 1}
	cisn, sisn := c*2654435761, c*40503+7
	srcIP, dstIP, sport, dport := cli, srv, cport, uint16(80)
	seq, ack := cisn+s.seq, sisn+s.ack
	if !s.client {
		srcIP, dstIP, sport, dport = srv, cli, 80, cport
		seq, ack = sisn+s.seq, cisn+s.ack
	}
	if s.flags == 0x02 {
		ack = 0
	}
	n := 14 + 20 + 20 + s.payload
	b = b[:n]
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, 0x02}) // not the server's: PACKET_OTHERHOST
	copy(b[6:12], g.src)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	binary.BigEndian.PutUint32(ip[4:], 0x40000000) // ID 0, DF
	ip[8], ip[9] = 64, 6
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], srcIP[:])
	copy(ip[16:20], dstIP[:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
	tcp := b[34:n]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12], tcp[13] = 5<<4, s.flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
	for i := 20; i < len(tcp); i++ {
		tcp[i] = 'x'
	}
	pseudo := sum(ip[12:20], 6+uint32(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum(tcp, pseudo)))
	if g.step++; g.step == rawPerConn {
		g.step, g.conn = 0, g.conn+1
	}
	return b
}

// sum adds b to the ones' complement sum acc, 16 bits at a time.
func sum(b []byte, acc uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}
