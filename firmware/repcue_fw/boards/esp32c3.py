# ESP32-C3 track buzzer (e.g. an ESP32-C3 SuperMini). Wiring: docs/hardware.md.
#
#   GPIO5  PWM -> 1 kOhm -> NPN / logic MOSFET gate; ERM vibration motor to 3V3 with a
#          flyback diode across it
#   GPIO6  PWM -> passive piezo (through 100 Ohm)
#   GPIO4  button A to GND (internal pull-up): lap, reported on the press itself
#   GPIO9  the on-board BOOT button, button B: start or pause-resume / double: skip /
#          hold 0.8 s: stop and save
#          (GPIO9 is a strapping pin: held at reset it enters the ROM bootloader, so the
#          safe-mode button is A)
# Not run on hardware yet: tested against the machine stand-in in device/repcue_device/machine.py.
from repcue_fw.boards.buttons import TWO_BUTTONS
from repcue_fw.boards.hw import HwBoard


class Board(HwBoard):
    name = "esp32c3"
    ble_connections = 4  # NimBLE as MicroPython builds it (CONFIG_BT_NIMBLE_MAX_CONNECTIONS)
    PROFILE = {
        "motor": (5, 20000, 52428),  # 20 kHz: above hearing; 80 % duty
        "buzzer": (6, 2700, 32768),  # piezo near resonance, square wave
        "buttons": (4, 9),
        "mapping": TWO_BUTTONS,
        "timer_id": 0,
        "timer_kw": None,
        "storage": "/data",
    }
