//go:build linux

package capture

import (
	"io"
	"net"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
)

// openIn opens a live capture inside a namespace of the lab.
func openIn(t *testing.T, ns *netlab.NS, iface string, o LiveOptions) (*Reader, error) {
	t.Helper()
	var r *Reader
	err := ns.Do(func() (err error) {
		r, err = OpenLive(iface, o)
		return err
	})
	if r != nil {
		t.Cleanup(func() { r.Close() })
	}
	return r, err
}

// exchange connects from the client to the server at addr, sends a line,
// reads the reply, and closes both ends.
func exchange(t *testing.T, l *netlab.Lab, addr string) {
	t.Helper()
	var ln net.Listener
	if err := l.Server.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		b := make([]byte, 6)
		if _, err := io.ReadFull(c, b); err != nil {
			done <- err
			return
		}
		_, err = c.Write([]byte("world\n"))
		done <- err
	}()
	var c net.Conn
	if err := l.Client.Do(func() (err error) { c, err = net.Dial("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
