//go:build cgo

package capture

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/tracker"
)

func TestLiveErrors(t *testing.T) {
	l := netlab.New(t)
	for _, tc := range []struct {
		name    string
		iface   string
		opts    LiveOptions
		prepare func(t *testing.T)
		is      error
		says    []string
	}{
		{
			name: "no such interface", iface: "twnosuch0", is: ErrNoInterface,
			says: []string{`open interface "twnosuch0": no such interface; available: `, l.Server.Link, "lo"},
		},
		{
			name: "bad filter", iface: l.Server.Link, opts: LiveOptions{Filter: "tcp port"}, is: ErrBadFilter,
			says: []string{`filter "tcp port": can't parse filter expression: syntax error`},
		},
		{
			name: "filter on an NFLOG interface", iface: "nflog", opts: LiveOptions{Filter: "port 80"}, is: ErrBadFilter,
			says: []string{`open interface "nflog": filter "port 80" for link type NFLOG (239): NFLOG link-layer type filtering not implemented`},
		},
		{
			name: "interface down", iface: l.Server.Link, is: ErrInterfaceDown,
			prepare: func(t *testing.T) {
				if _, err := l.Server.Run("ip", "link", "set", l.Server.Link, "down"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Server.Run("ip", "link", "set", l.Server.Link, "up") })
			},
			says: []string{`open interface "` + l.Server.Link + `": interface is down; bring it up first (ip link set ` + l.Server.Link + ` up)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prepare != nil {
				tc.prepare(t)
			}
			_, err := openIn(t, l.Server, tc.iface, tc.opts)
			t.Log(err)
			if !errors.Is(err, tc.is) {
				t.Fatalf("OpenLive(%q): %v, want %v", tc.iface, err, tc.is)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

// TestLivePermissionDenied opens a capture without CAP_NET_RAW: as root, on
// a thread that dropped its capabilities (capabilities are per thread on
// Linux, and netlab discards the thread afterwards).
func TestLivePermissionDenied(t *testing.T) {
	open := func() error { _, err := OpenLive("lo", LiveOptions{}); return err }
	var err error
	if os.Geteuid() != 0 {
		err = open() // an ordinary user has no CAP_NET_RAW anyway
	} else {
		l := netlab.New(t)
		err = l.Server.Do(func() error {
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if err := unix.Capget(&hdr, &data[0]); err != nil {
				return err
			}
			for i := range data {
				data[i].Effective &^= 1<<unix.CAP_NET_RAW | 1<<unix.CAP_NET_ADMIN
			}
			if err := unix.Capset(&hdr, &data[0]); err != nil {
				return err
			}
			return open()
		})
	}
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("OpenLive without CAP_NET_RAW: %v, want %v", err, ErrPermission)
	}
	want := `open interface "lo": permission denied; run as root or grant the capability: setcap cap_net_raw,cap_net_admin+eip $(which tcpwatch)`
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

// collect reads packets until quiet (ErrTimeout after at least one TCP
// segment) or the deadline, and returns the TCP segments.
func collect(t *testing.T, r *Reader, deadline time.Duration) []tracker.Segment {
	t.Helper()
	var segs []tracker.Segment
	var p Packet
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		err := r.Next(&p)
		if err == ErrTimeout {
			if len(segs) > 0 {
				break
			}
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if p.Kind == TCP {
			segs = append(segs, p.Seg)
		}
	}
	return segs
}

// TestLiveCapture captures a real exchange on the server's veth, IPv4 and
// IPv6, and on "any", with the filter in the kernel.
func TestLiveCapture(t *testing.T) {
	l := netlab.New(t)
	for _, tc := range []struct {
		name, iface, addr string
		lt                []layers.LinkType
	}{
		{"ipv4", l.Server.Link, "198.18.0.2:7001", []layers.LinkType{layers.LinkTypeEthernet}},
		{"ipv6", l.Server.Link, "[fd00::2]:7002", []layers.LinkType{layers.LinkTypeEthernet}},
		{"any", "any", "198.18.0.2:7003", []layers.LinkType{layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(tc.addr)
			r, err := openIn(t, l.Server, tc.iface, LiveOptions{Filter: "tcp port " + port, Timeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Live() {
				t.Error("Live() = false")
			}
			lt := r.live.lt
			if !contains(tc.lt, lt) {
				t.Errorf("link type %s, want one of %v", LinkTypeName(lt), tc.lt)
			}
			// Quiet: Next comes back with ErrTimeout, and not after long.
			var p Packet
			start := time.Now()
			if err := r.Next(&p); err != ErrTimeout {
				t.Fatalf("Next on a quiet interface: %v, want ErrTimeout", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Next took %v to time out (timeout 50ms)", d)
			}

			exchange(t, l, tc.addr)
			segs := collect(t, r, 5*time.Second)
			// SYN, SYN-ACK, ACK, 2 data, FINs and ACKs: at least 8 on
			// one interface; "any" sees the same ones (one veth end).
			if len(segs) < 8 {
				t.Fatalf("captured %d TCP segments, want at least 8", len(segs))
			}
			var syn, fin int
			for _, s := range segs {
				if s.Flags&tracker.SYN != 0 {
					syn++
				}
				if s.Flags&tracker.FIN != 0 {
					fin++
				}
				if s.Time < start.UnixNano() || s.Time > time.Now().UnixNano() {
					t.Errorf("segment time %v outside the test", time.Unix(0, s.Time))
				}
			}
			if syn != 2 || fin != 2 {
				t.Errorf("%d SYNs and %d FINs, want 2 and 2", syn, fin)
			}
			st := r.Stats()
			if st.Filtered != 0 || st.TCP != uint64(len(segs)) {
				t.Errorf("stats %+v: the kernel filter should pass only the %d TCP segments", st, len(segs))
			}
			ls, ok := r.LiveStats()
			if !ok || ls.Received < uint64(len(segs)) || ls.Dropped != 0 {
				t.Errorf("LiveStats %+v, %v: want ≥ %d received, 0 dropped", ls, ok, len(segs))
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := r.Next(&p); err != ErrClosed {
				t.Errorf("Next after Close: %v, want ErrClosed", err)
			}
			if ls2, _ := r.LiveStats(); ls2.Received < ls.Received {
				t.Errorf("LiveStats after Close %+v, before %+v", ls2, ls)
			}
		})
	}
}

func contains(lts []layers.LinkType, lt layers.LinkType) bool {
	for _, x := range lts {
		if x == lt {
			return true
		}
	}
	return false
}
