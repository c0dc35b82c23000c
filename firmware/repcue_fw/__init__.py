# repcue firmware. Runs unchanged on MicroPython boards, in the unix port, and (the wire
# package only) under CPython on the host.

import sys


def unload(package, name):
    """Forget the module package.name, loaded for one job, so its code and objects are freed
    once nothing uses them (the next import loads it again)."""
    full = package + "." + name
    if full in sys.modules:
        del sys.modules[full]
        parent = sys.modules.get(package)
        if parent is not None and name in parent.__dict__:
            del parent.__dict__[name]
