# Walks a wire Program step by step WITHOUT unrolling its repeats.
#
# The position is a stack of (node list, index, round) with one level per nesting depth:
# level 0 is the program's top-level list, level d the body of the repeat entered at depth d.
# The stack is preallocated to program.MAX_DEPTH + 1 levels when the cursor is built, so
# walking allocates nothing: 40x(200m, 200m jog) costs three nodes and four small lists,
# not eighty steps.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.wire.program import (
    END_DISTANCE,
    END_TIME,
    KIND_RECOVERY,
    KIND_REST,
    KIND_WORK,
    MAX_DEPTH,
    TARGET_PACE,
    Repeat,
)

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
    if step.end == END_TIME:
        return step.value * 1000
    if step.end == END_DISTANCE:
        if step.target_type == TARGET_PACE and step.target_value > 0:
            # tenths of a second per km == tenths of a ms per metre
            return step.value * step.target_value // 10
        return 0
    return step.value * 1000


def check(nodes, depth=0, counter=None):
    """Raise EngineError if the engine cannot run these nodes (depth, empty or zero repeats,
    a step over 24 h). The codec already enforces most of this for decoded programs; Program
    objects built in code reach the engine without passing through it."""
    if counter is None:
        counter = [0]
    if not nodes:
        raise EngineError("an empty step list", "nodes", counter[0] - 1)
    for node in nodes:
        where = counter[0]
        counter[0] += 1
        if isinstance(node, Repeat):
            if depth >= MAX_DEPTH:
                raise EngineError("repeats nested deeper than " + str(MAX_DEPTH), "depth", where)
            if not isinstance(node.count, int) or node.count < 1:
                raise EngineError(
                    "repeat count must be 1 or more, got " + repr(node.count),
                    "repeat.count",
                    where,
                )
            check(node.body, depth + 1, counter)
            continue
        if not isinstance(node.value, int) or node.value < 0:
            raise EngineError(
                "step value must be a whole number >= 0, got " + repr(node.value),
                "step.value",
                where,
            )
        # Compare before multiplying: a huge value would overflow a board's small ints.
        if node.value > MAX_STEP_MS // 1000 or expected_ms(node) > MAX_STEP_MS:
            raise EngineError("a step longer than 24 h", "step.value", where)


def _has_work(nodes, i):
    # Any work step in nodes[i:], nested repeats included.
    n = len(nodes)
    while i < n:
        node = nodes[i]
        if isinstance(node, Repeat):
            if _has_work(node.body, 0):
                return True
        elif node.kind == KIND_WORK:
            return True
        i += 1
    return False


class Cursor:
    """The position in a program. next() moves to the next step to run."""

    def __init__(self, nodes):
        self._lists = [None] * _LEVELS
        self._idx = [0] * _LEVELS
        self._round = [0] * _LEVELS
        self._reps = [None] * _LEVELS
        self._lists[0] = nodes
        self._idx[0] = -1
        self.depth = 0
        self.step = None

    def next(self):
        """Move to the next step that runs and return it, or None at the end of the program.
        Steps that drop_last_recovery removes from a final round are passed over."""
        while True:
            d = self.depth
            nodes = self._lists[d]
            i = self._idx[d] + 1
            if i < len(nodes):
                self._idx[d] = i
                node = nodes[i]
                if isinstance(node, Repeat):
                    d += 1
                    self.depth = d
                    self._lists[d] = node.body
                    self._idx[d] = -1
                    self._round[d] = 0
                    self._reps[d] = node
                    continue
                if d > 0 and i == len(nodes) - 1 and self._dropped(d, node):
                    continue
                self.step = node
                return node
            if d == 0:
                self.step = None
                return None
            rep = self._reps[d]
            r = self._round[d] + 1
            if r < rep.count:
                self._round[d] = r
                self._idx[d] = -1
            else:
                self._lists[d] = None
                self._reps[d] = None
                self.depth = d - 1

    def _dropped(self, d, node):
        rep = self._reps[d]
        return (
            rep.drop_last_recovery
            and self._round[d] == rep.count - 1
            and (node.kind == KIND_RECOVERY or node.kind == KIND_REST)
        )

    def last_rep(self):
        """True when the current step is the last work step of its outermost repeat block:
        every enclosing repeat is in its final round, at least one of them has more than one
        round, and no work step follows inside the block."""
        d = self.depth
        if d == 0 or self.step is None or self.step.kind != KIND_WORK:
            return False
        several = False
        k = 1
        while k <= d:
            rep = self._reps[k]
            if self._round[k] != rep.count - 1:
                return False
            if rep.count > 1:
                several = True
            if _has_work(self._lists[k], self._idx[k] + 1):
                return False
            k += 1
        return several

    def round(self):
        """(round, rounds) of the innermost repeat around the current step, 1-based;
        (0, 0) outside any repeat."""
        d = self.depth
        if d == 0:
            return 0, 0
        return self._round[d] + 1, self._reps[d].count
