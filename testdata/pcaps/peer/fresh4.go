package main

// The fourth fresh set (record.sh --fresh4): keepalive giving up on a peer
// that went silent both ways, an orphaned FIN retransmitted until
// tcp_orphan_retries ends it, a listener's request that runs out of SYN-ACK
// retransmissions, a connect that runs out of SYN retransmissions, a client
// reset with the server's data still in flight, and an IPv6 zero window.

import (
	"errors"
	"log"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"keepalive-timeout-silent":       {clientKeepaliveDead, serverHoldAfterReply},
		"orphan-fin-retries":             {clientCloseOnSignal, serverHoldAfterReply},
		"synack-retries-exhausted":       {clientCloseInSynSent, serverListenOnly},
		"syn-retries-exhausted":          {clientSynRetriesExhausted, serverListenOnly},
		"client-rst-with-data-in-flight": {clientResetWhileReceiving, serverStreamUntilError},
		"ipv6-zero-window":               {clientFlood, serverNeverRead},
	} {
		scenarios[name] = p
	}
}

// clientSynRetriesExhausted connects (a timeout far longer than the
// kernel's) to a server whose SYNs never arrive, until the kernel gives up
// (tcp_syn_retries in the client's namespace): ETIMEDOUT.
func clientSynRetriesExhausted() {
	d := newDialer()
	d.Timeout = time.Minute
	start := time.Now()
	_, err := d.Dial("tcp", *addr)
	log.Printf("connect failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, syscall.ETIMEDOUT) {
		log.Fatal("expected ETIMEDOUT")
	}
}

// clientResetWhileReceiving reads 32 KiB of the server's stream, then
// closes with SO_LINGER 0 (RST) while more is on its way.
func clientResetWhileReceiving() {
	c := dial()
	buf := make([]byte, 32<<10)
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		check(err)
		n += m
	}
	check(c.SetLinger(0))
	check(c.Close())
	log.Printf("read %d bytes, closed with SO_LINGER 0", n)
}

// serverStreamUntilError streams to the client until a write fails.
func serverStreamUntilError() { streamUntilError(accept(listen())) }
