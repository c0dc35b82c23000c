# Plays a cue pattern (on/off ms, starting ON) on PWM outputs from a one-shot machine.Timer,
# so nothing blocks and no task is needed: play() sets the first segment and arms the timer,
# each expiry moves to the next segment. A new play() replaces what is playing.
#
# The timer callback may run as a (hard) IRQ: it only indexes a tuple, writes duty and
# re-arms the timer; the bound method is made once here, never in the callback.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


_DUTY_MAX = const(65535)


class PwmOutput:
    """A vibration motor (via a transistor) or piezo on one PWM pin."""

    def __init__(self, pwm, freq, duty_u16):
        if duty_u16 < 0 or duty_u16 > _DUTY_MAX:
            raise ValueError("duty_u16 must be 0..65535")
        self.pwm = pwm
        self.duty_on = duty_u16
        self.enabled = True
        pwm.freq(freq)
        pwm.duty_u16(0)

    def on(self):
        self.pwm.duty_u16(self.duty_on if self.enabled else 0)

    def off(self):
        self.pwm.duty_u16(0)

    def set_level(self, duty_u16):
        if duty_u16 < 0 or duty_u16 > _DUTY_MAX:
            raise ValueError("duty_u16 must be 0..65535")
        self.duty_on = duty_u16


class PatternPlayer:
    def __init__(self, outputs, timer, one_shot, timer_kw=None):
        # timer: a machine.Timer; one_shot: machine.Timer.ONE_SHOT
        # timer_kw: extra init keywords, e.g. {"hard": False} on rp2
        self._outputs = outputs
        self._timer = timer
        self._one_shot = one_shot
        self._soft = bool(timer_kw and "hard" in timer_kw and not timer_kw["hard"])
        self._pattern = ()
        self._i = 0
        self.playing = False
        self._callback = self._expired  # bound once: the IRQ must not allocate

    def _set(self, level):
        for out in self._outputs:
            if level:
                out.on()
            else:
                out.off()

    def _advance(self):
        pattern = self._pattern
        i = self._i + 1
        n = len(pattern)
        while i < n and pattern[i] <= 0:
            i += 1
        self._i = i
        if i >= n:
            self._set(False)
            self.playing = False
            return
        self._set(not (i & 1))
        if self._soft:
            self._timer.init(
                mode=self._one_shot, period=pattern[i], callback=self._callback, hard=False
            )
        else:
            self._timer.init(mode=self._one_shot, period=pattern[i], callback=self._callback)

    def _expired(self, _timer):
        self._advance()

    def play(self, pattern):
        """Start `pattern` now, cutting off whatever was playing."""
        self._timer.deinit()
        self._pattern = pattern
        self._i = -1
        self.playing = True
        self._advance()

    def stop(self):
        self._timer.deinit()
        self._pattern = ()
        self.playing = False
        self._set(False)
