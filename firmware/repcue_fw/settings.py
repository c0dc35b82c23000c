# The device's settings (cue strength, countdown, button map), kept on flash beside the
# journal ("<root>/cfg", JSON). App calls these through app._settings(), which loads this
# module for the one call and drops it again: the settings are read at boot and touched
# only by CONFIG_GET/SET and a factory reset, so their code need not stay in the heap
# (bench/heap.py, 32-bit: see docs/hardware.md "Memory").
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import os

from repcue_fw.wire import opcodes as op

_DEFAULT_COUNTDOWN_S = const(3)


def defaults():
    return {"cue_strength": 100, "countdown_s": None, "buttons": None}


def load(app):
    """The saved settings (or the defaults) into app.settings, applied to the board."""
    import json

    app.settings = defaults()
    try:
        with open(app.journal.root + "/cfg") as f:
            saved = json.load(f)
    except (OSError, ValueError):
        saved = {}
    for key in ("cue_strength", "countdown_s", "buttons"):
        if key in saved:
            app.settings[key] = saved[key]
    flat = app.settings["buttons"]
    decoder = getattr(app.board, "decoder", None)
    if flat and decoder is not None and len(flat) == 3 * len(decoder.mapping):
        _set_mapping(decoder, flat)
    _apply(app)


def get(app):
    s = app.settings
    countdown = s["countdown_s"]
    decoder = getattr(app.board, "decoder", None)
    flat = bytearray()
    if decoder is not None:
        for gestures in decoder.mapping:
            for logical in gestures:
                flat.append(logical)
    return {
        "cue_strength": s["cue_strength"],
        "countdown_s": _DEFAULT_COUNTDOWN_S if countdown is None else countdown,
        "buttons": bytes(flat),
    }


def put(app, changes):
    """Apply and save `changes`; -> the whole config."""
    if "buttons" in changes:
        flat = changes["buttons"]
        decoder = getattr(app.board, "decoder", None)
        if decoder is None or len(flat) != 3 * len(decoder.mapping):
            raise op.StatusError(op.ST_BAD_REQUEST, "button map needs 3 codes per button", 3)
        _set_mapping(decoder, flat)
        app.settings["buttons"] = list(flat)
    for key in ("cue_strength", "countdown_s"):
        if key in changes:
            app.settings[key] = changes[key]
    _apply(app)
    import json

    path = app.journal.root + "/cfg"
    with open(path + ".new", "w") as f:
        json.dump(app.settings, f)
    os.rename(path + ".new", path)  # littlefs rename: old or new, never half
    return get(app)


def reset(app):
    """Forget the saved settings: the defaults, the board's own button map."""
    try:
        os.remove(app.journal.root + "/cfg")
    except OSError:
        pass  # none saved
    app.settings = defaults()
    decoder = getattr(app.board, "decoder", None)
    if decoder is not None and app._default_mapping is not None:
        decoder.set_mapping(app._default_mapping)
    _apply(app)


def _set_mapping(decoder, flat):
    # 3 logical codes (short, double, long press) per physical button
    decoder.set_mapping(tuple(tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)))


def _apply(app):
    set_strength = getattr(app.board, "set_cue_strength", None)
    if set_strength is not None:
        set_strength(app.settings["cue_strength"])
