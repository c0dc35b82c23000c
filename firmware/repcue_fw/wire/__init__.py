# The one source of the wire format, shared by the firmware and the host.
# MicroPython subset: no typing, no dataclasses, no f-strings.


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
