# Where each part of the screen goes, for a panel's size, and the colours. Regions are full
# width horizontal strips whose top and height are multiples of 8 (a MONO_VLSB page, and a
# band never straddles two regions), redrawn one at a time when what they show changed.
#
#   colour portrait panels (135x240, 240x240): kind word / rep i/n / big countdown / target
#   pace / ghost line, each on its own strip
#   small panels (the SSD1306's 128x64): the same strips squeezed; the ghost line shares the
#   bottom strip with the pace (the ghost, when there is one, says more than the pace)
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


R_KIND = const(0)
R_REP = const(1)
R_TIME = const(2)
R_PACE = const(3)
R_GHOST = const(4)
N_REGIONS = const(5)

# colours as (r, g, b); Screen turns them into the panel's values once
C_BG = const(0)
C_TEXT = const(1)
C_DIM = const(2)
C_WORK = const(3)
C_RECOVERY = const(4)
C_REST = const(5)
C_EASY = const(6)  # warm-up and cool-down
C_PAUSED = const(7)
C_DONE = const(8)
RGB = (
    (0, 0, 0),
    (255, 255, 255),
    (130, 130, 130),
    (255, 72, 0),  # work: red-orange
    (0, 200, 80),  # recovery: green
    (0, 170, 170),  # rest: teal
    (60, 140, 255),  # warm-up, cool-down: blue
    (255, 210, 0),  # paused: yellow
    (255, 255, 255),
)
# the word and colour of each step kind (wire.program KIND_*: warm-up, work, recovery, rest,
# cool-down)
KIND_WORDS = (b"WARM-UP", b"WORK", b"RECOVERY", b"REST", b"COOLDOWN")
KIND_COLOURS = (C_EASY, C_WORK, C_RECOVERY, C_REST, C_EASY)


class Layout:
    """Region tops and heights (ys, hs), the text scale of each region (scales), the
    countdown's digit height and the kind word's scale, for a w x h panel."""

    def __init__(self, w, h):
        self.w = w
        self.h = h
        small = h < 128
        self.small = small
        if small:
            # 128x64: kind 16 px, rep 8, digits 32, pace-or-ghost 8
            self.ys = [0, 16, 24, 56, 56]
            self.hs = [16, 8, 32, 8, 0]
            self.scales = [2, 1, 0, 1, 1]
            self.digit_h = 30
            self.ghost_region = R_PACE
            return
        big = 3 if w >= 192 else 2
        word_h = 8 * big + 16
        digit_h = (w * 4 // 9) & ~7  # 135 -> 56, 240 -> 104
        if digit_h > h // 2:
            digit_h = (h // 2) & ~7
        ys = [0, word_h, word_h + 32, 0, 0]
        ys[R_PACE] = ys[R_TIME] + digit_h + 16
        ys[R_GHOST] = ys[R_PACE] + 24
        self.ys = ys
        self.hs = [word_h, 32, digit_h + 16, 24, 24]
        if ys[R_GHOST] + 24 > h:  # a short panel: no ghost strip, it shares the pace's
            self.hs[R_GHOST] = 0
            self.ghost_region = R_PACE
        else:
            self.ghost_region = R_GHOST
        self.scales = [big, 2, 0, 2, 2]
        self.digit_h = digit_h
