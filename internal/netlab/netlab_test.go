package netlab

import (
	"io"
	"net"
	"strings"
	"testing"
)

// TestLab builds a lab and talks across it over IPv4 and IPv6.
func TestLab(t *testing.T) {
	l := New(t)
	for _, addr := range []string{"198.18.0.2:7000", "[fd00::2]:7001"} {
		var ln net.Listener
		if err := l.Server.Do(func() (err error) {
			ln, err = net.Listen("tcp", addr)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Write([]byte("hello"))
				c.Close()
			}
		}()
		var c net.Conn
		if err := l.Client.Do(func() (err error) {
			c, err = net.Dial("tcp", addr)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(c)
		c.Close()
		ln.Close()
		if err != nil || string(b) != "hello" {
			t.Fatalf("%s: read %q, %v", addr, b, err)
		}
	}
	out, err := l.Server.Run("ip", "-br", "addr", "show", "dev", l.Server.Link)
	if err != nil || !strings.Contains(out, "198.18.0.2/24") {
		t.Errorf("server link: %q %v", out, err)
	}
}
