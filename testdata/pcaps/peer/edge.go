package main

// Edge-case scenarios: challenge ACKs, a SYN on a live 4-tuple, data on a
// FIN, an abort with unacknowledged data, TIME_WAIT assassination, keepalive
// and user timeouts into a black hole, TCP Fast Open, a healed handshake.
// The raw role (IPv4 only) learns a live connection's numbers with an
// AF_PACKET socket (which sees packets before netfilter) and sends crafted
// segments with an IPPROTO_RAW socket; record.sh runs it in the client's
// namespace.

import (
	"encoding/binary"
	"log"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"challenge-ack":           {clientLiveOpen, serverEcho},
		"syn-on-live-tuple":       {clientRedialSamePort, serverTwoConns},
		"fin-with-data":           {clientFinWithData, serverFinWithData},
		"rst-with-unacked-data":   {clientAbortUnacked, serverUntilError},
		"time-wait-assassination": {clientCloseServerFirst, serverCloseFirst},
		"time-wait-inexact-rst":   {clientCloseServerFirst, serverCloseFirst},
		"keepalive-dead-peer":     {clientKeepaliveDead, serverHoldAfterReply},
		"user-timeout":            {clientUserTimeout, serverWriteWhenTold},
		"fast-open":               {clientFastOpen, serverFastOpen},
		"black-hole-healed":       {clientConnectOnly, serverListenOnly},
	} {
		scenarios[name] = p
	}
}

// rawPlays are the scenarios with a raw role.
var rawPlays = map[string]func(){
	"challenge-ack":           rawChallengeACK,
	"time-wait-assassination": rawAssassinate(0),
	"time-wait-inexact-rst":   rawAssassinate(1000),
}

const (
	tcpFastOpen        = 23 // TCP_FASTOPEN (listener: queue length)
	tcpFastOpenConnect = 30 // TCP_FASTOPEN_CONNECT
	tcpUserTimeout     = 18 // TCP_USER_TIMEOUT, ms
)

// setConnInt sets an option on a connected socket.
func setConnInt(c *net.TCPConn, level, opt, v int) {
	rc, err := c.SyscallConn()
	check(err)
	var serr error
	check(rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), level, opt, v) }))
	check(serr)
}

// cork holds back partial segments until the socket is uncorked or closed
// (shutdown or close sends the queue at once, the FIN on its last segment).
func cork(c *net.TCPConn) { setConnInt(c, syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) }

// ---- clients ----

// clientLiveOpen: one exchange, then (while raw crafts its segment after the
// second reply) two more; the connection is left open.
func clientLiveOpen() {
	c := wrap(dial())
	c.send("ping 1")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("raw-ready")
	c.send("ping 2")
	log.Printf("reply %q", c.recv())
	await("raw-done")
	c.send("ping 3")
	log.Printf("reply %q", c.recv())
}

// clientRedialSamePort: one exchange from port 50402, then an abort whose RST
// record.sh drops in the client's output hook (the server never hears of it),
// then a new connection from the same port.
func clientRedialSamePort() {
	local := &net.TCPAddr{IP: net.ParseIP("198.18.0.1"), Port: 50402}
	d := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
	d.LocalAddr = local
	c := wrap(d.dial(*addr))
	c.send("request 1")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("abort")
	check(c.SetLinger(0))
	c.close()
	held = held[:0]
	mark("client-aborted")
	await("redial")
	start := time.Now()
	c = wrap(d.dial(*addr))
	log.Printf("second connect took %v", time.Since(start).Round(time.Millisecond))
	c.send("request 2")
	log.Printf("reply %q", c.recv())
}

// clientFinWithData: the request and the FIN in one segment (TCP_CORK, then
// shutdown(SHUT_WR)); then it reads the reply to EOF and closes.
func clientFinWithData() {
	c := wrap(dial())
	cork(c.TCPConn)
	c.send("request and FIN")
	check(c.CloseWrite())
	log.Printf("reply %q", c.drain())
	c.close()
}

// clientAbortUnacked: one exchange, then (record.sh now drops the client's
// data at the server) 19 bytes the server never gets, and an abort while
// they are unacknowledged.
func clientAbortUnacked() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	c.send("this never arrives")
	time.Sleep(500 * time.Millisecond) // retransmitted meanwhile
	check(c.SetLinger(0))
	c.close()
}

