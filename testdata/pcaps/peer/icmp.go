package main

// The ICMP set (record.sh --icmp): connections that an ICMP error, not an
// RST, ends or touches. record.sh's nftables rules in the server's input
// hook answer the client's segments with ICMP destination unreachable
// (port unreachable over IPv4 and IPv6, administratively prohibited, host
// unreachable for an established connection's data), and the client checks
// that its kernel took them as it should.

import (
	"errors"
	"log"
	"net"
	"strings"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"icmp-port-unreachable":       {clientDialFails(syscall.ECONNREFUSED), serverListenOnly},
		"icmpv6-port-unreachable":     {clientDialFails(syscall.ECONNREFUSED), serverListenOnly},
		"icmp-admin-prohibited":       {clientDialFails(syscall.EHOSTUNREACH), serverListenOnly},
		"icmp-to-established":         {clientSendIntoReject, serverHoldAfterReply},
		"icmp-port-unreachable-retry": {clientRetryAfterRefused, serverReplyThenClose(400 * time.Millisecond)},
	} {
		scenarios[name] = p
	}
}

// dialErr connects (from the given port, or an ephemeral one if 0) and
// returns the error; a connection made is held.
func dialErr(port int) error {
	d := newDialer()
	if port != 0 {
		d = newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
		host, _, err := net.SplitHostPort(*addr)
		check(err)
		la := &net.TCPAddr{IP: net.ParseIP("198.18.0.1"), Port: port}
		if strings.Contains(host, ":") {
			la.IP = net.ParseIP("fd00::1")
		}
		d.LocalAddr = la
	}
	start := time.Now()
	c, err := d.Dial("tcp", *addr)
	if err == nil {
		hold(c)
		log.Printf("connected %s -> %s", c.LocalAddr(), c.RemoteAddr())
		return nil
	}
	log.Printf("dial %s: %v after %v", *addr, err, time.Since(start).Round(time.Millisecond))
	return err
}

// clientDialFails connects once; the SYN is answered by an ICMP error, and
// connect must fail with want (an RST would give ECONNREFUSED too, but
// record.sh lets none through; a lost ICMP would end in a timeout). An ICMP
// error that reaches the socket while connect() still holds it is only a
// soft error, and the SYN is retransmitted 1 s later.
func clientDialFails(want syscall.Errno) func() {
	return func() {
		if err := dialErr(0); !errors.Is(err, want) {
			log.Fatalf("expected %v", want)
		}
	}
}

// clientSendIntoReject exchanges one message, then, when told (record.sh
// has put in a rule that answers the client's data with ICMP host
// unreachable), sends a second request, which never reaches the server:
// its kernel retransmits it, a soft error on an established socket.
func clientSendIntoReject() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	c.send("hello again, into the reject")
	log.Printf("second request written")
}

// clientRetryAfterRefused connects from 50801, refused by ICMP port
// unreachable; when told (record.sh has taken the rule away), it connects
// again from 50802, exchanges one message and closes first.
func clientRetryAfterRefused() {
	err := dialErr(50801)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		log.Fatal("expected connection refused")
	}
	mark("client-refused")
	await("retry")
	c := wrap(dialFrom(50802))
	c.send("hello")
	log.Printf("reply %q", c.recv())
	c.close()
}
