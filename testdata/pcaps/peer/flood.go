package main

// The SYN-flood and TIME_WAIT build-up scenarios of testdata/pcaps/anomalies:
// a listener with a small accept backlog, legitimate clients that connect
// while raw floods it, and one client opening many short connections.

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"syn-flood-cookies":    {clientsDuringFlood, serverSmallBacklog},
		"syn-flood-no-cookies": {clientsDuringFlood, serverSmallBacklog},
		"time-wait-buildup":    {clientManyShortBurst(2000), serverManyShortQuiet},
	} {
		scenarios[name] = p
	}
}

// floodBacklog is the listener's backlog (listen(2)): Linux holds at most
// about that many requests in SYN_RCVD, then answers with SYN cookies
// (tcp_syncookies=1) or drops the SYN (tcp_syncookies=0).
const floodBacklog = 16

// serverSmallBacklog listens with backlog floodBacklog and answers every
// connection it accepts: one line back, then close on EOF. Accepting at once
// keeps the accept queue empty, so that only the SYN queue fills.
func serverSmallBacklog() {
	ln := listen()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	check(err)
	var lerr error
	// listen(2) again on a listening socket changes its backlog.
	check(rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), floodBacklog) }))
	check(lerr)
	log.Printf("backlog %d", floodBacklog)
	servePongs(ln)
}

// clientsDuringFlood: after record.sh's "go", four legitimate clients
// connect, 0.6 s apart (the flood starts 0.3 s after "go"), each with a
// 1.5 s connect timeout: one exchange, then close. Without SYN cookies the
// ones during the flood find the SYN queue full and give up.
func clientsDuringFlood() {
	await("go")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 600 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			d := newDialer()
			nc, err := d.DialContext(ctx, "tcp", *addr)
			if err != nil {
				log.Printf("client %d: %v", i, err)
				return
			}
			c := wrap(nc.(*net.TCPConn))
			holdLocked(c)
			log.Printf("client %d: connected %s", i, c.LocalAddr())
			c.send(fmt.Sprintf("ping %d", i))
			log.Printf("client %d: %q", i, c.recv())
			c.close()
		}()
	}
	wg.Wait()
}

// serverManyShortQuiet is serverManyShort without a log line per connection.
func serverManyShortQuiet() {
	ln := listen()
	go func() {
		for {
			nc, err := ln.Accept()
			check(err)
			c := wrap(nc.(*net.TCPConn))
			go func() {
				c.send("pong " + strings.TrimPrefix(c.recv(), "ping "))
				c.drain()
				check(c.Close())
			}()
		}
	}()
	await("client-done")
}

// clientManyShortBurst opens n short connections one after the other, as
// 2 ms apart: one exchange each, the client closing first, so
// that every one leaves a TIME_WAIT socket on the client.
func clientManyShortBurst(n int) func() {
	return func() {
		for i := 1; i <= n; i++ {
			nc, err := newDialer().Dial("tcp", *addr)
			check(err)
			c := wrap(nc.(*net.TCPConn))
			c.send(fmt.Sprintf("ping %d", i))
			if r := c.recv(); r != fmt.Sprintf("pong %d", i) {
				log.Fatalf("bad reply %q", r)
			}
			check(c.Close())
			time.Sleep(2 * time.Millisecond) // paced, so that tcpdump keeps up
		}
		log.Printf("%d connections", n)
	}
}
