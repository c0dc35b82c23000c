# Stand-in for MicroPython's `machine` (Pin, PWM, Timer, unique_id) on the unix port, for
# testing the real-board drivers. Put device/repcue_device on MICROPYPATH before the firmware's
# imports, then pick the chip: `import machine; machine.use_chip("esp32c3")` (or "rp2", "esp32"
# for the M5StickC Plus2's ESP32-PICO-V3-02, "esp32s3" for the T-Watch S3's ESP32-S3R8).
#
# It models the limits that bite on real chips rather than accepting anything:
#   - only GPIO numbers that exist on the chip (Pico W: GP23-25 and GP29 are the radio's)
#   - PWM frequency range per chip; duty_u16 0..65535 (ValueError outside)
#   - rp2: the two channels of a PWM slice share one frequency (slice = (gpio >> 1) & 7)
#   - esp32c3: LEDC has 6 channels and 4 timers, so at most 4 distinct frequencies
#   - Timer ids per chip (esp32c3: 0, 1; rp2: -1 only) and init keywords (`hard` is rp2's)
#   - IRQ triggers a chip supports; IRQ handlers run with the heap locked, so a handler
#     that allocates fails here as it would in a hard IRQ on a board
#   - esp32: GPIO34-39 are input-only pads with no pull resistors (Espressif's ESP32
#     datasheet, "GPIO & RTC GPIO"); MicroPython refuses them as outputs ("pin can only be
#     input"); ESP-IDF only logs a pull-up on them and leaves the pin floating, the stand-in
#     refuses it so a profile that relies on one fails here
# SPI, I2C and ADC (buses with device models on them) are in machine_buses.py.
# Tests drive inputs with Pin.drive(level) and expire timers with Timer.fire().
import micropython

_CHIPS = {
    "esp32c3": {
        "pins": tuple(range(22)),
        "uid": b"\x34\x85\x18\x01\x02\x03",
        "freq": (1, 40000000),
        "timers": (0, 1),
        "timer_kw": ("mode", "period", "callback", "freq"),
        "triggers": 1 | 2 | 4 | 8,  # rising, falling, low level, high level
        "pwm_channels": 6,
        "pwm_timers": 4,
    },
    # ESP32-PICO-V3-02 (M5StickC Plus2): GPIO6-11 and 16/17 are the in-package flash and
    # PSRAM (ESP32-PICO-V3-02 datasheet, pin description), 20/24/28-31 do not exist
    "esp32": {
        "pins": (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 18, 19, 21, 22, 23, 25, 26, 27)
        + tuple(range(32, 40)),
        "input_only": tuple(range(34, 40)),
        "uid": b"\x24\x0a\xc4\x11\x22\x33",
        "freq": (1, 40000000),
        "timers": (0, 1, 2, 3),
        "timer_kw": ("mode", "period", "callback", "freq"),
        "triggers": 1 | 2 | 4 | 8,
        "pwm_channels": 8,
        "pwm_timers": 4,
    },
    # ESP32-S3R8 (T-Watch S3): GPIO26-32 are the SPI flash, 33-37 the octal PSRAM
    # (ESP32-S3 datasheet, "Pin Overview"); 22-25 do not exist
    "esp32s3": {
        "pins": tuple(range(22)) + tuple(range(38, 49)),  # noqa: RUF005 (MicroPython)
        "uid": b"\xf4\x12\xfa\x44\x55\x66",
        "freq": (1, 40000000),
        "timers": (0, 1, 2, 3),
        "timer_kw": ("mode", "period", "callback", "freq"),
        "triggers": 1 | 2 | 4 | 8,
        "pwm_channels": 8,
        "pwm_timers": 4,
    },
    "rp2": {
        "pins": tuple(range(23)) + (26, 27, 28),  # noqa: RUF005 (MicroPython)
        "uid": b"\xe6\x61\x41\x04\x03\x21\x2a\x2b",
        "freq": (8, 62500000),
        "timers": (-1,),
        "timer_kw": ("mode", "period", "callback", "freq", "hard"),
        "triggers": 1 | 2,  # rising, falling
        "pwm_channels": 16,
        "pwm_timers": 8,  # slices
    },
}

