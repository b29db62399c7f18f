//go:build !linux

package capture

import "errors"

// AF_PACKET rings exist on Linux only: elsewhere every live capture goes
// through libpcap.

func ringCandidate(string, LiveOptions) bool { return false }

func ringRefused(iface string, _ LiveOptions) error {
	return liveError(iface, errors.New("AF_PACKET rings and fanout exist on Linux only; this system captures through libpcap"))
}

func ringFinal(error) bool { return true }

func openRings(iface string, _ int, o LiveOptions) ([]*Reader, error) {
	return nil, ringRefused(iface, o)
}
