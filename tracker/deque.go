package tracker

// deque is a FIFO that grows a block at a time: unlike fifo's ring, which
// doubles and copies, it never holds a second copy of what it stores nor
// more than one block of slack, for queues of hundreds of thousands of
// large elements (the frozen Records).
type deque[T any] struct {
	blocks [][]T
	head   int // index of the front in blocks[0]
	n      int
	spare  []T // a block popped empty, reused by the next push that needs one
}

// dequeBlock is the number of elements of a block.
const dequeBlock = 1024

func (q *deque[T]) len() int { return q.n }

// at returns the i-th element from the front.
func (q *deque[T]) at(i int) *T {
	j := q.head + i
	return &q.blocks[j/dequeBlock][j%dequeBlock]
}

func (q *deque[T]) front() *T { return q.at(0) }

func (q *deque[T]) push(v T) {
	j := q.head + q.n
	if j == len(q.blocks)*dequeBlock {
		b := q.spare
		q.spare = nil
		if b == nil {
			b = make([]T, dequeBlock)
		}
		q.blocks = append(q.blocks, b)
	}
	*q.at(q.n) = v
	q.n++
}

// pop removes the front element.
func (q *deque[T]) pop() {
	var zero T
	*q.at(0) = zero
	q.head++
	q.n--
	if q.head == dequeBlock {
		q.spare = q.blocks[0]
		copy(q.blocks, q.blocks[1:])
		q.blocks[len(q.blocks)-1] = nil
		q.blocks = q.blocks[:len(q.blocks)-1]
		q.head = 0
	}
}
