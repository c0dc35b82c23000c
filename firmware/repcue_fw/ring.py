# A fixed ring of small records, made once: the dispatcher's event queue, the BLE link's
# IRQ notes, the board's button presses. push() never allocates and drops (and counts) the
# newest record when the ring is full: a stalled reader must not grow the heap.
#
#   ring = Ring(8, 3)                 # 8 records of 3 ints
#   ring.push(code, a, b)
#   i = ring.pop()                    # a slot index, -1 when empty
#   code, a, b = ring.cols[0][i], ring.cols[1][i], ring.cols[2][i]  (before the next push)


class Ring:
    def __init__(self, size, width):
        self.size = size
        self.cols = [[0] * size for _ in range(width)]
        self.head = 0
        self.count = 0
        self.dropped = 0

    def push(self, a, b=0, c=0, d=0):
        """Append a record (as many fields as the ring is wide); False when full."""
        if self.count >= self.size:
            self.dropped += 1
            return False
        i = (self.head + self.count) % self.size
        cols = self.cols
        cols[0][i] = a
        n = len(cols)
        if n > 1:
            cols[1][i] = b
        if n > 2:
            cols[2][i] = c
        if n > 3:
            cols[3][i] = d
        self.count += 1
        return True

    def pop(self):
        """The oldest record's slot index, or -1 when the ring is empty."""
        if not self.count:
            return -1
        i = self.head
        self.head = (i + 1) % self.size
        self.count -= 1
        return i

    def clear(self):
        self.head = 0
        self.count = 0
