# Pairing over the USB cable: the app's PAIR and UNPAIR services, with the optional
# "press a button to accept" of boards configured with "pair_confirm". Loaded only when a
# host pairs or a pairing waits for its press: a device that never pairs keeps the RAM.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw import cues
from repcue_fw.wire.events import CUE_PAIR

_CONFIRM_MS = const(30000)  # how long a PAIR waits for the press


def key_store(app):
    from repcue_fw.link.ble.keys import KeyStore

    return KeyStore(app.journal.root, app.board.storage_blocks())


def pair(app, key):
    """Store the key; with "pair_confirm" in the board's config only once somebody pressed
    a button on the device after this key was first offered (the host offers it again
    until then: False means still waiting)."""
    if app.board.config.get("pair_confirm") and not _accepted(app, key):
        return False
    app.pair_pending = None
    key_store(app).save(key)
    if app.ble is not None:
        app.ble.reload_key()  # a central holding the old key is dropped
    return True


def _accepted(app, key):
    board = app.board
    pending = app.pair_pending
    now = board.ticks_ms()
    if pending is None or pending[0] != key or board.ticks_diff(now, pending[1]) > _CONFIRM_MS:
        app.pair_pending = [bytes(key), now, False]
        board.cue(CUE_PAIR, cues.pattern(CUE_PAIR))
        return False
    return pending[2]


def accept(app):
    """A button press while a PAIR waits: accept it (True: the runner never sees that
    press); False once the wait is over."""
    pending = app.pair_pending
    if app.board.ticks_diff(app.board.ticks_ms(), pending[1]) > _CONFIRM_MS:
        app.pair_pending = None
        return False
    pending[2] = True
    return True


def unpair(app):
    """Forget the key (scrubbed from the flash, see link/ble/keys.py); True if one was
    held."""
    keys = key_store(app)
    held = keys.load() is not None
    keys.clear()
    if app.ble is not None:
        app.ble.reload_key()
    return held
