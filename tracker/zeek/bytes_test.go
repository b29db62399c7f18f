package zeek

import "testing"

// TestBytesCountTheSequenceSpanNotRetransmissions: orig_bytes and
// resp_bytes are each role's payload as its sequence numbers span it; a
// retransmission adds nothing, SYN and FIN count for nothing, and a
// connection picked up mid-stream is Zeek's first sender's.
func TestBytesCountTheSequenceSpanNotRetransmissions(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pkts       []zp
		orig, resp uint64
	}{
		{"nothing", nil, 0, 0},
		{"handshake only", zHandshake, 0, 0},
		{"request and response, closed", zSeq(zHandshake, []zp{
			zC(zPA, 1, 1, 100), zS(ACK, 1, 101, 0), zS(zPA, 1, 101, 1448), zC(ACK, 101, 1449, 0),
			zC(zFA, 101, 1449, 0), zS(zFA, 1449, 102, 0), zC(ACK, 102, 1450, 0)}), 100, 1448},
		{"retransmitted request", zSeq(zHandshake, []zp{
			zC(zPA, 1, 1, 100), zC(zPA, 1, 1, 100), zS(ACK, 1, 101, 0)}), 100, 0},
		// Port 9000 is no likely server port: the first sender originates.
		{"mid-stream, the server's data first", []zp{zS(zPA, 1, 1, 500), zC(ACK, 1, 501, 0), zC(zPA, 1, 501, 20)}, 500, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := defaultZeekConn.run(tc.pkts)
			if o, r := z.Bytes(); o != tc.orig || r != tc.resp {
				t.Errorf("Bytes() = %d, %d; want %d, %d (history %q)", o, r, tc.orig, tc.resp, z.History())
			}
		})
	}
}
