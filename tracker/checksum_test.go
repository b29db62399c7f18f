package tracker

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// sumStep is one segment with its checksum verdict and the states expected
// after it ("" : not checked).
type sumStep struct {
	from           Side
	flags          Flags
	seq, ack, n    uint32
	sum            Checksum
	client, server string
}

func playSums(t *testing.T, steps []sumStep) *Tracker {
	t.Helper()
	tr := New(Config{})
	isn := [2]seqnum.Value{1000, 5000}
	for i, st := range steps {
		seg := testSeg(isn, st.from, st.flags, st.seq, st.ack, st.n)
		seg.Time, seg.Packet, seg.Checksum = int64(i+1)*1e6, uint64(i+1), st.sum
		tr.Observe(&seg)
		if cs := tr.Conns(); len(cs) > 0 && st.client != "" {
			c := cs[0]
			if got := c.State(Client).String() + "/" + c.State(Server).String(); got != st.client+"/"+st.server {
				t.Fatalf("step %d: %s, want %s/%s", i+1, got, st.client, st.server)
			}
		}
	}
	return tr
}

func TestBadChecksumDoesNotMoveTheReceiver(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumGood, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumGood, "ESTABLISHED", "SYN_RCVD"},
		{Client, A, 1, 1, 0, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		// A corrupted FIN: the server's kernel drops it.
		{Client, FA, 1, 1, 0, ChecksumBad, "ESTABLISHED", "ESTABLISHED"},
		// Sent again, intact.
		{Client, FA, 1, 1, 0, ChecksumGood, "FIN_WAIT_1", "CLOSE_WAIT"},
	})
	c := tr.Conns()[0]
	if c.BadChecksums != 1 || !strings.Contains(c.History(), "C") {
		t.Errorf("bad checksums %d, history %q: want 1 and a C", c.BadChecksums, c.History())
	}
	if st := tr.Checksums(); st.Dropped != 1 || len(st.Trusted)+len(st.Offloading) != 0 {
		t.Errorf("checksum stats %+v", st)
	}
}

func TestOffloadedChecksumsAreTracked(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumOffloaded, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumGood, "ESTABLISHED", "SYN_RCVD"},
		{Client, A, 1, 1, 0, ChecksumOffloaded, "ESTABLISHED", "ESTABLISHED"},
	})
	if st := tr.Checksums(); st.Dropped != 0 || !slices.Equal(st.Offloading, []netip.Addr{cAddr.IP()}) {
		t.Errorf("checksum stats %+v, want the client offloading", st)
	}
}

// TestHostWhosePeerAnswersBadChecksumsIsTrusted: every segment of the
// server has a wrong checksum (not the pseudo-header sum), yet the client
// answers them: the capture was taken on the server, whose NIC fills the
// checksums in. Its first bad segment is dropped; once the client
// acknowledges it, the server's segments are tracked.
func TestHostWhosePeerAnswersBadChecksumsIsTrusted(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumGood, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumBad, "SYN_SENT", "CLOSED"},
		{Client, A, 1, 1, 0, ChecksumGood, "", ""},
		{Server, PA, 1, 1, 10, ChecksumBad, "", ""},
		{Client, A, 1, 11, 0, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		{Server, FA, 11, 1, 0, ChecksumBad, "CLOSE_WAIT", "FIN_WAIT_1"},
	})
	if st := tr.Checksums(); st.Dropped != 1 || !slices.Equal(st.Trusted, []netip.Addr{sAddr.IP()}) {
		t.Errorf("checksum stats %+v, want the server trusted after one drop", st)
	}
}