// clientKeepaliveDead: keepalive after 1 s idle, every 1 s, 3 probes; one
// exchange, then record.sh drops everything from the server at the client.
func clientKeepaliveDead() {
	d := newDialer()
	d.KeepAlive = 0
	d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}
	c := wrap(d.dial(*addr))
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	start := time.Now()
	_, err := c.r.ReadByte()
	log.Printf("read after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

// clientUserTimeout: TCP_USER_TIMEOUT 2 s; one exchange, then data into a
// black hole until the socket dies.
func clientUserTimeout() {
	c := wrap(newDialer(setInt(syscall.IPPROTO_TCP, tcpUserTimeout, 2000)).dial(*addr))
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	start := time.Now()
	c.send("are you there?")
	_, err := c.r.ReadByte()
	log.Printf("read after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

// clientFastOpen: two connections with TCP_FASTOPEN_CONNECT: the first asks
// for a cookie, the second carries its request in the SYN.
func clientFastOpen() {
	for i := 1; i <= 2; i++ {
		c := wrap(newDialer(setInt(syscall.IPPROTO_TCP, tcpFastOpenConnect, 1)).dial(*addr))
		c.send("hello " + string(rune('0'+i)))
		log.Printf("reply %q", c.recv())
		c.close()
		held = held[:0]
		time.Sleep(300 * time.Millisecond)
	}
}

// ---- servers ----

// serverTwoConns answers one request on each of two connections; the first
// one is reset by the client later (its read error is logged).
func serverTwoConns() {
	ln := listen()
	for i := 1; i <= 2; i++ {
		c := wrap(accept(ln))
		c.send("reply: " + c.recv())
		go func() {
			_, err := c.r.ReadByte()
			log.Printf("connection %d: read: %v", i, err)
		}()
	}
}

// serverFinWithData reads the request to EOF, then sends its reply and FIN
// in one segment.
func serverFinWithData() {
	c := wrap(accept(listen()))
	log.Printf("request %q", c.drain())
	cork(c.TCPConn)
	c.send("reply and FIN")
	c.close()
}

// serverWriteWhenTold: one exchange; when record.sh says so, it writes.
func serverWriteWhenTold() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	mark("server-established")
	await("write")
	c.send("still there?")
	_, err := c.r.ReadByte()
	log.Printf("read after the write: %v", err)
}

// serverFastOpen: a TFO listener (queue 16); two connections, each one
// request, reply, and a close after the client's.
func serverFastOpen() {
	ln := listen(setInt(syscall.IPPROTO_TCP, tcpFastOpen, 16))
	for i := 1; i <= 2; i++ {
		c := wrap(accept(ln))
		c.send("world: " + c.recv())
		c.drain()
		c.close()
	}
}

// ---- raw segments ----

const (
	flFIN = 0x01
	flSYN = 0x02
	flRST = 0x04
	flACK = 0x10
)

type seg struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	window   uint16
	payload  int  // seen segments only
	outgoing bool // seen segments only: sent by this namespace
}

func csum(acc uint32, b []byte) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		acc += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return acc
}

// rawSend sends s (no options, no payload) as an IPv4 packet.
func rawSend(s seg) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	check(err)
	defer syscall.Close(fd)
	b := make([]byte, 40)
	sa, da := s.src.Addr().As4(), s.dst.Addr().As4()
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], 40)
	binary.BigEndian.PutUint16(b[4:], uint16(rand.Uint32()))
	b[6] = 0x40 // DF
	b[8] = 64
	b[9] = syscall.IPPROTO_TCP
	copy(b[12:], sa[:])
	copy(b[16:], da[:])
	binary.BigEndian.PutUint16(b[10:], ^uint16(csum(0, b[:20])))
	t := b[20:]
	binary.BigEndian.PutUint16(t[0:], s.src.Port())
	binary.BigEndian.PutUint16(t[2:], s.dst.Port())
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	t[12] = 5 << 4
	t[13] = s.flags
	binary.BigEndian.PutUint16(t[14:], s.window)
	pseudo := make([]byte, 12)
	copy(pseudo, sa[:])
	copy(pseudo[4:], da[:])
	pseudo[9] = syscall.IPPROTO_TCP
	binary.BigEndian.PutUint16(pseudo[10:], 20)
	binary.BigEndian.PutUint16(t[16:], ^uint16(csum(csum(0, pseudo), t)))
	check(syscall.Sendto(fd, b, 0, &syscall.SockaddrInet4{Addr: da}))
	log.Printf("sent %v → %v flags %#02x seq %d ack %d win %d", s.src, s.dst, s.flags, s.seq, s.ack, s.window)
}

