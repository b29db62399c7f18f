package zeek

// histCorrupt is Zeek's HIST_CORRUPTION_PKT: a segment with a bad checksum.
const histCorrupt = 0x100

// BadChecksum records a segment of the connection whose checksum was wrong,
// which Zeek (without -C) does not analyze further: history 'C' (or 'c' for
// the responder), once per direction. Nothing else changes.
func (z *Summary) BadChecksum(fromClient bool) {
	if !z.started {
		return
	}
	side := 1
	if fromClient {
		side = 0
	}
	z.checkHistory(side, histCorrupt, 'C')
}
