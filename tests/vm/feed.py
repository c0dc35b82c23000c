"""Feeding a Dispatcher whole byte strings, for tests (the firmware's dispatcher takes one
frame at a time from a link's buffer and allocates nothing). Importable inside the
MicroPython VM (tests/mpy.py puts tests/vm on its path) and from CPython."""


def feed(dispatcher, data):
    """All of data in; the list of responses (bytes) out."""
    data = bytes(data)
    out = []
    pos = 0
    while pos < len(data):
        pos = dispatcher.receive(data, pos, len(data))
        if dispatcher.response is not None:
            out.append(bytes(dispatcher.response))
    return out
