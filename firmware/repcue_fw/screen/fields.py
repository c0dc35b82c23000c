# What the screen shows, written as ASCII codes into preallocated bytearrays (no string is
# built: a frame allocates nothing). Each put_* writes at pos and returns the position after.
from repcue_fw.screen.paint import COLON


def put(buf, pos, text):
    for i in range(len(text)):
        buf[pos + i] = text[i]
    return pos + len(text)


def put_int(buf, pos, n):
    if n < 0:
        buf[pos] = 45  # "-"
        pos += 1
        n = -n
    div = 1
    while div * 10 <= n:
        div *= 10
    while div:
        buf[pos] = 48 + n // div % 10
        pos += 1
        div //= 10
    return pos


def put_mss(buf, pos, secs):
    """m:ss (any number of minutes)."""
    pos = put_int(buf, pos, secs // 60)
    buf[pos] = 58  # ":"
    buf[pos + 1] = 48 + secs % 60 // 10
    buf[pos + 2] = 48 + secs % 10
    return pos + 3


def clock_digits(dg, secs):
    """The big countdown as digit values in dg: m:ss, mm:ss, or h:mm from an hour on.
    Returns how many."""
    if secs >= 3600:
        hi = secs // 3600
        lo = secs // 60 % 60
    else:
        hi = secs // 60
        lo = secs % 60
    n = 0
    if hi >= 10:
        dg[0] = hi // 10 % 10
        n = 1
    dg[n] = hi % 10
    dg[n + 1] = COLON
    dg[n + 2] = lo // 10
    dg[n + 3] = lo % 10
    return n + 4


# Every character the screen draws: each is interned once (intern()), so chr() of it
# later finds the string instead of making one.
CHARSET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 :/+-%?."


def intern():
    for c in CHARSET:
        chr(c)


def copy_name(dst, data, start, end):
    """The program's name (data[start:end], UTF-8) in dst, upper case, in CHARSET ('?' for
    what is not)."""
    n = end - start
    if n > len(dst):
        n = len(dst)
    for i in range(n):
        b = data[start + i]
        if 97 <= b <= 122:
            b -= 32
        dst[i] = b if b in CHARSET else 63
    return n
