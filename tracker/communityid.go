package tracker

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
)

// protoTCP is TCP's IP protocol number, the only transport tcpwatch hashes.
const protoTCP = 6

// CommunityID returns the Community ID v1 flow hash of a TCP connection, the
// string Zeek (policy/protocols/conn/community-id-logging), Suricata and
// Wireshark print as community_id, so that one connection can be found across
// tools. tcpwatch reports it with seed 0, the spec's default.
//
// Version 1 of the Community ID spec (github.com/corelight/community-id-spec)
// hashes, with SHA-1, the seed as 2 bytes in network order, the two addresses,
// the protocol number, one zero byte of padding and the two ports in network
// order; the endpoints are ordered so that the smaller address comes first, or
// on equal addresses the smaller port, which makes the value the same for both
// directions. IPv4 addresses are hashed as their 4 bytes and IPv6 addresses as
// 16, so src and dst must be of the same family (an IPv4-mapped Addr counts as
// IPv4). The result is "1:" followed by the standard base64 of the digest.
//
// It allocates only the returned string.
func CommunityID(src, dst Addr, srcPort, dstPort, seed uint16) string {
	sb, db := src.As16(), dst.As16()
	a, b := sb[:], db[:]
	if src.Is4() && dst.Is4() {
		a, b = sb[12:], db[12:]
	}
	pa, pb := srcPort, dstPort
	if c := bytes.Compare(a, b); c > 0 || (c == 0 && pa > pb) {
		a, b = b, a
		pa, pb = pb, pa
	}

	// seed(2) + addresses(2×16 at most) + proto(1) + pad(1) + ports(2×2)
	var buf [2 + 16 + 16 + 1 + 1 + 2 + 2]byte
	n := 0
	buf[0], buf[1] = byte(seed>>8), byte(seed)
	n += 2
	n += copy(buf[n:], a)
	n += copy(buf[n:], b)
	buf[n], buf[n+1] = protoTCP, 0
	n += 2
	buf[n], buf[n+1], buf[n+2], buf[n+3] = byte(pa>>8), byte(pa), byte(pb>>8), byte(pb)
	n += 4
	sum := sha1.Sum(buf[:n])

	const prefix = "1:"
	var out [len(prefix) + 28]byte // base64 of 20 bytes is 28 characters
	copy(out[:], prefix)
	base64.StdEncoding.Encode(out[len(prefix):], sum[:])
	return string(out[:])
}
