// Command netload is a bounded TCP load for measuring live capture
// (docs/capacity.md): run a server in one namespace and a client in the
// other; the client paces its load at a target rate for a fixed time and
// prints what it achieved.
//
//	netload -server -addr 198.18.0.2:9000
//	netload -mode conns -rate 2000 -duration 15s -addr 198.18.0.2:9000
//	netload -mode segments -rate 50000 -duration 15s -addr 198.18.0.2:9000
//
//	netload -mode raw -iface twcc1 -rate 500000 -duration 10s
//
// conns: rate short connections per second, each a request line, a reply
// and a close (about ten packets). segments: one connection with
// TCP_NODELAY sending rate 64-byte writes per second (one segment each
// when autocorking is off; the receiver's ACKs come on top). raw: rate
// packets per second of made-up ten-packet connections written as frames
// onto -iface (raw_linux.go): no TCP stack in the way, so it goes much
// faster; the server's kernel drops them after the capture taps.
//
// Every load is bounded: -duration at most a minute, and raw sends at most
// -count packets (0: rate × duration).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		srv      = flag.Bool("server", false, "serve (until killed)")
		addr     = flag.String("addr", "198.18.0.2:9000", "server address")
		mode     = flag.String("mode", "conns", "client load: conns or segments")
		rate     = flag.Int("rate", 1000, "connections (conns) or writes (segments) per second")
		duration = flag.Duration("duration", 10*time.Second, "how long the client loads")
		workers  = flag.Int("workers", 64, "conns: connections in flight at most")
		iface    = flag.String("iface", "", "raw: the interface to write frames onto")
		count    = flag.Uint64("count", 0, "raw: packets to send at most (0: rate × duration)")
	)
	flag.Parse()
	if *srv {
		serve(*addr)
		return
	}
	if *duration <= 0 || *duration > time.Minute || *rate <= 0 {
		log.Fatal("netload: -duration must be in (0, 1m] and -rate positive")
	}
	var n uint64
	start := time.Now()
	switch *mode {
	case "conns":
		n = conns(*addr, *rate, *duration, *workers)
	case "segments":
		n = segments(*addr, *rate, *duration)
	case "raw":
		var err error
		if n, err = rawConns(*iface, *rate, *duration, *count); err != nil {
			log.Fatalf("netload: raw: %v", err)
		}
	default:
		log.Fatalf("netload: unknown mode %q", *mode)
	}
	el := time.Since(start).Seconds()
	fmt.Printf("%s %d in %.2f s: %.0f/s (target %d/s)\n", *mode, n, el, float64(n)/el, *rate)
}

func serve(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				b, err := r.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					continue // segments mode: a stream with no lines worth answering
				}
				if err != nil {
					io.Copy(io.Discard, r)
					return
				}
				if len(b) < 64 { // conns mode: answer the request line
					c.Write([]byte("pong\n"))
				}
			}
		}()
	}
}

// pace calls f rate times per second, spread over 1 ms ticks, for d; it
// returns when the time is up.
func pace(rate int, d time.Duration, f func()) {
	start := time.Now()
	done := 0
	for {
		el := time.Since(start)
		if el >= d {
			return
		}
		due := int(float64(rate) * el.Seconds())
		for ; done < due; done++ {
			f()
		}
		time.Sleep(time.Millisecond)
	}
}

func conns(addr string, rate int, d time.Duration, workers int) uint64 {
	jobs := make(chan struct{}, workers)
	var ok, failed atomic.Uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16)
			for range jobs {
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write([]byte("ping\n")); err == nil {
					if _, err := io.ReadAtLeast(c, buf, 5); err == nil {
						ok.Add(1)
					} else {
						failed.Add(1)
					}
				}
				c.Close()
			}
		}()
	}
	skipped := 0
	pace(rate, d, func() {
		select {
		case jobs <- struct{}{}:
		default:
			skipped++ // every worker busy: the target is beyond reach
		}
	})
	close(jobs)
	wg.Wait()
	if f := failed.Load(); f > 0 || skipped > 0 {
		fmt.Fprintf(os.Stderr, "netload: %d connections failed, %d not started (workers busy)\n", f, skipped)
	}
	return ok.Load()
}

func segments(addr string, rate int, d time.Duration) uint64 {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetNoDelay(true)
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = 'x'
	}
	var n uint64
	pace(rate, d, func() {
		if _, err := c.Write(msg); err != nil {
			log.Fatal(err)
		}
		n++
	})
	return n
}
