package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tcpwatch/tcpwatch/capture"
)

// listInterfaces is -D: the interfaces libpcap can capture on, numbered,
// one a line, as tcpdump -D prints them.
func listInterfaces(w io.Writer) error {
	ifs, err := capture.Interfaces()
	if err != nil {
		return err
	}
	var b strings.Builder
	for i, ifc := range ifs {
		fmt.Fprintf(&b, "%d.%s", i+1, ifc.Name)
		if ifc.Description != "" {
			fmt.Fprintf(&b, " (%s)", ifc.Description)
		}
		if ifc.Flags != 0 {
			fmt.Fprintf(&b, " [%s]", interfaceFlags(ifc.Flags))
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return writeError(err)
	}
	return errDone
}

// interfaceFlags names libpcap's interface flags in tcpdump's words:
// "Up, Running, Loopback", then the connection status.
func interfaceFlags(f uint32) string {
	var words []string
	for _, fl := range []struct {
		bit  uint32
		name string
	}{{capture.IfUp, "Up"}, {capture.IfRunning, "Running"}, {capture.IfLoopback, "Loopback"}, {capture.IfWireless, "Wireless"}} {
		if f&fl.bit != 0 {
			words = append(words, fl.name)
		}
	}
	s := strings.Join(words, ", ")
	if s == "" {
		s = "none"
	}
	wireless := 0
	if f&capture.IfWireless != 0 {
		wireless = 1
	}
	return s + connectionStatus[wireless][f&capture.IfConnectionStatus>>4]
}

// connectionStatus is what tcpdump adds for each connection status, wired
// [0] or wireless [1]: unknown, connected, disconnected, not applicable.
var connectionStatus = [2][4]string{
	{", Connection status unknown", ", Connected", ", Disconnected", ""},
	{", Association status unknown", ", Associated", ", Not associated", ""},
}
