# Raspberry Pi Pico W track buzzer. Wiring: docs/hardware.md.
#
#   GP15  PWM (slice 7B) -> 1 kOhm -> NPN / logic MOSFET gate; ERM vibration motor to 3V3
#         (VSYS for a 5 V motor) with a flyback diode across it
#   GP16  PWM (slice 0A) -> passive piezo (through 100 Ohm); a different slice from the
#         motor, since the two channels of a slice share one frequency
#   GP14  button A to GND (internal pull-up): lap, reported on the press itself
#   GP13  button B to GND: start or pause-resume / double: skip / hold 0.8 s: stop
#         and save
# GP23-25 and GP29 belong to the wireless chip on a Pico W: not used.
# Not run on hardware yet: tested against the machine stand-in in device/repcue_device/machine.py.
from repcue_fw.boards.buttons import TWO_BUTTONS
from repcue_fw.boards.hw import HwBoard


class Board(HwBoard):
    name = "picow"
    ble_connections = 1  # btstack as MicroPython builds it (MAX_NR_HCI_CONNECTIONS 1)
    PROFILE = {
        "motor": (15, 20000, 52428),
        "buzzer": (16, 2700, 32768),
        "buttons": (14, 13),
        "mapping": TWO_BUTTONS,
        "timer_id": -1,  # rp2 timers are virtual: id -1
        "timer_kw": {"hard": False},  # scheduled callback, not a hard IRQ
        "storage": "/data",
    }
