// Package netlab builds a two-host test network out of Linux network
// namespaces, for tests that need real kernel TCP connections and a real
// interface to capture on.
//
// # The lab
//
// [New] creates two namespaces, client and server, joined by a veth pair:
//
//	client  198.18.0.1/24 fd00::1/64  ──veth──  server  198.18.0.2/24 fd00::2/64
//
// with IPv6 duplicate address detection off (the addresses work at once),
// and loopback up in both. Everything is removed when the test ends.
// Namespaces and interfaces are named after the process ID and a counter
// ("twlive-<pid>-<n>-client"), so parallel tests and parallel test binaries
// never meet.
//
// # Running things inside
//
// [NS.Do] runs a Go function on an OS thread switched into the namespace:
// sockets (and capture handles) created there belong to the namespace for
// their whole life, whichever goroutine uses them later. [NS.Command]
// prepares a subprocess that runs inside the namespace (ip netns exec).
//
// # Requirements
//
// Root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip command (iproute2).
// [Skip] skips a test, saying why, when either is missing (in CI, with
// CI=true, it fails the test instead: see internal/testenv).
package netlab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tcpwatch/tcpwatch/internal/testenv"
)

// The lab's addresses.
var (
	ClientAddr4 = netip.MustParseAddr("198.18.0.1")
	ServerAddr4 = netip.MustParseAddr("198.18.0.2")
	ClientAddr6 = netip.MustParseAddr("fd00::1")
	ServerAddr6 = netip.MustParseAddr("fd00::2")
)

// NS is one network namespace of a lab.
type NS struct {
	Name  string     // the namespace's name (ip netns)
	Link  string     // its end of the veth pair
	Addr4 netip.Addr // the link's IPv4 address
	Addr6 netip.Addr // the link's IPv6 address
}

// Lab is two namespaces joined by a veth pair.
type Lab struct {
	Client, Server *NS
}

var (
	checkOnce sync.Once
	checkErr  error
	labs      atomic.Uint32
)

// Available reports why labs cannot be built here, or nil if they can.
func Available() error {
	checkOnce.Do(func() {
		if os.Geteuid() != 0 {
			checkErr = errors.New("needs root to create network namespaces (run the tests as root, as CI does)")
			return
		}
		if _, err := exec.LookPath("ip"); err != nil {
			checkErr = errors.New("needs the ip command (apt-get install iproute2)")
			return
		}
		if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
			checkErr = fmt.Errorf("ip netns is not usable here: %v: %s", err, strings.TrimSpace(string(out)))
		}
	})
	return checkErr
}

// Skip skips the test, with the reason, when labs cannot be built here;
// in CI (CI=true) it fails the test instead.
func Skip(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		testenv.SkipOrFail(t, "netlab: %v", err)
	}
}

// New builds a lab and removes it when the test ends. It skips the test
// when labs cannot be built here (see [Skip]) and fails it when building
// goes wrong.
func New(t testing.TB) *Lab {
	t.Helper()
	Skip(t)
	l, err := Create(fmt.Sprintf("twlive-%d-%d", os.Getpid(), labs.Add(1)))
	if err != nil {
		t.Fatalf("netlab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("netlab: %v", err)
		}
	})
	return l
}

// Create builds a lab whose namespaces are named prefix-client and
// prefix-server. The caller must Close it. Most tests call [New] instead.
func Create(prefix string) (*Lab, error) {
	id := strings.NewReplacer("twlive-", "", "-", "").Replace(prefix)
	if len(id) > 9 {
		id = id[len(id)-9:]
	}
	l := &Lab{
		Client: &NS{Name: prefix + "-client", Link: "twc" + id, Addr4: ClientAddr4, Addr6: ClientAddr6},
		Server: &NS{Name: prefix + "-server", Link: "tws" + id, Addr4: ServerAddr4, Addr6: ServerAddr6},
	}
	steps := [][]string{
		{"netns", "add", l.Client.Name},
		{"netns", "add", l.Server.Name},
		{"link", "add", l.Client.Link, "netns", l.Client.Name, "type", "veth", "peer", "name", l.Server.Link, "netns", l.Server.Name},
	}
	for _, n := range []*NS{l.Client, l.Server} {
		steps = append(steps,
			[]string{"-n", n.Name, "link", "set", "lo", "up"},
			[]string{"netns", "exec", n.Name, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf." + n.Link + ".accept_dad=0"},
			[]string{"-n", n.Name, "addr", "add", n.Addr4.String() + "/24", "dev", n.Link},
			[]string{"-n", n.Name, "addr", "add", n.Addr6.String() + "/64", "dev", n.Link, "nodad"},
			[]string{"-n", n.Name, "link", "set", n.Link, "up"},
		)
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// Close deletes the namespaces (and with them the veth pair and every
// socket still open inside).
func (l *Lab) Close() error {
	var errs []error
	for _, n := range []*NS{l.Client, l.Server} {
		if _, err := os.Stat("/run/netns/" + n.Name); err != nil {
			continue
		}
		errs = append(errs, ip("netns", "del", n.Name))
	}
	return errors.Join(errs...)
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Run runs a command inside the namespace and returns its combined output.
func (n *NS) Run(name string, args ...string) (string, error) {
	out, err := n.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %v: %s", name, strings.Join(args, " "), n.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Command returns a command that runs name inside the namespace.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs f on an OS thread switched into the namespace and returns its
// error. Sockets and capture handles that f opens stay in the namespace
// after f returns, whichever goroutine then uses them; goroutines f starts
// do not run in the namespace. The thread is discarded afterwards.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, whose namespace changed, ends with
		// the goroutine instead of going back to the scheduler.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", n.Name, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
