# One region of the screen into the current band (Painter.begin has set which rows it
# holds), from the values in scr.cur. Text goes through scr.txt, a preallocated bytearray.
from repcue_fw.screen import layout as L
from repcue_fw.screen import state as S
from repcue_fw.screen.fields import clock_digits, put, put_int, put_mss
from repcue_fw.wire import program as wp
from repcue_fw.wire import records

_PAUSED = b"PAUSED"
_READY = b"READY"
_FINISHED = b"FINISHED"
_STOPPED = b"STOPPED"
_REP = b"REP "
_STEP = b"STEP "
_NO_PROGRAM = b"NO PROGRAM"
_TO_SYNC = b" TO SYNC"
_SYNCED = b"ALL SYNCED"
_BAT = b"BAT "
_GHOST = b"GHOST "
_PER_KM = b"/KM"
_RPE = b"RPE "
_ZONE = b"ZONE "
# the effort targets' words (wire/host/program.py EFFORT_NAMES, which a board does not load)
_EFFORTS = (b"", b"ALL OUT", b"HARD", b"STEADY", b"EASY", b"FLOAT", b"JOG", b"WALK")


def region(scr, r, y):
    """Draw region r (its top at screen row y) into the band."""
    cur = scr.cur
    st = cur[S.V_ST]
    if r == L.R_KIND:
        _kind(scr, cur, st, y)
    elif r == L.R_REP:
        _rep(scr, cur, st, y)
    elif r == L.R_TIME:
        _time(scr, cur, st, y)
    elif r == L.R_PACE:
        if scr.lay.ghost_region == L.R_PACE and cur[S.V_GHOST] != S.NO_GHOST:
            _ghost(scr, cur, y)
        else:
            _pace(scr, cur, st, y)
    elif r == L.R_GHOST:
        if st == S.ST_IDLE:
            txt = scr.txt
            n = put(txt, 0, _BAT)
            bat = cur[S.V_BAT]
            if bat < 0:
                n = put(txt, n, b"--")
            else:
                n = put_int(txt, n, bat)
                txt[n] = 37  # "%"
                n += 1
            _centre(scr, n, y, scr.lay.scales[r], scr.col[L.C_DIM])
        elif cur[S.V_GHOST] != S.NO_GHOST:
            _ghost(scr, cur, y)


