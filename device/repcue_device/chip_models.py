# Models of the chips on the wearables' buses, for the `machine` stand-in (wire them with
# machine_buses.wire_spi / wire_i2c). Each decodes what the firmware sends the way the datasheet
# says the chip does and keeps the state a test reads back (pixels, registers, effects played);
# each refuses what the chip would not do with a ValueError naming the datasheet rule.
#
#   ST7789   Sitronix ST7789V datasheet, 9.1 (command table): SWRESET 01, SLPIN 10, SLPOUT 11,
#            INVOFF/INVON 20/21, DISPOFF/DISPON 28/29, CASET 2A, RASET 2B, RAMWR 2C,
#            MADCTL 36 (MY 80, MX 40, MV 20, BGR 08), COLMOD 3A (x5 = 16 bits/pixel).
#            240x320 frame memory; the glass shows a window of it (`glass`).
#   SSD1306  Solomon Systech SSD1306 datasheet, 8.1.5 (I2C: control byte Co/D#C) and 9
#            (command table); 128x64, GDDRAM in 8 pages of 128 column bytes, bit 0 on top.
#   DRV2605  TI DRV2605/DRV2605L datasheet, 7.6 (register map): STATUS 00 (device id in bits
#            7-5), MODE 01 (STANDBY bit 6, mode bits 2-0), LIBRARY_SEL 03, WAVESEQ1-8 04-0B
#            (bit 7 set: a wait of bits 6-0 x 10 ms), GO 0C, FEEDBACK 1A (N_ERM_LRA bit 7),
#            CONTROL3 1D (ERM_OPEN_LOOP bit 5). Resets into standby (MODE = 0x40).
#   AXP2101  X-Powers AXP2101 datasheet register list (as XPowersLib names it): STATUS1 00
#            (battery present bit 3), STATUS2 01 (bits 6-5: 01 charging, 10 discharging),
#            IC_TYPE 03, gauge enable 18 bit 3, LDO on/off 90 (ALDO1-4 bits 0-3, BLDO1-2
#            bits 4-5), LDO voltages 92-97 (0.5 V + 100 mV a step), BAT_PERCENT A4.
#   FT6336   FocalTech FT6x36 register map: TD_STATUS 02 (touch points, bits 3-0), P1_XH..
#            P1_YL 03-06, CIPHER A3, G_MODE A4 (0: INT low while touched, 1: a pulse),
#            FOCALTECH_ID A8; its INT line is wired to a GPIO (open drain, pulled up).
import machine


class RegisterChip:
    """An I2C chip with an auto-incrementing register pointer (the first byte written)."""

    def __init__(self):
        self.regs = bytearray(256)
        self.ptr = 0

    def i2c_write(self, data):
        self.ptr = data[0]
        for b in data[1:]:
            self.write_reg(self.ptr, b)
            self.ptr = (self.ptr + 1) & 0xFF

    def i2c_read(self, n):
        out = bytearray(n)
        for i in range(n):
            out[i] = self.read_reg(self.ptr)
            self.ptr = (self.ptr + 1) & 0xFF
        return out

    def write_reg(self, reg, value):
        self.regs[reg] = value

    def read_reg(self, reg):
        return self.regs[reg]


