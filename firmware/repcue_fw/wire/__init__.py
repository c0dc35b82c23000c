# The one source of the wire format, shared by the firmware and the host: frame, opcodes,
# program, records, varint, events, air (BLE) are what a board runs; host/ adds what only
# a host needs. MicroPython subset: no typing, no dataclasses, no f-strings.
#
# A constant only its own module uses on a board is private (`_X = const(...)`): MicroPython
# inlines it and keeps nothing, where a public const() stays in the module's globals, some
# 40 bytes of RAM each (bench/heap.py). wire/host/ gives such constants their host names.


class WireError(ValueError):
    """Bytes that do not decode, or values that cannot be encoded.

    `offset` is the byte offset into the input where decoding failed (-1 when encoding);
    `field` names the value that was wrong.
    """

    def __init__(self, message, offset=-1, field=""):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.field = field


def device_name(device_id):
    """The name a device goes by (HELLO, advertising) unless its config names it: repcue-
    and the last two bytes of its id in hex (device_id: raw bytes)."""
    return "repcue-" + "".join("%02x" % b for b in device_id[-2:])