def _centre(scr, n, y, s, c):
    # text of n chars from scr.txt, centred; scale s, or smaller if it does not fit
    w = scr.lay.w
    while s > 1 and n * 8 * s > w:
        s -= 1
    if n * 8 * s > w:
        n = w // 8
    scr.p.text(scr.txt, n, (w - n * 8 * s) // 2, y, s, c)


def _kind(scr, cur, st, y):
    col = scr.col
    if st == S.ST_IDLE:
        word = _READY
        c = col[L.C_TEXT]
    elif st == S.ST_DONE:
        word = _FINISHED if cur[S.V_KIND] == records.END_FINISHED else _STOPPED
        c = col[L.C_DONE]
    elif st == S.ST_PAUSED:
        word = _PAUSED
        c = col[L.C_PAUSED]
    else:
        k = cur[S.V_KIND]
        word = L.KIND_WORDS[k]
        c = col[L.KIND_COLOURS[k]]
    h = scr.lay.hs[L.R_KIND]
    s = scr.lay.scales[L.R_KIND]
    if st == S.ST_RUN and not scr.lay.small:
        # a band of the kind's colour behind the word: readable at a glance
        scr.p.rect(0, y, scr.lay.w, h - 4, c)
        c = col[L.C_BG]
    n = put(scr.txt, 0, word)
    _centre(scr, n, y + (h - 8 * s) // 2, s, c)


def _rep(scr, cur, st, y):
    txt = scr.txt
    s = scr.lay.scales[L.R_REP]
    if st == S.ST_IDLE:
        n = scr.name_n
        if n:
            name = scr.name
            for i in range(n):
                txt[i] = name[i]
        else:
            n = put(txt, 0, _NO_PROGRAM)
        _centre(scr, n, y + 4 * (s - 1), s, scr.col[L.C_TEXT])
        return
    if st == S.ST_DONE:
        return
    n = put(txt, 0, _REP if cur[S.V_REPK] else _STEP)
    n = put_int(txt, n, cur[S.V_REPI])
    txt[n] = 47  # "/"
    n = put_int(txt, n + 1, cur[S.V_REPN])
    _centre(scr, n, y + 4 * (s - 1), s, scr.col[L.C_TEXT])


def _time(scr, cur, st, y):
    lay = scr.lay
    if st == S.ST_IDLE:
        _battery(scr, cur[S.V_BAT], y)
        return
    dg = scr.dg
    n = clock_digits(dg, cur[S.V_SECS])
    dh = lay.digit_h
    dw = dh // 2
    p = scr.p
    while dw > 4 and p.digits_width(dg, n, dw) > lay.w - 4:
        dw -= 1
    c = scr.col[L.C_TEXT if st == S.ST_RUN else L.C_DIM]
    x = (lay.w - p.digits_width(dg, n, dw)) // 2
    p.digits(dg, n, x, y + (lay.hs[L.R_TIME] - dh) // 2, dw, dh, c)


def _battery(scr, pct, y):
    # a battery outline, filled to its charge
    lay = scr.lay
    h = lay.hs[L.R_TIME] // 2
    w = h * 2
    x = (lay.w - w) // 2
    y += (lay.hs[L.R_TIME] - h) // 2
    c = scr.col[L.C_DIM]
    p = scr.p
    t = 2
    p.rect(x, y, w, t, c)
    p.rect(x, y + h - t, w, t, c)
    p.rect(x, y, t, h, c)
    p.rect(x + w - t, y, t, h, c)
    p.rect(x + w, y + h // 3, t + 1, h - 2 * (h // 3), c)
    if pct > 0:
        fill = scr.col[L.C_RECOVERY if pct > 20 else L.C_WORK]
        p.rect(x + 2 * t, y + 2 * t, (w - 4 * t) * pct // 100, h - 4 * t, fill)


def _pace(scr, cur, st, y):
    txt = scr.txt
    n = 0
    if st == S.ST_IDLE:
        u = cur[S.V_UNSYNC]
        if u:
            n = put_int(txt, 0, u)
            n = put(txt, n, _TO_SYNC)
        else:
            n = put(txt, 0, _SYNCED)
    elif st != S.ST_DONE:
        tt = cur[S.V_TT]
        tv = cur[S.V_TV]
        if tt == wp.TARGET_PACE and tv > 0:
            n = put_mss(txt, 0, (tv + 5) // 10)
            n = put(txt, n, _PER_KM)
        elif tt == wp.TARGET_RPE:
            n = put_int(txt, put(txt, 0, _RPE), tv)
        elif tt == wp.TARGET_HR_ZONE:
            n = put_int(txt, put(txt, 0, _ZONE), tv)
        elif tt == wp.TARGET_EFFORT and 0 < tv < len(_EFFORTS):
            n = put(txt, 0, _EFFORTS[tv])
    if n:
        _centre(scr, n, y, scr.lay.scales[L.R_PACE], scr.col[L.C_TEXT])


def _ghost(scr, cur, y):
    txt = scr.txt
    g = cur[S.V_GHOST]
    n = put(txt, 0, _GHOST)
    if g >= 0:
        n = put_int(txt, n, g)
        txt[n] = 77  # "M"
        n += 1
    else:
        txt[n] = 43  # "+": the ghost has finished, this far ahead
        n = put_mss(txt, n + 1, -1 - g)
    _centre(scr, n, y, scr.lay.scales[L.R_GHOST], scr.col[L.C_EASY])