class ST7789:
    RAM_W = 240
    RAM_H = 320

    def __init__(self, glass_x, glass_y, glass_w, glass_h, upside_down=False):
        # glass: which part of the 240x320 frame memory the visible panel shows, and whether
        # the panel is mounted rotated 180 degrees (the T-Watch S3's is)
        self.glass = (glass_x, glass_y, glass_w, glass_h, upside_down)
        self.ram = bytearray(self.RAM_W * self.RAM_H * 2)
        self.commands = []  # every command byte, in order
        self.spi_modes = set()
        self._reset()

    def _reset(self):
        self.sleeping = True
        self.display_on = False
        self.inverted = False
        self.madctl = 0
        self.colmod = 0x66  # 18 bits/pixel after reset
        self.cols = (0, self.RAM_W - 1)
        self.rows = (0, self.RAM_H - 1)
        self._cmd = None
        self._args = bytearray()
        self._x = self._y = 0
        self._half = None

    def hard_reset(self):
        """The RESX line pulsed low."""
        self._reset()

    def spi_write(self, data, dc, mode):
        self.spi_modes.add(mode)
        if dc == 0:
            for c in data:
                self._command(c)
            return
        for b in data:
            self._data(b)

    def _command(self, c):
        self.commands.append(c)
        self._cmd = c
        self._args = bytearray()
        self._half = None
        if c == 0x01:
            self._reset()
        elif c == 0x10:
            self.sleeping = True
        elif c == 0x11:
            self.sleeping = False
        elif c in (0x20, 0x21):
            self.inverted = c == 0x21
        elif c in (0x28, 0x29):
            self.display_on = c == 0x29
        elif c == 0x2C:
            if self.colmod & 0x07 != 0x05:
                raise ValueError("ST7789: RAMWR of 16-bit pixels needs COLMOD x5 first")
            self._x, self._y = self.cols[0], self.rows[0]

    def _data(self, b):
        c = self._cmd
        if c == 0x2C:
            if self._half is None:
                self._half = b
                return
            self._pixel((self._half << 8) | b)
            self._half = None
            return
        self._args.append(b)
        a = self._args
        if c == 0x36 and len(a) == 1:
            self.madctl = a[0]
        elif c == 0x3A and len(a) == 1:
            self.colmod = a[0]
        elif c in (0x2A, 0x2B) and len(a) == 4:
            start, end = (a[0] << 8) | a[1], (a[2] << 8) | a[3]
            swap = bool(self.madctl & 0x20)
            limit = (self.RAM_W if (c == 0x2A) != swap else self.RAM_H) - 1
            if start > end or end > limit:
                raise ValueError("ST7789: window %d..%d outside 0..%d" % (start, end, limit))
            if c == 0x2A:
                self.cols = (start, end)
            else:
                self.rows = (start, end)

    def _pixel(self, value):
        x, y = self._x, self._y
        m = self.madctl
        if m & 0x20:  # MV: row/column exchange
            x, y = y, x
        if m & 0x40:  # MX: column address order
            x = self.RAM_W - 1 - x
        if m & 0x80:  # MY: row address order
            y = self.RAM_H - 1 - y
        i = (y * self.RAM_W + x) * 2
        self.ram[i] = value >> 8
        self.ram[i + 1] = value & 0xFF
        self._x += 1
        if self._x > self.cols[1]:
            self._x = self.cols[0]
            self._y += 1
            if self._y > self.rows[1]:
                self._y = self.rows[0]

    def seen(self, x, y):
        """The RGB565 value the wearer sees at (x, y) of the glass (upright as worn)."""
        gx, gy, gw, gh, flipped = self.glass
        if flipped:
            x, y = gw - 1 - x, gh - 1 - y
        i = ((gy + y) * self.RAM_W + gx + x) * 2
        return (self.ram[i] << 8) | self.ram[i + 1]

    def lit(self):
        return self.display_on and not self.sleeping


class SSD1306:
    # commands taking arguments, and how many
    _ARGS = {0x81: 1, 0x20: 1, 0x21: 2, 0x22: 2, 0x8D: 1, 0xA8: 1, 0xD3: 1, 0xD5: 1,
             0xD9: 1, 0xDA: 1, 0xDB: 1}  # fmt: skip

    def __init__(self):
        self.gddram = bytearray(128 * 8)
        self.display_on = False
        self.charge_pump = False
        self.seg_remap = False
        self.com_remap = False
        self.addr_mode = 2  # page addressing after reset
        self.cols = (0, 127)
        self.pages = (0, 7)
        self._col = 0
        self._page = 0
        self._pending = None
        self._args = bytearray()

    def i2c_write(self, data):
        control = data[0]
        if control & 0x3F:
            raise ValueError("SSD1306: control byte 0x%02x is not Co/D# only" % control)
        if control & 0x40:
            for b in data[1:]:
                self._ram(b)
            return
        for b in data[1:]:
            self._command(b)

    def i2c_read(self, n):
        return bytearray(n)  # status reads are not used

    def _command(self, b):
        if self._pending is not None:
            self._args.append(b)
            if len(self._args) < self._ARGS[self._pending]:
                return
            c, a = self._pending, self._args
            self._pending = None
            if c == 0x8D:
                self.charge_pump = bool(a[0] & 0x04)
            elif c == 0x20:
                self.addr_mode = a[0] & 3
            elif c == 0x21:
                self.cols = (a[0] & 127, a[1] & 127)
                self._col = self.cols[0]
            elif c == 0x22:
                self.pages = (a[0] & 7, a[1] & 7)
                self._page = self.pages[0]
            return
        if b in self._ARGS:
            self._pending = b
            self._args = bytearray()
        elif b in (0xAE, 0xAF):
            self.display_on = b == 0xAF
        elif b in (0xA0, 0xA1):
            self.seg_remap = b == 0xA1
        elif b in (0xC0, 0xC8):
            self.com_remap = b == 0xC8

    def _ram(self, b):
        if self.addr_mode != 0:
            raise ValueError("SSD1306: only horizontal addressing (20 00) is modelled")
        self.gddram[self._page * 128 + self._col] = b
        self._col += 1
        if self._col > self.cols[1]:
            self._col = self.cols[0]
            self._page += 1
            if self._page > self.pages[1]:
                self._page = self.pages[0]

    def seen(self, x, y):
        """1 when the pixel at (x, y) of the glass is lit; a module's glass is upright with
        segment remap (A1) and COM scan remap (C8), as the usual 128x64 modules are wired."""
        col = x if self.seg_remap else 127 - x
        row = y if self.com_remap else 63 - y
        return (self.gddram[(row >> 3) * 128 + col] >> (row & 7)) & 1

    def lit(self):
        return self.display_on and self.charge_pump