_chip = None
_pins = {}
_pwms = []
_slice_freq = {}


def use_chip(name):
    """Select the modelled chip and forget all pin/PWM state."""
    global _chip
    if name not in _CHIPS:
        raise ValueError("unknown chip " + name)
    _chip = _CHIPS[name]
    _chip["name"] = name
    _pins.clear()
    del _pwms[:]
    _slice_freq.clear()
    machine_buses.reset()


def chip():
    if _chip is None:
        raise RuntimeError("machine stand-in: call machine.use_chip(name) first")
    return _chip


def unique_id():
    return chip()["uid"]


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def freq():
    return 160000000


# lightsleep(ms): what the board asked for is kept in `sleeps`; a test models what happens
# while the CPU is stopped (e.g. a button pressed) with `during_sleep`, called with the ms,
# which ends the sleep at once (a wake source). Otherwise it sleeps the time, as a board.
sleeps = []
during_sleep = None


def lightsleep(time_ms=None):
    import time

    sleeps.append(time_ms)
    if during_sleep is not None:
        during_sleep(time_ms)
    elif time_ms:
        time.sleep_ms(time_ms)


# deepsleep(): a board resets; the stand-in records it and returns. A test then sets
# `cause = DEEPSLEEP_RESET` and makes a new board, as the boot after the wake-up would.
PWRON_RESET = 1
DEEPSLEEP_RESET = 4
cause = PWRON_RESET
deep_sleeps = []
_rtc_memory = [b""]


def deepsleep(time_ms=None):
    deep_sleeps.append(time_ms)


def reset_cause():
    return cause


class RTC:
    def memory(self, data=None):
        if data is None:
            return _rtc_memory[0]
        if len(data) > 2048:  # the ESP32 port's RTC user memory
            raise ValueError("RTC memory holds 2048 bytes")
        _rtc_memory[0] = bytes(data)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
    IRQ_LOW_LEVEL = 4
    IRQ_HIGH_LEVEL = 8

    def __new__(cls, gpio, mode=-1, pull=-1, value=None, hold=None):
        if gpio not in chip()["pins"]:
            raise ValueError("invalid pin")
        pin = _pins.get(gpio)
        if pin is None:
            pin = object.__new__(cls)
            pin.gpio = gpio
            pin.mode = cls.IN
            pin.pull = None
            pin.external = None  # level driven from outside, None: floating
            pin.out_level = 0
            pin.handler = None
            pin.trigger = 0
            pin.irq_calls = 0
            pin.held = False  # hold=True: the level is kept through deep sleep (ESP32)
            _pins[gpio] = pin
        return pin

    def __init__(self, gpio, mode=-1, pull=-1, value=None, hold=None):
        self.init(mode, pull, value, hold)

    def init(self, mode=-1, pull=-1, value=None, hold=None):
        input_only = self.gpio in chip().get("input_only", ())
        if mode != -1:
            if input_only and mode != Pin.IN:
                raise ValueError("pin can only be input")
            self.mode = mode
        if pull != -1:
            if input_only and pull is not None:
                raise ValueError("GPIO" + str(self.gpio) + " is input-only: no pull resistors")
            self.pull = pull
        if value is not None:
            self.out_level = 1 if value else 0
        if hold is not None:
            self.held = bool(hold)

    def value(self, level=None):
        if level is not None:
            self.out_level = 1 if level else 0
            return None
        if self.mode == Pin.OUT:
            return self.out_level
        if self.external is not None:
            return self.external
        if self.pull == Pin.PULL_UP:
            return 1
        if self.pull == Pin.PULL_DOWN:
            return 0
        raise RuntimeError("GPIO" + str(self.gpio) + " is floating: no pull resistor")

    def irq(self, handler=None, trigger=3, hard=False):
        if trigger & ~chip()["triggers"]:
            raise ValueError("trigger not supported on " + chip()["name"])
        self.handler = handler
        self.trigger = trigger
        return self

    def drive(self, level):
        """Test helper: the outside world sets the pin level (button to GND: 0)."""
        try:
            before = self.value()
        except RuntimeError:  # floating until now (a line with only an external pull-up)
            before = None
        self.external = 1 if level else 0
        after = self.value()
        if self.handler is None or before == after:
            return
        edge = Pin.IRQ_RISING if after else Pin.IRQ_FALLING
        if self.trigger & edge:
            self.irq_calls += 1
            micropython.heap_lock()
            try:
                self.handler(self)
            finally:
                micropython.heap_unlock()

    def __repr__(self):
        return "Pin(" + str(self.gpio) + ")"


