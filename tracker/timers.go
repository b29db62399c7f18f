package tracker

// timer names its connection by its index in Tracker.conns (kept up to
// date when conns is compacted) and the low 32 bits of its ID: 16 bytes,
// and finding the connection is one load, not a look-up of its key in the
// flow table (and, for one that ended, in the table of TIME_WAITs).
type timer struct {
	idx int32
	id  uint32
	due int64
}

// timerOf returns a timer for c, due at due.
func timerOf(c *Conn, due int64) timer { return timer{idx: c.idx, id: uint32(c.ID), due: due} }

// fifo is a queue in a ring buffer: pushing and popping allocate only when
// the queue outgrows its buffer.
type fifo[T any] struct {
	buf     []T
	head, n int
}

// timerQueue is a FIFO of timers.
type timerQueue = fifo[timer]

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) front() *T { return &q.buf[q.head] }

// at returns the i-th element from the front.
func (q *fifo[T]) at(i int) *T { return &q.buf[(q.head+i)%len(q.buf)] }

func (q *fifo[T]) push(t T) {
	if q.n == len(q.buf) {
		buf := make([]T, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
}

// pop removes the first element.
func (q *fifo[T]) pop() T {
	t := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return t
}

// storedConn returns the timer's connection if the tracker still holds
// it, followed or not.
func (t *Tracker) storedConn(tm timer) *Conn {
	if tm.idx < 0 || int(tm.idx) >= len(t.conns) {
		return nil
	}
	if c := t.conns[tm.idx]; c != nil && uint32(c.ID) == tm.id {
		return c
	}
	return nil
}

// timerConn returns the timer's connection if it is still followed: in the
// flow table, or parked with its full record stored.
func (t *Tracker) timerConn(tm timer) *Conn {
	if c := t.storedConn(tm); c != nil && c.inTable {
		return c
	}
	return nil
}

// tableConn returns the timer's connection if it is in the flow table
// (the eviction queues name only those).
func (t *Tracker) tableConn(tm timer) *Conn {
	if c := t.storedConn(tm); c != nil && c.inTable && !c.parked {
		return c
	}
	return nil
}

// renumberTimers follows a compaction of conns: moved[i] is the new index
// of the connection at index i before it, -1 for a hole.
//
// A timer of a connection no longer held (a hole: evicted and let go,
// frozen, forgotten) can never fire again, since no connection takes its
// place in conns; it leaves its queue here, so that the queues hold what
// is held, not every connection opened or closed within the handshake
// timeout or 2×MSL. (Each leaves once: amortized, nothing per packet.)
func (t *Tracker) renumberTimers(moved []int32) {
	for _, q := range []*timerQueue{&t.timeWaits, &t.closed, &t.handshakes, &t.embryos, &t.lru} {
		for n := q.len(); n > 0; n-- {
			tm := q.pop()
			if tm.idx >= 0 && int(tm.idx) < len(moved) {
				tm.idx = moved[tm.idx]
			}
			if tm.idx >= 0 {
				q.push(tm)
			}
		}
	}
}

// expire runs a connection's timers up to the clock: TIME_WAIT ends 2×MSL
// after it began.
func (t *Tracker) expire(c *Conn) {
	for s := Client; s <= Server; s++ {
		if why, at := c.half[s].expire(t.now, t.twLen); why != 0 {
			t.settle(c, s, at, 0, why)
		}
	}
}

// runTimers fires the timers that are due: TIME_WAIT expiries; handshakes
// not completed in time (an unanswered SYN, for the SYN flood detector);
// and the removal from the table of connections closed on both sides for
// 2×MSL, for which nothing more can arrive (they stay in Conns).
func (t *Tracker) runTimers() {
	for t.timeWaits.len() > 0 && t.timeWaits.front().due <= t.now {
		tm := t.timeWaits.pop()
		if len(t.frozenTWs) > 0 {
			t.expireFrozen(tm.due - 1) // those due before it first (frozentw.go)
		}
		if c := t.timerConn(tm); c != nil {
			t.expire(c) // stale entries (TIME_WAIT restarted or left) do nothing
			t.parkIfEnded(c)
		}
	}
	if len(t.frozenTWs) > 0 {
		t.expireFrozen(t.now)
	}
	if len(t.lostTWs) > 0 {
		t.expireLost(t.now)
	}
	for t.handshakes.len() > 0 && t.handshakes.front().due <= t.now {
		tm := t.handshakes.pop()
		c := t.timerConn(tm)
		if c == nil || !c.embryonic() {
			continue
		}
		if c.flood != nil {
			t.floodFailed(c, c.First)
		}
		if t.shedFlooded(c) { // synflood.go
			continue
		}
		t.pushEvictable(&t.embryos, tm)
	}
	for t.closed.len() > 0 && t.closed.front().due <= t.now {
		c := t.timerConn(t.closed.pop())
		if c == nil || c.half[0].state != Closed || c.half[1].state != Closed {
			continue
		}
		if c.Last+t.twLen > t.now {
			t.closed.push(timerOf(c, c.Last+t.twLen)) // traffic came after it closed
			continue
		}
		t.judgeOpen(c)
		t.retire(c)
	}
	t.expireParked()
}

// pushEvictable adds a connection to an eviction queue. A queue whose
// entries are mostly of connections gone from the table is rebuilt with the
// live ones: amortized, a few table lookups per connection, and the queue
// stays within twice the table's size.
func (t *Tracker) pushEvictable(q *timerQueue, tm timer) {
	q.push(tm)
	if q.len() <= 2*t.table.len()+1024 {
		return
	}
	for n := q.len(); n > 0; n-- {
		if tm := q.pop(); t.tableConn(tm) != nil {
			q.push(tm)
		}
	}
}
