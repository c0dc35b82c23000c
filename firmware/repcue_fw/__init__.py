# repcue firmware. Runs unchanged on MicroPython boards, in the unix port, and (the wire
# package only) under CPython on the host.
