package zeek

// Bytes returns conn.log's orig_bytes and resp_bytes: the payload bytes
// each of Zeek's roles sent as its sequence numbers span them
// (TCP_Endpoint::Size), so retransmissions are not counted twice; 0 and 0
// before any segment.
func (z *Summary) Bytes() (orig, resp uint64) {
	if !z.started {
		return 0, 0
	}
	o, r := &z.ep[z.origSide], &z.ep[z.origSide^1]
	return o.size(r), r.size(o)
}
