"""Stand-ins for what MicroPython's unix port lacks, so the real firmware runs in it: the
`bluetooth` module (bridged into a Bumble peripheral on the virtual radio) and `machine`
(pins, PWM, timers, modelling the boards' limits). They are MicroPython modules: this
directory goes on the firmware's MICROPYPATH (STAND_INS); CPython never imports them.
Shipped in the wheel, so an installed repcue runs the virtual device as a checkout does."""

from pathlib import Path

STAND_INS = Path(__file__).resolve().parent
