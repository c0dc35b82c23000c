# A real board built from machine.Pin / PWM / Timer, driven by a PROFILE (pins, PWM
# frequencies, button mapping). esp32c3.py and picow.py only declare their profile.
#
# Buttons: each pin's IRQ (both edges) only notes the time of the first edge and sets a
# ThreadSafeFlag; a task samples the pin DEBOUNCE_MS later and feeds real level changes to
# the gesture decoder. Cues: PatternPlayer on a one-shot Timer. Storage: the board's own
# littlefs root (MicroPython formats it on first boot), in a data directory.
#
# Sleep between sessions (repcue_fw/idle.py decides when): light sleep where a button can
# end it, i.e. the ESP32 family's EXT0 wake-up on an RTC GPIO (esp32.wake_on_ext0, one
# button: the profile's "wake_button", by default the second, B, or a board's one button; on
# the T-Watch S3 the touch panel's INT line). Light sleep stops the CPU and
# the event loop and powers the radio down, so it is skipped when BLE is on (a central could
# not connect) and where the port offers no button wake-up for it (rp2: lightsleep(ms) ends
# on its timer only; an ESP32-C3 build without wake_on_ext0): those boards idle awake, in
# the port's own wait-for-interrupt. USB bytes do not wake a light-sleeping ESP32 under
# MicroPython (no UART wake-up is exposed; a USB-Serial-JTAG port drops off the bus): a
# host reaches a sleeping board after a button press. After DEEP_AFTER_MS of quiet the same
# boards go into deep sleep (the button boots them again; the wall clock waits in the RTC's
# memory). docs/hardware.md, "Power".
#
# Naps (config "naps", default the board's NAPS: the wearables' True): light sleep inside
# asyncio's own wait, for as long as the scheduler would have waited anyway (its next task's
# deadline: every task's timers are kept), also during a session. Only while no cue plays
# (PWM and the pattern timer stop in light sleep), the screen is dark (board.screen_lit),
# nothing came in for _NAP_QUIET_MS and BLE is off; EXT1 then wakes on the first button too
# (a lap press during a nap). A third button wakes neither (the ESP32's EXT1 only wakes on
# ALL its pins low): the M5StickC Plus2's power button maps to nothing for that reason.
#
# Glances (config "glance_ms", default the board's GLANCE_MS; repcue_fw/idle.py): the
# board's GLANCE_BUTTON lights the screen when a gesture of it begins, and on a dark screen
# that is all the gesture does (the T-Watch's first touch, the Plus2's first press of B).
import asyncio
import time

import machine

from repcue_fw.boards import buttons as _buttons
from repcue_fw.boards.base import WAKE_BUTTON, WAKE_TIMER, BoardBase
from repcue_fw.boards.pattern import PatternPlayer, PwmOutput

_SCAN_MS = 10  # poll period while a gesture is in progress (idle: wait for an IRQ)
_PARTS = ("hold", "i2c", "pmu", "display", "haptics", "battery", "touch")
_NAP_MIN_MS = 20  # a shorter wait is not worth a light sleep's entry and exit
_NAP_QUIET_MS = 2000  # no naps this long after a press or link bytes


