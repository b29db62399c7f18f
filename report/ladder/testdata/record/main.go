// Command record records simultaneous-open.pcap beside it in
// report/ladder/testdata: two endpoints in network namespaces connect to
// each other at the same moment, each from the port the other connects to.
// Each namespace drops incoming SYNs (nftables, after the capture point)
// until both sides are in SYN_SENT, so that the first SYNs cross on the
// wire and the retransmitted ones open the connection from SYN_SENT on both
// sides (a simultaneous open, RFC 793 §3.4 figure 8). Then each sends a
// line and both close at once. It writes the kernel's states (ss -tan in
// both namespaces, read when the capture stopped) to simultaneous-open.ss.txt
// and .states. Root only:
//
//	sudo go run ./report/ladder/testdata/record
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/tracker"
)

const (
	name = "simultaneous-open"
	port = 7000 // both ends bind it
)

func main() {
	if err := record(); err != nil {
		fmt.Fprintln(os.Stderr, "record:", err)
		os.Exit(1)
	}
}

func record() error {
	dir := filepath.Join("report", "ladder", "testdata")
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("run from the repository's root: %w", err)
	}
	lab, err := netlab.Create(fmt.Sprintf("twsim-%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer lab.Close()
	for _, n := range []*netlab.NS{lab.Client, lab.Server} {
		for _, cmd := range [][]string{
			{"add", "table", "inet", "twsim"},
			{"add", "chain", "inet", "twsim", "in", "{ type filter hook input priority 0; }"},
			{"add", "rule", "inet", "twsim", "in", "tcp", "flags", "&", "(syn|ack)", "==", "syn", "drop"},
		} {
			if _, err := n.Run("nft", cmd...); err != nil {
				return err
			}
		}
	}
	pcap := filepath.Join(dir, name+".pcap")
	dump := lab.Server.Command(context.Background(), "tcpdump", "-i", lab.Server.Link, "-s", "256", "-U", "-w", pcap, "tcp")
	stderr, _ := dump.StderrPipe()
	if err := dump.Start(); err != nil {
		return err
	}
	if line, _ := bufio.NewReader(stderr).ReadString('\n'); !strings.Contains(line, "listening") {
		return fmt.Errorf("tcpdump: %s", line)
	}
	go io.Copy(io.Discard, stderr)
	time.Sleep(500 * time.Millisecond)

	if err := exchange(lab); err != nil {
		return err
	}
	time.Sleep(time.Second) // the FINs and their ACKs are through
	ss := ""
	for _, n := range []*netlab.NS{lab.Client, lab.Server} {
		out, err := n.Run("ss", "-tanH")
		if err != nil {
			return err
		}
		ss += fmt.Sprintf("# ss -tanH, namespace of %s (%s), read right after the exchange\n%s", n.Addr4, n.Link, out)
	}
	dump.Process.Signal(syscall.SIGINT)
	dump.Wait()
	if err := os.WriteFile(filepath.Join(dir, name+".ss.txt"), []byte(ss), 0o644); err != nil {
		return err
	}
	return writeStates(filepath.Join(dir, name+".states"), pcap, ss)
}

// exchange connects both ends to each other at once, sends a line each way
// and closes both at once.
func exchange(lab *netlab.Lab) error {
	var start, closeNow sync.WaitGroup
	start.Add(1)
	closeNow.Add(2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, ns := range []*netlab.NS{lab.Client, lab.Server} {
		peer := lab.Server.Addr4
		if ns == lab.Server {
			peer = lab.Client.Addr4
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			errs[i] = ns.Do(func() (err error) {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ns.Addr4.AsSlice(), Port: port}, Timeout: 5 * time.Second,
					Control: func(_, _ string, rc syscall.RawConn) error {
						return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
					}}
				start.Wait()
				c, err = d.Dial("tcp", netip.AddrPortFrom(peer, port).String())
				return err
			})
			if errs[i] != nil {
				closeNow.Done()
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "hello from %s\n", ns.Addr4)
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				errs[i] = err
			}
			closeNow.Done()
			closeNow.Wait()
		}()
	}
	start.Done()
	time.Sleep(300 * time.Millisecond) // both SYNs sent and dropped: both in SYN_SENT
	for _, n := range []*netlab.NS{lab.Client, lab.Server} {
		if _, err := n.Run("nft", "delete", "table", "inet", "twsim"); err != nil {
			return err
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeStates writes the .states file: the client is the end whose SYN the
// capture saw first, as tcpwatch names it.
func writeStates(path, pcap, ss string) error {
	rd, err := capture.OpenFiles([]string{pcap}, "")
	if err != nil {
		return err
	}
	defer rd.Close()
	var p capture.Packet
	for {
		if err := rd.Next(&p); err != nil {
			return fmt.Errorf("no SYN in %s: %v", pcap, err)
		}
		if p.Kind == capture.TCP && p.Seg.Flags&tracker.SYN != 0 {
			break
		}
	}
	client, server := p.Seg.SrcAddrPort(), p.Seg.DstAddrPort()
	state := func(local, remote string) (string, error) {
		for _, line := range strings.Split(ss, "\n") {
			f := strings.Fields(line)
			if len(f) >= 5 && f[3] == local && f[4] == remote {
				st, ok := tracker.ParseState(f[0])
				if !ok {
					return "", fmt.Errorf("ss state %q", f[0])
				}
				return st.String(), nil
			}
		}
		return tracker.Closed.String(), nil // gone: no socket holds it
	}
	cs, err := state(client.String(), server.String())
	if err != nil {
		return err
	}
	sv, err := state(server.String(), client.String())
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(fmt.Sprintf("client\tserver\tclient_state\tserver_state\n%s\t%s\t%s\t%s\n", client, server, cs, sv)), 0o644)
}