// sniffer sees every IPv4 packet of the namespace, both directions.
type sniffer int

func newSniffer() sniffer {
	// ETH_P_ALL (in network byte order): a protocol-specific packet socket
	// would not see outgoing packets.
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(0x0300))
	check(err)
	tv := syscall.Timeval{Sec: 1}
	check(syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv))
	return sniffer(fd)
}

// next returns the next TCP segment for which ok is true (within 15 s).
func (fd sniffer) next(ok func(*seg) bool) *seg {
	buf := make([]byte, 65536)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		n, from, err := syscall.Recvfrom(int(fd), buf, 0)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			continue
		}
		check(err)
		p := buf[:n]
		if n < 40 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_TCP {
			continue
		}
		ihl, tot := int(p[0]&0x0f)*4, int(binary.BigEndian.Uint16(p[2:]))
		if tot > n || ihl+20 > tot {
			continue
		}
		t := p[ihl:tot]
		s := &seg{
			src:     netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[12:16])), binary.BigEndian.Uint16(t[0:])),
			dst:     netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[16:20])), binary.BigEndian.Uint16(t[2:])),
			seq:     binary.BigEndian.Uint32(t[4:]),
			ack:     binary.BigEndian.Uint32(t[8:]),
			flags:   t[13],
			window:  binary.BigEndian.Uint16(t[14:]),
			payload: len(t) - int(t[12]>>4)*4,
		}
		if ll, isLL := from.(*syscall.SockaddrLinklayer); isLL {
			s.outgoing = ll.Pkttype == syscall.PACKET_OUTGOING
		}
		if ok(s) {
			log.Printf("seen %v → %v flags %#02x seq %d ack %d len %d", s.src, s.dst, s.flags, s.seq, s.ack, s.payload)
			return s
		}
	}
	log.Fatal("timed out waiting for a segment")
	return nil
}

func server() netip.AddrPort {
	a, err := netip.ParseAddrPort(*addr)
	check(err)
	if !a.Addr().Is4() {
		log.Fatal("raw: IPv4 only")
	}
	return a
}

// rawChallengeACK waits for the server's next data segment (the reply to
// "ping 2"), which tells the client's next sequence number (its ACK), then
// sends an RST 1000 bytes beyond it: inside the server's window, not at
// RCV.NXT, so the server must answer with a challenge ACK (RFC 5961 3.2).
func rawChallengeACK() {
	srv := server()
	sn := newSniffer()
	mark("raw-ready")
	d := sn.next(func(s *seg) bool { return s.src == srv && !s.outgoing && s.payload > 0 })
	time.Sleep(100 * time.Millisecond) // the client's delayed ACK goes out first
	rawSend(seg{src: d.dst, dst: srv, seq: d.ack + 1000, ack: d.seq + uint32(d.payload), flags: flRST | flACK})
	sn.next(func(s *seg) bool { return s.src == srv && !s.outgoing && s.flags&flACK != 0 })
	time.Sleep(100 * time.Millisecond)
}

// rawAssassinate waits for the client's FIN (the server closed first, so
// the server ends in TIME_WAIT), then, when record.sh has seen the server's
// TIME-WAIT socket, sends an RST off bytes past the sequence number that
// socket expects (the FIN's + 1; off 0: exactly it), with no timestamp (no
// PAWS check).
func rawAssassinate(off uint32) func() {
	return func() {
		srv := server()
		sn := newSniffer()
		mark("raw-ready")
		fin := sn.next(func(s *seg) bool { return s.dst == srv && s.outgoing && s.flags&flFIN != 0 })
		await("rst")
		rawSend(seg{src: fin.src, dst: srv, seq: fin.seq + 1 + off, ack: fin.ack, flags: flRST | flACK})
		time.Sleep(100 * time.Millisecond)
	}
}