// TestBadSegmentLaterAcknowledgedIsApplied: the server's FIN, with its
// data, has a wrong checksum as captured, yet the client acknowledges it
// and closes in turn: the client's kernel received it whole (the capture's
// copy was the corrupt one), so it is applied before that acknowledgment,
// and the server, which closed first, ends in TIME_WAIT.
func TestBadSegmentLaterAcknowledgedIsApplied(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumGood, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumGood, "ESTABLISHED", "SYN_RCVD"},
		{Client, A, 1, 1, 0, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		{Client, PA, 1, 1, 100, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		{Server, PA | FIN, 1, 101, 500, ChecksumBad, "ESTABLISHED", "ESTABLISHED"},
		{Client, A, 101, 502, 0, ChecksumGood, "CLOSE_WAIT", "FIN_WAIT_2"},
		{Client, FA, 101, 502, 0, ChecksumGood, "LAST_ACK", "TIME_WAIT"},
		{Server, A, 502, 102, 0, ChecksumGood, "CLOSED", "TIME_WAIT"},
	})
	c := tr.Conns()[0]
	if c.BadChecksums != 1 {
		t.Errorf("bad checksums %d, want 1", c.BadChecksums)
	}
	if st := tr.Checksums(); st.Dropped != 1 {
		t.Errorf("checksum stats %+v, want one dropped", st)
	}
}

// TestBadSegmentResentIntactIsAppliedOnce: a bad FIN sent again with a good
// checksum is applied as the good copy; the acknowledgment that covers
// both applies nothing more.
func TestBadSegmentResentIntactIsAppliedOnce(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumGood, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumGood, "ESTABLISHED", "SYN_RCVD"},
		{Client, A, 1, 1, 0, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		{Server, FA, 1, 1, 0, ChecksumBad, "ESTABLISHED", "ESTABLISHED"},
		{Server, FA, 1, 1, 0, ChecksumGood, "CLOSE_WAIT", "FIN_WAIT_1"},
		{Client, A, 1, 2, 0, ChecksumGood, "CLOSE_WAIT", "FIN_WAIT_2"},
	})
	if h := tr.Conns()[0].Half(Server); h.Packets() != 2 || h.finRtx != 0 {
		t.Errorf("server: %d packets, %d FIN retransmissions; want 2 (the SYN-ACK and the good FIN), none", h.Packets(), h.finRtx)
	}
}

// TestChecksumHostTablesBounded: segments with bad or offloaded checksums
// from ever new sources do not grow the host tables past their cap: a bad
// segment with no connection enters no host, and once full a table enters
// none and counts the rest.
func TestChecksumHostTablesBounded(t *testing.T) {
	tr := New(Config{})
	isn := [2]seqnum.Value{1000, 5000}
	feed := func(i int, from Side, flags Flags, seq, n uint32, sum Checksum) {
		seg := testSeg(isn, from, flags, seq, 1, n)
		a := AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if from == Client {
			seg.Src = a
		} else {
			seg.Dst = a
		}
		seg.Time, seg.Checksum = int64(i+1)*1e3, sum
		tr.Observe(&seg)
	}
	const spoofed = 200000
	for i := range spoofed {
		feed(i, Client, PA, 1, 10, ChecksumBad)
		feed(i, Client, A, 1, 0, ChecksumOffloaded)
	}
	if n := len(tr.sums.hosts); n != 0 {
		t.Errorf("%d hosts entered for bad segments of no connection", n)
	}
	conns := MaxChecksumHosts + 1000
	for i := range conns {
		feed(spoofed+i, Client, S, 0, 0, ChecksumGood)
		feed(spoofed+i, Client, PA, 1, 10, ChecksumBad)
	}
	if n, m := len(tr.sums.hosts), len(tr.sums.offload); n > MaxChecksumHosts || m > MaxChecksumHosts {
		t.Errorf("%d hosts, %d offloading: want at most %d each", n, m, MaxChecksumHosts)
	}
	want := uint64(spoofed - MaxChecksumHosts + conns - MaxChecksumHosts)
	if st := tr.Checksums(); st.Unfollowed != want || st.Dropped != spoofed+uint64(conns) {
		t.Errorf("unfollowed %d dropped %d, want %d and %d", st.Unfollowed, st.Dropped, want, spoofed+conns)
	}
}
