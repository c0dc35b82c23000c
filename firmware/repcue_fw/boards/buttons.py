# Physical buttons -> logical buttons: debounced edges in, short / double / long presses out.
#
# A profile maps each physical button to three logical buttons (BTN_* of wire/events.py,
# 0 = nothing): (short, double, long). The event carries the ticks of the FIRST press edge,
# so a lap is timed when the thumb went down, not when the gesture was recognised. A button
# with only a short mapping reports it on the press edge itself (the lap button: no delay
# at all); one with no double mapping reports the short press on release, without waiting
# for a second press; a long press fires as soon as the hold reaches long_ms.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.wire import events as ev

# The layout of every profile with two buttons: A lap, reported on the press edge itself;
# B start or pause-resume / double: skip / hold: stop and save.
TWO_BUTTONS = ((ev.BTN_LAP, 0, 0), (ev.BTN_PAUSE, ev.BTN_SKIP, ev.BTN_STOP))

_SHORT = const(0)
_DOUBLE = const(1)
_LONG = const(2)

_IDLE = const(0)
_DOWN1 = const(1)  # first press held
_WAIT2 = const(2)  # released, waiting for a second press
_DOWN2 = const(3)  # second press held
_HELD = const(4)  # long press reported; wait for release

_LONG_MS = const(800)
_DOUBLE_MS = const(300)
DEBOUNCE_MS = const(20)


class ButtonDecoder:
    """Gesture state machine for n buttons, driven by edge() and poll(); allocation-free
    except for what `emit` does."""

    def __init__(self, mapping, clock, emit, long_ms=_LONG_MS, double_ms=_DOUBLE_MS):
        # mapping: one (short, double, long) tuple per physical button
        # clock: has ticks_diff / ticks_add; emit(logical_button, press_ticks)
        n = len(mapping)
        self.mapping = mapping
        self._clock = clock
        self._emit = emit
        self.long_ms = long_ms
        self.double_ms = double_ms
        self._stage = bytearray(n)
        self.mute = -1  # a button whose gesture under way reports nothing (hw.py: glances)
        self._t_first = [0] * n
        self._t_stage = [0] * n

    def set_mapping(self, mapping):
        if len(mapping) != len(self.mapping):
            raise ValueError("mapping needs " + str(len(self.mapping)) + " buttons")
        self.mapping = mapping
        for i in range(len(mapping)):
            self._stage[i] = _IDLE

    def _fire(self, i, gesture):
        logical = self.mapping[i][gesture]
        if logical and i != self.mute:
            self._emit(logical, self._t_first[i])

    def edge(self, i, pressed, ticks):
        """A debounced edge of physical button i at `ticks`."""
        stage = self._stage[i]
        if pressed:
            if stage == _IDLE:
                self._t_first[i] = ticks
                self._t_stage[i] = ticks
                gestures = self.mapping[i]
                if not gestures[_DOUBLE] and not gestures[_LONG]:
                    self._stage[i] = _HELD  # nothing else it could become: report now
                    self._fire(i, _SHORT)
                    return
                self._stage[i] = _DOWN1
            elif stage == _WAIT2:
                self._stage[i] = _DOWN2
                self._t_stage[i] = ticks
            return
        if stage == _DOWN1:
            if self.mapping[i][_DOUBLE]:
                self._stage[i] = _WAIT2
                self._t_stage[i] = ticks
                return
            self._stage[i] = _IDLE
            self._fire(i, _SHORT)
        elif stage == _DOWN2:
            self._stage[i] = _IDLE
            self._fire(i, _DOUBLE)
        elif stage == _HELD:
            self._stage[i] = _IDLE

    def poll(self, now):
        """Report the gestures whose time has come (long hold reached, double window over)."""
        diff = self._clock.ticks_diff
        for i in range(len(self._stage)):
            stage = self._stage[i]
            if stage == _DOWN1:
                if self.mapping[i][_LONG] and diff(now, self._t_stage[i]) >= self.long_ms:
                    self._stage[i] = _HELD
                    self._fire(i, _LONG)
            elif stage == _WAIT2:
                if diff(now, self._t_stage[i]) >= self.double_ms:
                    self._stage[i] = _IDLE
                    self._fire(i, _SHORT)

    def next_deadline(self):
        """Ticks of the next timeout poll() must see, or None when nothing is pending."""
        best = None
        add = self._clock.ticks_add
        for i in range(len(self._stage)):
            stage = self._stage[i]
            if stage == _DOWN1 and self.mapping[i][_LONG]:
                t = add(self._t_stage[i], self.long_ms)
            elif stage == _WAIT2:
                t = add(self._t_stage[i], self.double_ms)
            else:
                continue
            if best is None or self._clock.ticks_diff(t, best) < 0:
                best = t
        return best

    def busy(self):
        for i in range(len(self._stage)):
            if self._stage[i] != _IDLE:
                return True
        return False
