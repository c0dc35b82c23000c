# The steps a program runs, in the order it runs them: the Cursor walks a program step by
# step, straight from its bytes (wire.program.ProgramBytes), WITHOUT unrolling its repeats.
# That order is what a session record's step indexes count, so the engine and the host's
# reports both take it from here; and a step's expected time (expected_ms).
#
# The position is one level per nesting depth: level 0 is the program's top-level node list,
# level d the body of the repeat entered at depth d. Per level, preallocated arrays hold where
# the next node starts, how many nodes of the list are left, and for a repeat its body's start
# and size, its round and round count. The current step is one Node rewritten in place, so
# walking allocates nothing and a 40x(200m, 200m jog) costs its 3 encoded nodes, not 80 steps.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.wire import program as wp
from repcue_fw.wire.program import Node, ProgramBytes, read_node

MAX_STEP_MS = const(86400000)  # one step may last at most 24 h (keeps ms in a small int)
_LEVELS = const(5)  # MAX_DEPTH + 1: the top-level list plus one level per nested repeat


class EngineError(ValueError):
    """A program the engine cannot run, or a call it cannot take.

    `field` names what was wrong ("depth", "repeat.count", "step.value", "state"...);
    `step` is the index of the offending node in preorder (-1 when not about one node).
    """

    def __init__(self, message, field="", step=-1):
        super().__init__(message)
        self.message = message
        self.field = field
        self.step = step


def expected_ms(step):
    """How long a step is planned to take in ms: its time, its distance at its target pace,
    or its estimate for an open step; 0 when not known."""
    if step.end == wp.END_TIME:
        return step.value * 1000
    if step.end == wp.END_DISTANCE:
        if step.target_type == wp.TARGET_PACE and step.target_value > 0:
            # tenths of a second per km == tenths of a ms per metre
            return step.value * step.target_value // 10
        return 0
    return step.value * 1000


def _is_rest(node):
    return node.kind == wp.KIND_RECOVERY or node.kind == wp.KIND_REST


def _count(prog, node, pos, n, counter):
    # Steps run by n sibling nodes from pos, repeats unrolled; raises EngineError for a step
    # over 24 h. -> (steps, position after them, whether the last one is a recovery/rest)
    total = 0
    rest = False
    for _ in range(n):
        where = counter[0]
        counter[0] += 1
        pos = read_node(prog.data, pos, prog.end, node)
        if node.kind == wp.NODE_REPEAT:
            reps = node.value
            drop = node.drop_last_recovery
            per_round, pos, ends_rest = _count(prog, node, pos, node.children, counter)
            total += per_round * reps - (1 if drop and ends_rest else 0)
            rest = False
            continue
        # Compare before multiplying: a huge value would overflow a board's small ints.
        if node.value > MAX_STEP_MS // 1000 or expected_ms(node) > MAX_STEP_MS:
            raise EngineError("a step longer than 24 h", "step.value", where)
        total += 1
        rest = _is_rest(node)
    return total, pos, rest


def planned_steps(prog):
    """How many steps a ProgramBytes runs (repeats unrolled, dropped recoveries left out).
    Raises EngineError if the engine cannot run it (a step over 24 h)."""
    return _count(prog, Node(), prog.first, prog.count, [0])[0]


class Cursor:
    """The position in a program (a ProgramBytes, or its bytes). next() moves to the next
    step to run; `step` is that step (a Node rewritten by every next(), None before the
    first and after the last)."""

    def __init__(self, program):
        prog = program if isinstance(program, ProgramBytes) else ProgramBytes(program)
        self._buf = prog.data
        self._end = prog.end
        self._node = Node()  # what next() reads into
        self._scan = Node()  # what look-ahead reads into, leaving the step alone
        self._pos = [0] * _LEVELS  # where the level's next node starts
        self._left = [0] * _LEVELS  # nodes of the level's list still to read this round
        self._first = [0] * _LEVELS  # a repeat level: where its body starts...
        self._size = [0] * _LEVELS  # ...and how many nodes the body has
        self._round = [0] * _LEVELS
        self._reps = [0] * _LEVELS
        self._drop = [False] * _LEVELS
        self._pos[0] = prog.first
        self._left[0] = prog.count
        self.depth = 0
        self.step = None

    def next(self):
        """Move to the next step that runs and return it, or None at the end of the program.
        Steps that drop_last_recovery removes from a final round are passed over."""
        node = self._node
        pos = self._pos
        left = self._left
        while True:
            d = self.depth
            if left[d]:
                left[d] -= 1
                at = read_node(self._buf, pos[d], self._end, node)
                if node.kind == wp.NODE_REPEAT:
                    pos[d] = self._walk(at, node.children, False)  # the level goes on after it
                    d += 1
                    self.depth = d
                    pos[d] = at
                    self._first[d] = at
                    left[d] = node.children
                    self._size[d] = node.children
                    self._round[d] = 0
                    self._reps[d] = node.value
                    self._drop[d] = node.drop_last_recovery
                    continue
                pos[d] = at
                if d > 0 and not left[d] and self._dropped(d, node):
                    continue
                self.step = node
                return node
            if d == 0:
                self.step = None
                return None
            r = self._round[d] + 1
            if r < self._reps[d]:
                self._round[d] = r
                pos[d] = self._first[d]
                left[d] = self._size[d]
            else:
                self.depth = d - 1

    def _dropped(self, d, node):
        return self._drop[d] and self._round[d] == self._reps[d] - 1 and _is_rest(node)

    def _walk(self, pos, n, stop_at_work):
        # Pass over n sibling nodes (bodies included) from pos; return the position after
        # them, or -1 as soon as a work step is met if stop_at_work.
        scan = self._scan
        while n:
            n -= 1
            pos = read_node(self._buf, pos, self._end, scan)
            if scan.kind == wp.NODE_REPEAT:
                n += scan.children
            elif stop_at_work and scan.kind == wp.KIND_WORK:
                return -1
        return pos

    def last_rep(self):
        """True when the current step is the last work step of its outermost repeat block:
        every enclosing repeat is in its final round, at least one of them has more than one
        round, and no work step follows inside the block."""
        d = self.depth
        if d == 0 or self.step is None or self.step.kind != wp.KIND_WORK:
            return False
        several = False
        k = 1
        while k <= d:
            reps = self._reps[k]
            if self._round[k] != reps - 1:
                return False
            if reps > 1:
                several = True
            # the nodes after the current one in level k's list (for k < d: after the
            # repeat that holds the step)
            if self._walk(self._pos[k], self._left[k], True) < 0:
                return False
            k += 1
        return several
