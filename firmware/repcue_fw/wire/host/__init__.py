# The CPython side of the wire format: what only a host (or a test) needs beside the
# modules a board runs (wire/*.py). Never copied to a board.
from repcue_fw.wire import WireError


def check_range(value, low, high, field):
    """Raise WireError naming `field` unless value is an int in low..high (the encoders'
    range checks: a bad value never reaches a device)."""
    if not isinstance(value, int) or value < low or value > high:
        raise WireError(
            field + " must be " + str(low) + ".." + str(high) + ", got " + repr(value), -1, field
        )