class DRV2605(RegisterChip):
    def __init__(self, device_id=7):
        RegisterChip.__init__(self)
        self.regs[0x00] = device_id << 5  # 7: DRV2605L, 3: DRV2605
        self.regs[0x01] = 0x40  # standby
        self.regs[0x03] = 1
        self.played = []  # (library, lra, effects) per GO
        self.refused = 0  # GO while in standby

    def write_reg(self, reg, value):
        self.regs[reg] = value
        if reg == 0x0C and value & 1:
            if self.regs[0x01] & 0x40 or self.regs[0x01] & 7 != 0:
                self.refused += 1  # standby, or not in internal-trigger mode
            else:
                seq = []
                for r in range(0x04, 0x0C):
                    if self.regs[r] == 0:
                        break
                    seq.append(self.regs[r])
                lra = bool(self.regs[0x1A] & 0x80)
                self.played.append((self.regs[0x03] & 7, lra, tuple(seq)))
            self.regs[0x0C] = 0  # GO clears when the sequence ends; no timing modelled


class AXP2101(RegisterChip):
    LDO_BITS = {"aldo1": 0, "aldo2": 1, "aldo3": 2, "aldo4": 3, "bldo1": 4, "bldo2": 5}
    LDO_VOLT_REG = {"aldo1": 0x92, "aldo2": 0x93, "aldo3": 0x94, "aldo4": 0x95,
                    "bldo1": 0x96, "bldo2": 0x97}  # fmt: skip

    def __init__(self):
        RegisterChip.__init__(self)
        self.regs[0x03] = 0x4A
        self.set_battery(100)

    def set_battery(self, pct, charging=False, present=True):
        """Test helper: what the fuel gauge and charger report."""
        self.regs[0xA4] = pct
        self.regs[0x00] = 0x08 if present else 0
        self.regs[0x01] = (0x20 if charging else 0x40) if present else 0

    def read_reg(self, reg):
        if reg == 0xA4 and not self.regs[0x18] & 0x08:
            return 0  # gauge disabled: no percentage
        return self.regs[reg]

    def rail(self, name):
        """(on, millivolts) of an LDO."""
        on = bool(self.regs[0x90] >> self.LDO_BITS[name] & 1)
        return on, 500 + 100 * (self.regs[self.LDO_VOLT_REG[name]] & 0x1F)


class FT6336(RegisterChip):
    def __init__(self, int_gpio):
        RegisterChip.__init__(self)
        self.regs[0xA3] = 0x64
        self.regs[0xA4] = 1  # trigger mode after power-up
        self.regs[0xA8] = 0x11
        self.int_pin = machine.Pin(int_gpio)
        self.int_pin.drive(1)  # released (pulled up)

    def touch(self, x, y):
        """Test helper: a finger down at (x, y)."""
        r = self.regs
        r[0x02] = 1
        r[0x03], r[0x04] = (x >> 8) & 0x0F, x & 0xFF
        r[0x05], r[0x06] = (y >> 8) & 0x0F, y & 0xFF
        self.int_pin.drive(0)
        if r[0xA4]:  # trigger mode: only a pulse
            self.int_pin.drive(1)

    def release(self):
        self.regs[0x02] = 0
        self.int_pin.drive(1)
