package main

// The delay role stands in for a path with a round-trip time: record.sh runs
// it in a third namespace between the client's and the server's veth, where
// it takes every frame off one link (an AF_PACKET socket) and puts it on the
// other a fixed time later. Each direction is one FIFO with one constant
// delay, so nothing is reordered, and nothing is dropped unless the log says
// so. (tc's netem does the same in the kernel; the kernels these recordings
// were made on do not have it.) A frame is due its delay after the kernel
// received it (SO_TIMESTAMPNS), so a late wake-up of this process does not
// add to the delay unless it lasts longer than the delay; how late frames
// went out is logged at the end (record.sh runs this under SCHED_FIFO).
//
//	peer -role delay -sync DIR -links m-c,m-s -delay 10ms

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

var (
	links     = flag.String("links", "", "delay role: the two interfaces to join, comma-separated")
	linkDelay = flag.Duration("delay", 0, "delay role: one-way delay added in each direction")
)

const packetIgnoreOutgoing = 23 // PACKET_IGNORE_OUTGOING

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openLink returns a packet socket bound to one interface, receiving every
// frame that arrives on it (not the ones it sends).
func openLink(name string) int {
	ifi, err := net.InterfaceByName(name)
	check(err)
	// Protocol 0 receives nothing until bound: no frame of another
	// interface slips in before the bind.
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, 0)
	check(err)
	check(syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_ALL), Ifindex: ifi.Index}))
	check(syscall.SetsockoptInt(fd, syscall.SOL_PACKET, packetIgnoreOutgoing, 1))
	check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 8<<20))
	check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, 8<<20))
	check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1))
	return fd
}

type frame struct {
	due time.Time
	b   []byte
}

type linkStats struct {
	frames, errors atomic.Int64
	late           atomic.Int64 // frames sent more than lateBy after they were due
	maxLate        atomic.Int64 // ns
	sumLate        atomic.Int64 // ns
}

const lateBy = time.Millisecond

func (st *linkStats) String() string {
	n := max(st.frames.Load(), 1)
	return fmt.Sprintf("%d frames, %d lost, %d more than %v late (mean %v, at most %v)",
		st.frames.Load(), st.errors.Load(), st.late.Load(), lateBy,
		time.Duration(st.sumLate.Load()/n).Round(time.Microsecond), time.Duration(st.maxLate.Load()).Round(time.Microsecond))
}

// forward moves frames from in to out, each delay after it arrived.
func forward(in, out int, name string, delay time.Duration, st *linkStats) {
	q := make(chan frame, 1<<16)
	go func() {
		// Go's timers wake up to a millisecond late; an absolute
		// clock_nanosleep on a thread of its own does not.
		runtime.LockOSThread()
		for f := range q {
			sleepUntil(f.due)
			_, err := syscall.Write(out, f.b)
			late := time.Since(f.due)
			if err != nil {
				st.errors.Add(1)
				log.Printf("%s: frame of %d bytes dropped: %v", name, len(f.b), err)
				continue
			}
			st.frames.Add(1)
			if late > lateBy {
				st.late.Add(1)
				log.Printf("%s: frame of %d bytes sent %v late", name, len(f.b), late)
			}
			st.sumLate.Add(int64(late))
			if int64(late) > st.maxLate.Load() {
				st.maxLate.Store(int64(late))
			}
		}
	}()
	buf := make([]byte, 1<<16)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := syscall.Recvmsg(in, buf, oob, 0)
		if err != nil {
			st.errors.Add(1)
			log.Printf("%s: receive: %v", name, err)
			continue
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
			continue
		}
		b := append([]byte(nil), buf[:n]...)
		fixChecksum(b)
		select {
		case q <- frame{arrival(oob[:oobn]).Add(delay), b}:
		default:
			st.errors.Add(1)
			log.Printf("%s: queue full, frame of %d bytes dropped", name, n)
		}
	}
}

func sleepUntil(t time.Time) {
	const clockRealtime, timerAbstime = 0, 1
	ts := syscall.NsecToTimespec(t.UnixNano())
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_CLOCK_NANOSLEEP, clockRealtime, timerAbstime,
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}

// arrival is the kernel's receive time of a frame (now, if it gave none).
func arrival(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
				return time.Unix(sec, nsec)
			}
		}
	}
	return time.Now()
}

// delayForward joins the two -links with -delay each way until SIGTERM, then
// logs how many frames went each way and how many were lost.
func delayForward() {
	names := strings.Split(*links, ",")
	if len(names) != 2 || *linkDelay <= 0 || *syncDir == "" {
		log.Fatal("usage: peer -role delay -sync DIR -links IF1,IF2 -delay D")
	}
	// Four goroutines spend their time in blocking system calls: enough
	// Ps that one coming back never waits for another to be handed off.
	runtime.GOMAXPROCS(8)
	a, b := openLink(names[0]), openLink(names[1])
	var ab, ba linkStats
	go forward(a, b, names[0]+"→"+names[1], *linkDelay, &ab)
	go forward(b, a, names[1]+"→"+names[0], *linkDelay, &ba)
	log.Printf("forwarding %s ⇄ %s, %v each way", names[0], names[1], *linkDelay)
	mark("delay-ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	log.Printf("%s→%s: %v; %s→%s: %v", names[0], names[1], &ab, names[1], names[0], &ba)
}

// fixChecksum recomputes the TCP or UDP checksum of an Ethernet frame
// carrying IPv4 or IPv6 (no extension headers). A sender on a veth leaves
// the checksum for "the hardware" (only the pseudo-header sum is in the
// field); the receiving stack would take it on trust from the veth, but a
// frame written to a packet socket is checked, so it must be complete.
func fixChecksum(f []byte) {
	if len(f) < 14 {
		return
	}
	var proto byte
	var pseudo uint32
	var l4 []byte
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		ip := f[14:]
		if len(ip) < 20 {
			return
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return // malformed or a fragment
		}
		proto, l4 = ip[9], ip[ihl:total]
		pseudo = sum(ip[12:20])
	case 0x86dd:
		ip := f[14:]
		if len(ip) < 40 {
			return
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return
		}
		proto, l4 = ip[6], ip[40:40+plen]
		pseudo = sum(ip[8:40])
	default:
		return
	}
	var at int
	switch proto {
	case syscall.IPPROTO_TCP:
		at = 16
	case syscall.IPPROTO_UDP:
		at = 6
	default:
		return
	}
	if len(l4) < at+2 {
		return
	}
	pseudo += uint32(proto) + uint32(len(l4))
	l4[at], l4[at+1] = 0, 0
	s := pseudo + sum(l4)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	c := ^uint16(s)
	if c == 0 && proto == syscall.IPPROTO_UDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[at:], c)
}

// sum is the 16-bit one's complement sum of b (not yet folded).
func sum(b []byte) uint32 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}
