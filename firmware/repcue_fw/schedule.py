# The deadlines inside one step, as ms offsets from the step's start: halfway, countdown
# ticks, ghost marks and the end. The engine turns an offset into a tick with
# clock.ticks_add(step_start, offset); this module never sees ticks. No allocation: one
# Schedule is reused for every step.
#
#   countdown  N ticks at N, N-1 .. 1 s before the end of a TIME step (N: the step's
#              countdown_s, else the program's); ticks at or before the step start are left out.
#   halfway    half of a TIME step of 2 s or more, if the step (else the program) asks for it
#              and half-time falls before the countdown begins (the countdown wins).
#   ghost      a DISTANCE step with a pace target (value > 0): every 100 m of target pace,
#              and the full distance (the expected finish) when it is not a multiple of 100.
#   end        a TIME step only; distance and open steps end on a button.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.wire import events as ev
from repcue_fw.wire import program as wp

_GHOST_EVERY_M = const(100)

# What the next offset is.
_NX_NONE = const(0)
_NX_HALF = const(1)
_NX_COUNT = const(2)
_NX_GHOST = const(3)
NX_END = const(4)


class Schedule:
    def __init__(self):
        self.clear()

    def clear(self):
        self.end = -1  # offsets in ms; -1 = none
        self.half = -1
        self.count_k = 0  # countdown ticks still to come (the next at end - count_k s)
        self.ghost_k = 0  # next ghost mark, 1-based; 0 = none left
        self.ghost_n = 0
        self.ghost_m = 0  # the step's distance
        self.pace = 0  # tenths of a second per km == tenths of a ms per metre
        self.kind = _NX_NONE
        self.offset = -1

    def plan(self, step, program, ghost):
        """Lay out the deadlines of `step`; then self.offset/self.kind is the first one."""
        self.clear()
        if step.end == wp.END_TIME:
            dur = step.value * 1000
            self.end = dur
            n = step.countdown_s
            if n is None:
                n = program.countdown_s
            if dur > 0:
                self.count_k = min(n, (dur - 1) // 1000)
            half = step.halfway
            if half is None:
                half = program.halfway
            if half and dur >= 2000 and dur // 2 < dur - self.count_k * 1000:
                self.half = dur // 2
        elif (
            step.end == wp.END_DISTANCE
            and ghost
            and step.target_type == wp.TARGET_PACE
            and step.target_value > 0
            and step.value > 0
        ):
            self.ghost_m = step.value
            self.pace = step.target_value
            self.ghost_n = (step.value + _GHOST_EVERY_M - 1) // _GHOST_EVERY_M
            self.ghost_k = 1
        self._next()

    def take(self):
        """Consume the current deadline; return its cue id (0 for the end of the step).
        Afterwards self.offset/self.kind is the following one."""
        kind = self.kind
        if kind == NX_END:
            self.end = -1
            cue_id = 0
        elif kind == _NX_HALF:
            self.half = -1
            cue_id = ev.CUE_HALFWAY
        elif kind == _NX_COUNT:
            self.count_k -= 1
            cue_id = ev.CUE_COUNTDOWN
        else:
            self.ghost_k = self.ghost_k + 1 if self.ghost_k < self.ghost_n else 0
            cue_id = ev.CUE_GHOST
        self._next()
        return cue_id

    def _next(self):
        # The earliest pending deadline; ties keep the order half, count, ghost, end.
        best = -1
        kind = _NX_NONE
        if self.half >= 0:
            best = self.half
            kind = _NX_HALF
        if self.count_k > 0:
            t = self.end - self.count_k * 1000
            if best < 0 or t < best:
                best = t
                kind = _NX_COUNT
        if self.ghost_k > 0:
            m = self.ghost_k * _GHOST_EVERY_M
            if m > self.ghost_m:
                m = self.ghost_m
            t = m * self.pace // 10
            if best < 0 or t < best:
                best = t
                kind = _NX_GHOST
        if self.end >= 0 and (best < 0 or self.end < best):
            best = self.end
            kind = NX_END
        self.kind = kind
        self.offset = best