class PWM:
    def __init__(self, pin, freq=None, duty_u16=None):
        if not isinstance(pin, Pin):
            raise TypeError("PWM needs a Pin")
        if pin.gpio in chip().get("input_only", ()):
            raise ValueError("pin can only be input")
        c = chip()
        if len(_pwms) >= c["pwm_channels"]:
            raise ValueError("out of PWM channels")
        self.pin = pin
        self._freq = 0
        self._duty = 0
        # every duty written (the first 64), preallocated: IRQs may write duty
        self._history = [0] * 64
        self._n = 0
        _pwms.append(self)
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def slice(self):
        if chip()["name"] == "rp2":
            return (self.pin.gpio >> 1) & 7
        return self.pin.gpio

    def freq(self, value=None):
        if value is None:
            if chip()["name"] == "rp2":
                return _slice_freq.get(self.slice(), 0)
            return self._freq
        low, high = chip()["freq"]
        if not isinstance(value, int) or value < low or value > high:
            raise ValueError("freq out of range")
        if chip()["name"] == "rp2":
            _slice_freq[self.slice()] = value
        else:
            used = set()
            for pwm in _pwms:
                if pwm is not self and pwm._freq:
                    used.add(pwm._freq)
            used.add(value)
            if len(used) > chip()["pwm_timers"]:
                raise ValueError("out of PWM timers")
        self._freq = value
        return None

    def duty_u16(self, value=None):
        if value is None:
            return self._duty
        if not isinstance(value, int) or value < 0 or value > 65535:
            raise ValueError("duty_u16 must be 0..65535")
        self._duty = value
        if self._n < 64:
            self._history[self._n] = value
            self._n += 1
        return None

    def duties(self):
        """Test helper: the duty values written so far."""
        return self._history[: self._n]

    def deinit(self):
        if self in _pwms:
            _pwms.remove(self)
        self._duty = 0


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, timer_id=-1, **kw):
        if timer_id not in chip()["timers"]:
            raise ValueError("Timer(" + str(timer_id) + ") does not exist")
        self.id = timer_id
        self.armed = False
        self.callback = None
        self.period = 0
        self.mode = Timer.PERIODIC
        self.hard = chip()["name"] == "rp2"
        self.inits = 0
        if kw:
            self.init(**kw)

    def init(self, **kw):
        allowed = chip()["timer_kw"]
        for key in kw:
            if key not in allowed:
                raise TypeError("unexpected keyword argument '" + key + "'")
        period = kw.get("period", -1)
        if not isinstance(period, int) or period < 1:
            raise ValueError("period must be a positive int of ms")
        mode = kw.get("mode", Timer.PERIODIC)
        if mode not in (Timer.ONE_SHOT, Timer.PERIODIC):
            raise ValueError("bad mode")
        self.mode = mode
        self.period = period
        self.callback = kw.get("callback")
        if "hard" in kw:
            self.hard = kw["hard"]
        self.armed = True
        self.inits += 1

    def deinit(self):
        self.armed = False

    def fire(self):
        """Test helper: the period has elapsed."""
        if not self.armed:
            raise RuntimeError("Timer(" + str(self.id) + ") is not armed")
        if self.mode == Timer.ONE_SHOT:
            self.armed = False
        if self.callback is None:
            return
        if self.hard:
            micropython.heap_lock()
            try:
                self.callback(self)
            finally:
                micropython.heap_unlock()
        else:
            self.callback(self)


import machine_buses  # noqa: E402 (after Pin: the buses use it)

SPI = machine_buses.SPI
I2C = machine_buses.I2C
ADC = machine_buses.ADC
