package capture

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// openRingsIn opens n fanout rings inside a namespace of the lab.
func openRingsIn(t *testing.T, ns *netlab.NS, iface string, n int, o LiveOptions) []*Reader {
	t.Helper()
	var rs []*Reader
	err := ns.Do(func() (err error) {
		rs, err = OpenFanout(iface, n, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		t.Cleanup(func() { r.Close() })
	}
	return rs
}

// TestRingIsTheDefault: an Ethernet interface is read through a ring, the
// snapshot length applied in the kernel, its counters read.
func TestRingIsTheDefault(t *testing.T) {
	l := netlab.New(t)
	r, err := openIn(t, l.Server, l.Server.Link, LiveOptions{Snaplen: 96, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Engine() != EngineRing {
		t.Fatalf("engine %v, want %v", r.Engine(), EngineRing)
	}
	exchange(t, l, "198.18.0.2:7101")
	var p Packet
	var tcp int
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		err := r.Next(&p)
		if err == ErrTimeout && tcp > 0 {
			break
		} else if err == ErrTimeout {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if data, ci, _ := r.Raw(); len(data) > 96 || ci.Length < len(data) {
			t.Errorf("packet %d: %d bytes kept of %d, snapshot length 96", p.Num, len(data), ci.Length)
		}
		if p.Kind == TCP {
			tcp++
		}
	}
	if tcp < 8 {
		t.Fatalf("%d TCP segments, want at least 8", tcp)
	}
	if ls, ok := r.LiveStats(); !ok || ls.Received < uint64(tcp) || ls.Dropped != 0 {
		t.Errorf("LiveStats %+v, %v: want ≥ %d received, 0 dropped", ls, ok, tcp)
	}
}

// TestRingCountsDrops: a small ring that is not read overflows, and the
// kernel's drops are reported.
func TestRingCountsDrops(t *testing.T) {
	l := netlab.New(t)
	rs := openRingsIn(t, l.Server, l.Server.Link, 1, LiveOptions{BufferSize: 128 << 10})
	var c net.Conn
	if err := l.Client.Do(func() (err error) { c, err = net.Dial("udp", "198.18.0.2:7102"); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 1000)
	for range 2000 { // 2 MB into a 128 KiB ring
		c.Write(msg)
	}
	time.Sleep(50 * time.Millisecond) // the last block retires
	ls, ok := rs[0].LiveStats()
	if !ok || ls.Dropped == 0 || ls.Received < 2000 {
		t.Errorf("LiveStats %+v, %v: want 2000 received, some dropped", ls, ok)
	}
}

// TestFanoutKeepsFlowsWhole: with two sockets in a PACKET_FANOUT_HASH
// group, every packet is seen once, and both directions of a connection
// reach the same socket.
func TestFanoutKeepsFlowsWhole(t *testing.T) {
	l := netlab.New(t)
	rs := openRingsIn(t, l.Server, l.Server.Link, 2, LiveOptions{Timeout: 50 * time.Millisecond})
	const conns = 16
	for i := range conns {
		exchange(t, l, fmt.Sprintf("198.18.0.2:%d", 7200+i))
	}
	type flow [2]uint16 // the client's port, the server's
	seen := make([]map[flow]int, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		seen[i] = map[flow]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p Packet
			for quiet := 0; quiet < 3; {
				if err := r.Next(&p); err == ErrTimeout {
					quiet++
					continue
				} else if err != nil {
					t.Error(err)
					return
				}
				quiet = 0
				if p.Kind == TCP {
					seen[i][flowOf(&p.Seg)]++
				}
			}
		}()
	}
	wg.Wait()
	total := map[flow]int{}
	for i := range rs {
		if len(seen[i]) == 0 {
			t.Errorf("socket %d saw no connection of %d", i, conns)
		}
		for f, n := range seen[i] {
			if _, twice := total[f]; twice {
				t.Errorf("connection %v reached both sockets", f)
			}
			total[f] += n
		}
	}
	if len(total) != conns {
		t.Errorf("%d connections seen, want %d", len(total), conns)
	}
	for f, n := range total {
		if n < 8 {
			t.Errorf("connection %v: %d segments, want at least 8", f, n)
		}
	}
}

// flowOf is a segment's ports, the client's first (the server's are 72xx).
func flowOf(s *tracker.Segment) [2]uint16 {
	if s.SrcPort >= 7200 && s.SrcPort < 7300 {
		return [2]uint16{s.DstPort, s.SrcPort}
	}
	return [2]uint16{s.SrcPort, s.DstPort}
}

func TestFanoutRefused(t *testing.T) {
	for _, tc := range []struct {
		iface string
		n     int
		o     LiveOptions
		want  string
	}{
		{"any", 2, LiveOptions{}, `open interface "any": an AF_PACKET ring captures one interface: -i any needs libpcap`},
		{"lo", 2, LiveOptions{Engine: EngineLibpcap}, `open interface "lo": several fanout sockets need an AF_PACKET ring, not libpcap`},
		{"lo", 0, LiveOptions{}, `open interface "lo": fanout of 0 sockets: want 1 or more`},
	} {
		_, err := OpenFanout(tc.iface, tc.n, tc.o)
		if err == nil || err.Error() != tc.want || strings.Contains(err.Error(), "\n") {
			t.Errorf("OpenFanout(%q, %d): %v, want %s", tc.iface, tc.n, err, tc.want)
		}
	}
	if _, err := OpenLive("any", LiveOptions{Engine: EngineRing}); err == nil || !strings.Contains(err.Error(), "-i any needs libpcap") {
		t.Errorf("OpenLive(any) with a ring forced: %v", err)
	}
}

// TestRingReadsWithoutAllocating: reading packets off the ring allocates
// nothing per packet.
func TestRingReadsWithoutAllocating(t *testing.T) {
	l := netlab.New(t)
	rs := openRingsIn(t, l.Server, l.Server.Link, 1, LiveOptions{Timeout: 50 * time.Millisecond})
	var c net.Conn
	if err := l.Client.Do(func() (err error) { c, err = net.Dial("udp", "198.18.0.2:7103"); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 100)
	for range 3000 {
		c.Write(msg)
	}
	time.Sleep(50 * time.Millisecond) // the last block retires
	var p Packet
	var errs int
	allocs := testing.AllocsPerRun(2000, func() {
		if err := rs[0].Next(&p); err != nil {
			errs++
		}
	})
	if errs > 0 || allocs != 0 {
		t.Errorf("%v allocations per packet (%d reads without a packet)", allocs, errs)
	}
}

// TestLoopbackPacketsSeenOnce: on a loopback interface, where the kernel
// hands a packet socket each packet twice (as it leaves and as it
// arrives), every engine sees each segment of a connection once, as
// libpcap and tcpdump do.
func TestLoopbackPacketsSeenOnce(t *testing.T) {
	l := netlab.New(t)
	for _, tc := range []struct {
		name, addr string
		o          LiveOptions
		libpcap    bool
	}{
		{"ring", "127.0.0.1:7111", LiveOptions{}, false},
		{"ring with a filter", "127.0.0.1:7112", LiveOptions{Filter: "tcp port 7112"}, true},
		{"ring over IPv6", "[::1]:7113", LiveOptions{}, false},
		{"libpcap", "127.0.0.1:7114", LiveOptions{Engine: EngineLibpcap}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.libpcap && !haveLibpcap {
				t.Skip("needs libpcap")
			}
			tc.o.Timeout = 50 * time.Millisecond
			r, err := openIn(t, l.Server, "lo", tc.o)
			if err != nil {
				t.Fatal(err)
			}
			var ln net.Listener
			if err := l.Server.Do(func() (err error) { ln, err = net.Listen("tcp", tc.addr); return err }); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				if c, err := ln.Accept(); err == nil {
					io.ReadFull(c, make([]byte, 6))
					c.Write([]byte("world\n"))
					c.Close()
				}
			}()
			var c net.Conn
			if err := l.Server.Do(func() (err error) { c, err = net.Dial("tcp", tc.addr); return err }); err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("hello\n"))
			b := make([]byte, 64)
			for {
				if _, err := c.Read(b); err != nil {
					break
				}
			}
			c.Close()
			_, port, _ := net.SplitHostPort(tc.addr)
			seen := map[string]int{}
			var syn, fin int
			var segs []tracker.Segment
			var p Packet
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
				err := r.Next(&p)
				if err == ErrTimeout && len(segs) > 0 {
					break
				} else if err == ErrTimeout {
					continue
				} else if err != nil {
					t.Fatal(err)
				}
				if p.Kind == TCP {
					segs = append(segs, p.Seg)
				}
			}
			for _, s := range segs {
				if fmt.Sprint(s.SrcPort) != port && fmt.Sprint(s.DstPort) != port {
					continue
				}
				seen[fmt.Sprintf("%d>%d seq %d ack %d flags %v len %d", s.SrcPort, s.DstPort, s.Seq, s.Ack, s.Flags, s.Payload)]++
				if s.Flags&tracker.SYN != 0 {
					syn++
				}
				if s.Flags&tracker.FIN != 0 {
					fin++
				}
			}
			if syn != 2 || fin != 2 {
				t.Errorf("%d SYNs and %d FINs, want 2 and 2", syn, fin)
			}
			for k, n := range seen {
				if n > 1 {
					t.Errorf("segment %s seen %d times", k, n)
				}
			}
		})
	}
}