class HwBoard(BoardBase):
    # Subclasses set PROFILE, a dict with:
    #   motor, buzzer: (gpio, freq_hz, duty_u16) or None
    #   buttons: tuple of gpio numbers (active low, internal pull-up)
    #   mapping: one (short, double, long) logical-button tuple per button
    #   timer_id: machine.Timer id for the pattern player; timer_kw: extra Timer.init keywords
    #   storage: directory on the root filesystem for the journal
    #   pull: the buttons' pull resistor (default Pin.PULL_UP; None: the board has its own)
    #   optional parts (boards/parts.py, loaded only when a profile names one): hold, i2c,
    #   pmu, display, haptics, battery, touch
    #   wake_button: the button EXT0 wakes the chip on (see the header)
    # Power defaults (docs/hardware.md, "Power"): NAPS, GLANCE_MS, GLANCE_BUTTON.
    # The config file (/repcue.json) may override motor, buzzer, buttons, mapping, i2c and
    # display, and set "naps" and "glance_ms", e.g. a one-button build: {"buttons": [4], "mapping":
    # [[3, 2, 5]]}, an SSD1306 on a DIY board: {"i2c": [[0, 7, 8, 400000]], "display":
    # {"driver": "ssd1306", "i2c": 0}}, a wearable's screen lit all session: {"glance_ms": 0,
    # "naps": false}; and "sleep_after_ms", "deep_after_ms" (0: never).
    PROFILE = None
    haptics = None  # a DRV2605 driver when the board has one
    battery = None  # an object with battery_pct(); parts.py binds board.battery_pct to it
    hold = None  # the power-hold output pin
    SLEEP_AFTER_MS = 60000  # light sleep after a minute with nothing to do
    DEEP_AFTER_MS = 900000  # deep sleep after a quarter of an hour
    NAPS = False
    GLANCE_BUTTON = -1  # the button whose press lights the screen (-1: none)

    def __init__(self, config=None):
        BoardBase.__init__(self, config)
        profile = dict(self.PROFILE)
        for key in ("motor", "buzzer", "buttons", "mapping", "i2c", "display"):
            if key in self.config:
                profile[key] = self.config[key]
        self.profile = profile
        Pin = machine.Pin
        extra = []
        for key in _PARTS:
            if key in profile:
                from repcue_fw.boards import parts

                extra = parts.build(self, profile)  # the power-hold pin first of all
                break
        outputs = []
        self.motor = self._pwm_output(profile.get("motor"))
        self.buzzer = self._pwm_output(profile.get("buzzer"))
        for out in (self.motor, self.buzzer):
            if out is not None:
                outputs.append(out)
        self.player = None
        if outputs:
            timer = machine.Timer(profile["timer_id"])
            kw = profile.get("timer_kw")
            self.player = PatternPlayer(outputs, timer, machine.Timer.ONE_SHOT, kw)
        pull = profile.get("pull", Pin.PULL_UP)
        self._pins = [Pin(p, Pin.IN, pull) for p in profile["buttons"]] + extra
        n = len(self._pins)
        if len(profile["mapping"]) != n:
            raise ValueError("the button mapping needs one (short, double, long) per button")
        mapping = tuple(tuple(gestures) for gestures in profile["mapping"])
        self.decoder = _buttons.ButtonDecoder(mapping, self, self.buttons.push)
        self._pressed = bytearray(n)
        self._edge_ticks = [0] * n
        # per button, 1: an edge not yet sampled (one byte each, so the IRQ and the task
        # never read-modify-write the same value)
        self._pending = bytearray(n)
        self._flag = asyncio.ThreadSafeFlag()
        self._irq_handlers = [self._make_irq(i) for i in range(n)]
        self._task = None
        # a lit screen forbids naps; a panel starts lit, repcue_fw/idle.py keeps this after
        self.screen_lit = self.display is not None
        self.naps = 0
        self._napped = False

    def _pwm_output(self, spec):
        if spec is None:
            return None
        gpio, freq, duty = spec
        return PwmOutput(machine.PWM(machine.Pin(gpio)), freq, duty)

    def _make_irq(self, i):
        # A closure over only `self` and `i`: MicroPython calls a closure with more than
        # 5 captured values + arguments through a heap-allocated array, which an IRQ must
        # not do.
        def handler(_pin):
            # IRQ context: no allocation; note the first edge and wake the scanner
            if not self._pending[i]:
                self._edge_ticks[i] = time.ticks_ms()
                self._pending[i] = 1
            self._flag.set()

        return handler

    def start(self):
        Pin = machine.Pin
        for i in range(len(self._pins)):
            self._pressed[i] = 1 if self._pins[i].value() == 0 else 0
            self._pins[i].irq(
                trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING, handler=self._irq_handlers[i]
            )
        self._task = asyncio.create_task(self._scan())
        if self.config.get("naps", self.NAPS) and self._arm_wake():
            self._install_naps()

    def stop(self):
        for pin in self._pins:
            pin.irq(handler=None)
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.player is not None:
            self.player.stop()
        if self.haptics is not None:
            self.haptics.stop()

    def sample(self, now):
        """Sample buttons whose debounce time is over; feed changes and timeouts to the
        decoder. Returns True while anything is still pending."""
        debounce = _buttons.DEBOUNCE_MS
        pending = self._pending
        busy = False
        for i in range(len(self._pins)):
            if not pending[i]:
                continue
            t = self._edge_ticks[i]
            if time.ticks_diff(now, t) < debounce:
                busy = True
                continue
            pending[i] = 0  # before reading the level: a later edge re-arms the sample
            pressed = 1 if self._pins[i].value() == 0 else 0
            if pressed != self._pressed[i]:
                self._pressed[i] = pressed
                decoder = self.decoder
                if pressed and i == self.GLANCE_BUTTON and not decoder._stage[i]:
                    # a gesture of the glance button begins: it lights the screen, and on
                    # a dark one that is all it does (docs/hardware.md, "Power")
                    light = self.lighter
                    decoder.mute = i if light is not None and not self.screen_lit else -1
                    if light is not None:
                        light()
                decoder.edge(i, pressed, t)
                self.wake(WAKE_BUTTON)  # a press keeps the board awake (repcue_fw/idle.py)
        self.decoder.poll(now)
        return busy or self.decoder.busy()

    async def _scan(self):
        busy = False
        while True:
            if busy:
                await asyncio.sleep_ms(_SCAN_MS)
            else:
                await self._flag.wait()
            busy = self.sample(time.ticks_ms())

    # -- sleep between sessions --------------------------------------------------------------
    async def idle_sleep(self, ms):
        if not self._arm_wake():
            return await BoardBase.idle_sleep(self, ms)  # awake: asyncio's own wait
        machine.lightsleep(ms)  # everything stops here until the button or the timer
        return self._after_sleep()

    def deep_sleep(self, wall_ms):
        if not self._arm_wake():
            return False
        import struct

        # the wall clock beside the RTC's own time, both ms: the RTC counts on in deep sleep
        machine.RTC().memory(struct.pack("<qq", wall_ms, time.time_ns() // 1000000))
        self.stop()  # outputs off, IRQs released
        if self.hold is not None:  # the M5StickC Plus2 powers off unless G4 stays high
            self.hold.init(value=1, hold=True)
        machine.deepsleep()  # a press of the wake button boots the board again
        return False

    def resume_wall_ms(self):
        if machine.reset_cause() != machine.DEEPSLEEP_RESET:
            return 0
        import struct

        saved = machine.RTC().memory()
        if len(saved) != 16:
            return 0
        wall_ms, at_ms = struct.unpack("<qq", saved)
        if not wall_ms:
            return 0  # the clock had not been set
        return wall_ms + time.time_ns() // 1000000 - at_ms

    def _install_naps(self):
        from asyncio import core

        queue = core._io_queue
        wait = queue.wait_io_event

        def wait_io_event(dt):  # dt: ms to the next task's deadline, -1: none
            if self._napped:
                self._napped = False  # the rest of the wait after a nap: awake
            elif dt > _NAP_MIN_MS and self._may_nap():
                # wake ahead: the RTC slow clock timing a light sleep is an RC oscillator
                # that may be off by a percent or more; the last bit is waited awake
                self._napped = True
                self.naps += 1
                machine.lightsleep(dt - (dt >> 5) - 2)
                self._after_sleep()
                dt = 0  # the loop reads the clock again and waits out the rest
            wait(dt)

        queue.wait_io_event = wait_io_event

    def _may_nap(self):
        player = self.player
        if self.screen_lit or (player is not None and player.playing):
            return False
        return time.ticks_diff(time.ticks_ms(), self.touched_ticks) >= _NAP_QUIET_MS

    def _arm_wake(self):
        if self.config.get("ble"):
            return False  # light sleep powers the radio down: no central could connect
        try:
            import esp32

            i = self.profile.get("wake_button", 1 if len(self._pins) > 1 else 0)
            pin = self._pins[i]
            pin = getattr(pin, "wake_pin", pin)  # a touch panel: its INT line
            esp32.wake_on_ext0(pin=pin, level=esp32.WAKEUP_ALL_LOW)
            # EXT1 on one pin: "all low" is its press
            if self.config.get("naps", self.NAPS) and i != 0:
                esp32.wake_on_ext1(pins=(self._pins[0],), level=esp32.WAKEUP_ALL_LOW)
        except (ImportError, AttributeError, ValueError):
            return False  # no button wake-up for light sleep on this port or pin
        return True

    def _after_sleep(self):
        # The press that ended the sleep came while the loop was stopped: whether or not
        # its edge IRQ ran, hand every changed level to the scanner, timed now.
        now = time.ticks_ms()
        pressed_any = False
        for i in range(len(self._pins)):
            pressed = 1 if self._pins[i].value() == 0 else 0
            if pressed != self._pressed[i] or self._pending[i]:
                if not self._pending[i]:
                    self._edge_ticks[i] = now
                    self._pending[i] = 1
                pressed_any = True
        if not pressed_any:
            return WAKE_TIMER
        self._flag.set()
        self.wake(WAKE_BUTTON)
        return WAKE_BUTTON

    def cue(self, cue_id, pattern):
        if self.haptics is not None:
            self.haptics.cue(cue_id)
        if self.player is not None:
            self.player.play(pattern)

    def set_cue_strength(self, percent):
        """0-100: the motor's duty scales with it; 0 also silences the piezo."""
        if percent < 0 or percent > 100:
            raise ValueError("cue strength must be 0..100")
        if self.motor is not None:
            self.motor.set_level(self.profile["motor"][2] * percent // 100)
            self.motor.enabled = percent > 0
        if self.buzzer is not None:
            self.buzzer.enabled = percent > 0
        if self.haptics is not None:
            self.haptics.enabled = percent > 0

    def safe_mode(self):
        # First button held at power-up: skip the app and leave the REPL on the port.
        return self._pins[0].value() == 0

    def factory_reset_requested(self):
        # The first two buttons held at power-up (A and B; a third, the M5StickC Plus2's
        # power button, turns the board off when held): the app deletes the BLE pairing key
        # and the settings, then starts as usual. A one-button build has no combination
        # (its one button held is safe mode).
        pins = self._pins
        if len(pins) < 2:
            return False
        return pins[0].value() == 0 and pins[1].value() == 0

    def unique_id(self):
        return machine.unique_id()

    def storage_blocks(self):
        # the littlefs partition MicroPython mounts at / (esp32: "vfs", rp2: its Flash)
        try:
            import esp32

            found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label="vfs")
            return found[0] if found else None
        except ImportError:
            pass
        try:
            import rp2

            return rp2.Flash()
        except (ImportError, AttributeError):
            return None

    def mount_storage(self):
        import os

        path = self.profile.get("storage", "/data")
        try:
            os.mkdir(path)
        except OSError:
            pass  # already there
        return path
