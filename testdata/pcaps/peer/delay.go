package main

// The delay role stands in for a path with a round-trip time: record.sh runs
// it in a third namespace between the client's and the server's veth, where
// it takes every frame off one link (an AF_PACKET socket) and puts it on the
// other a fixed time later. Each direction is one FIFO with one constant
// delay, so nothing is reordered, and nothing is dropped unless the log says
// so, or unless -loss or -reorder asks for it (a seeded share of the TCP
// data segments dropped, or held back so that later frames overtake them:
// record.sh's LINK options loss= and reorder=). (tc's netem does the same in the kernel; the kernels these recordings
// were made on do not have it.) A frame is due its delay after the kernel
// received it (SO_TIMESTAMPNS), so a late wake-up of this process does not
// add to the delay unless it lasts longer than the delay; how late frames
// went out is logged at the end (record.sh runs this under SCHED_FIFO).
//
//	peer -role delay -sync DIR -links m-c,m-s -delay 10ms
//	peer -role delay -sync DIR -links m-c,m-s -delay 5ms -loss 2.5 -seed 7

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
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
	lossPct   = flag.Float64("loss", 0, "delay role: percentage of TCP data segments dropped, each way")
	reordPct  = flag.Float64("reorder", 0, "delay role: percentage of TCP data segments held back by -reorder-by, each way")
	reordBy   = flag.Duration("reorder-by", time.Millisecond, "delay role: how much longer a reordered segment is held")
	pathSeed  = flag.Uint64("seed", 1, "delay role: seed of the loss and reordering draws")
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
	dropped, held  atomic.Int64 // by the loss and the reordering model
	late           atomic.Int64 // frames sent more than lateBy after they were due
	maxLate        atomic.Int64 // ns
	sumLate        atomic.Int64 // ns
}

const lateBy = time.Millisecond

func (st *linkStats) String() string {
	n := max(st.frames.Load(), 1)
	s := fmt.Sprintf("%d frames, %d lost, %d more than %v late (mean %v, at most %v)",
		st.frames.Load(), st.errors.Load(), st.late.Load(), lateBy,
		time.Duration(st.sumLate.Load()/n).Round(time.Microsecond), time.Duration(st.maxLate.Load()).Round(time.Microsecond))
	if *lossPct > 0 || *reordPct > 0 {
		s += fmt.Sprintf(", %d data segments dropped and %d held back on purpose", st.dropped.Load(), st.held.Load())
	}
	return s
}

// forward moves frames from in to out, each delay after it arrived. With
// -loss or -reorder, a TCP segment carrying data (and no SYN, FIN or RST) is
// dropped, or held back -reorder-by longer (so that later frames overtake
// it), with those probabilities, drawn from a generator seeded with -seed
// and the direction (seedOff).
func forward(in, out int, name string, delay time.Duration, st *linkStats, seedOff uint64) {
	q := make(chan frame, 1<<16)
	var qLate chan frame // the frames held back
	send := func(q chan frame) {
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
	}
	go send(q)
	if *reordPct > 0 {
		qLate = make(chan frame, 1<<16)
		go send(qLate)
	}
	rng := rand.New(rand.NewPCG(*pathSeed, seedOff))
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
		f, to := frame{arrival(oob[:oobn]).Add(delay), b}, q
		if (*lossPct > 0 || *reordPct > 0) && tcpData(b) {
			r := rng.Float64() * 100
			switch {
			case r < *lossPct:
				st.dropped.Add(1)
				continue
			case r < *lossPct+*reordPct:
				st.held.Add(1)
				f.due, to = f.due.Add(*reordBy), qLate
			}
		}
		select {
		case to <- f:
		default:
			st.errors.Add(1)
			log.Printf("%s: queue full, frame of %d bytes dropped", name, n)
		}
	}
}

// tcpData reports whether an Ethernet frame is an IPv4 or IPv6 TCP segment
// (no extension headers) with a payload and none of SYN, FIN and RST.
func tcpData(f []byte) bool {
	if len(f) < 14 {
		return false
	}
	var l4 []byte
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		ip := f[14:]
		if len(ip) < 20 || ip[9] != syscall.IPPROTO_TCP {
			return false
		}
		ihl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return false
		}
		l4 = ip[ihl:total]
	case 0x86dd:
		ip := f[14:]
		if len(ip) < 40 || ip[6] != syscall.IPPROTO_TCP {
			return false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return false
		}
		l4 = ip[40 : 40+plen]
	default:
		return false
	}
	if len(l4) < 20 {
		return false
	}
	off := int(l4[12]>>4) * 4
	const fin, syn, rst = 0x01, 0x02, 0x04
	return off >= 20 && len(l4) > off && l4[13]&(fin|syn|rst) == 0
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
	go forward(a, b, names[0]+"→"+names[1], *linkDelay, &ab, 1)
	go forward(b, a, names[1]+"→"+names[0], *linkDelay, &ba, 2)
	log.Printf("forwarding %s ⇄ %s, %v each way", names[0], names[1], *linkDelay)
	if *lossPct > 0 || *reordPct > 0 {
		log.Printf("of the TCP data segments each way, %v%% dropped, %v%% held back %v longer (seed %d)", *lossPct, *reordPct, *reordBy, *pathSeed)
	}
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
