# SPI, I2C and ADC for the `machine` stand-in (machine.SPI / I2C / ADC are these). A test wires
# device models (chip_models.py) to pins before the board is built, as the PCB does:
#
#   machine.wire_spi(model, sck=13, mosi=15, cs=5, dc=14)   # a panel on those pins
#   machine_buses.wire_i2c(model, scl=11, sda=10, addr=0x34)
#
# and the firmware's drivers then talk to the model through the buses it opens. What is modelled
# is what a chip refuses, not timing or electrical behaviour:
#   - bus ids per chip (esp32/esp32s3: SPI 1, 2 and I2C 0, 1; esp32c3: SPI 1, I2C 0;
#     rp2: SPI 0, 1 and I2C 0, 1); pins must exist on the chip; SCK/MOSI/SCL/SDA must be able
#     to drive (an input-only esp32 pad cannot)
#   - SPI baudrate range (esp32*: up to 80 MHz; through the GPIO matrix, i.e. not the
#     controller's own IO_MUX pins, ESP-IDF's SPI master limits an esp32 to 40 MHz; rp2: up to
#     62.5 MHz); I2C frequency up to 1 MHz (Fast-mode Plus)
#   - an I2C address nobody answers raises OSError as MicroPython does: ENODEV on the esp32
#     ports (ESP_FAIL from a NACK), EIO on rp2
#   - SPI bytes reach a device only while its CS pin is driven low, with the DC level it sees
#   - ADC only on ADC-capable pins; read_uv() returns the voltage a test put on the pin,
#     quantised to 12 bits of the 11 dB range (0..3.1 V) as an esp32's ADC1 is
import errno

import machine

_SPI_IDS = {"esp32": (1, 2), "esp32s3": (1, 2), "esp32c3": (1,), "rp2": (0, 1)}
_I2C_IDS = {"esp32": (0, 1), "esp32s3": (0, 1), "esp32c3": (0,), "rp2": (0, 1)}
_SPI_MAX = {"esp32": 80000000, "esp32s3": 80000000, "esp32c3": 80000000, "rp2": 62500000}
# esp32 SPI controllers' IO_MUX pins (sck, mosi): anything else goes through the GPIO matrix
_ESP32_IOMUX = {1: (14, 13), 2: (18, 23)}
_ADC_PINS = {
    "esp32": (0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39),
    "esp32s3": tuple(range(1, 21)),
    "esp32c3": (0, 1, 2, 3, 4),
    "rp2": (26, 27, 28),
}
_NO_DEVICE = {"rp2": errno.EIO}

_spi_wired = []  # (model, sck, mosi, cs, dc)
_i2c_wired = {}  # (scl, sda, addr) -> model
_volts_uv = {}  # gpio -> microvolts on the pin


def reset():
    del _spi_wired[:]
    _i2c_wired.clear()
    _volts_uv.clear()


def wire_spi(model, sck, mosi, cs, dc=None):
    """Test helper: a device on the SPI lines sck/mosi, selected by `cs`, with its D/C line."""
    _spi_wired.append((model, sck, mosi, cs, dc))


def wire_i2c(model, scl, sda, addr):
    """Test helper: a device answering `addr` on the bus with these SCL/SDA pins."""
    _i2c_wired[(scl, sda, addr)] = model


def set_voltage(gpio, uv):
    """Test helper: the analogue level on a pin, in microvolts."""
    _volts_uv[gpio] = uv


def _chip_name():
    return machine.chip()["name"]


def _gpio(pin, out):
    # MicroPython takes a Pin or its number
    p = pin if isinstance(pin, machine.Pin) else machine.Pin(pin)
    if out and p.gpio in machine.chip().get("input_only", ()):
        raise ValueError("pin can only be input")
    return p.gpio


class SPI:
    MSB = 0
    LSB = 1

    def __init__(self, spi_id, baudrate=1000000, *, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):  # fmt: skip
        name = _chip_name()
        if spi_id not in _SPI_IDS[name]:
            raise ValueError("SPI(" + str(spi_id) + ") doesn't exist")
        if sck is None or mosi is None:
            raise ValueError("the stand-in needs sck and mosi pins")
        self.id = spi_id
        self.sck = _gpio(sck, True)
        self.mosi = _gpio(mosi, True)
        self.miso = None if miso is None else _gpio(miso, False)
        self.written = 0  # bytes clocked out, all devices
        self.init(baudrate=baudrate, polarity=polarity, phase=phase, bits=bits)

    def init(self, baudrate=1000000, polarity=0, phase=0, bits=8, **_kw):
        name = _chip_name()
        limit = _SPI_MAX[name]
        if name == "esp32" and _ESP32_IOMUX.get(self.id) != (self.sck, self.mosi):
            limit = 40000000
        if not isinstance(baudrate, int) or baudrate < 1 or baudrate > limit:
            raise ValueError("baudrate out of range (max " + str(limit) + " on these pins)")
        if bits != 8:
            raise ValueError("only 8-bit words are modelled")
        self.baudrate = baudrate
        self.mode = (polarity, phase)

    def write(self, buf):
        data = bytes(buf)
        self.written += len(data)
        for model, sck, mosi, cs, dc in _spi_wired:
            if sck != self.sck or mosi != self.mosi or machine.Pin(cs).out_level:
                continue
            level = 1 if dc is None else machine.Pin(dc).out_level
            model.spi_write(data, level, self.mode)

    def deinit(self):
        pass


class I2C:
    def __init__(self, i2c_id, *, scl=None, sda=None, freq=400000, timeout=50000):
        name = _chip_name()
        if i2c_id not in _I2C_IDS[name]:
            raise ValueError("I2C(" + str(i2c_id) + ") doesn't exist")
        if scl is None or sda is None:
            raise ValueError("the stand-in needs scl and sda pins")
        if not isinstance(freq, int) or freq < 1 or freq > 1000000:
            raise ValueError("freq out of range")
        self.id = i2c_id
        self.scl = _gpio(scl, True)
        self.sda = _gpio(sda, True)
        self.freq = freq
        self.log = []  # (addr, bytes written) per write, for tests

    def _device(self, addr):
        model = _i2c_wired.get((self.scl, self.sda, addr))
        if model is None:
            raise OSError(_NO_DEVICE.get(_chip_name(), errno.ENODEV))
        return model

    def scan(self):
        return sorted(a for (scl, sda, a) in _i2c_wired if scl == self.scl and sda == self.sda)

    def writeto(self, addr, buf, stop=True):
        data = bytes(buf)
        self._device(addr).i2c_write(data)
        self.log.append((addr, data))
        return len(data)

    def writevto(self, addr, vector, stop=True):
        data = b"".join(bytes(b) for b in vector)
        self._device(addr).i2c_write(data)
        self.log.append((addr, data))
        return len(data)

    def readfrom_into(self, addr, buf, stop=True):
        data = self._device(addr).i2c_read(len(buf))
        buf[:] = data

    def readfrom(self, addr, n, stop=True):
        return bytes(self._device(addr).i2c_read(n))

    def writeto_mem(self, addr, reg, buf, *, addrsize=8):
        self.writeto(addr, bytes([reg]) + bytes(buf))

    def readfrom_mem_into(self, addr, reg, buf, *, addrsize=8):
        model = self._device(addr)
        model.i2c_write(bytes([reg]))  # the register pointer, then a repeated start
        buf[:] = model.i2c_read(len(buf))

    def readfrom_mem(self, addr, reg, n, *, addrsize=8):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, reg, buf)
        return bytes(buf)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    _FULL_UV = (950000, 1250000, 1750000, 3100000)  # esp32 ADC ranges per attenuation

    def __init__(self, pin, *, atten=None):
        gpio = _gpio(pin, False)
        if gpio not in _ADC_PINS[_chip_name()]:
            raise ValueError("invalid Pin for ADC")
        self.gpio = gpio
        self.atten = ADC.ATTN_0DB if atten is None else atten

    def read_uv(self):
        full = ADC._FULL_UV[self.atten] if _chip_name() != "rp2" else 3300000
        uv = min(max(_volts_uv.get(self.gpio, 0), 0), full)
        step = full // 4095
        return uv // step * step

    def read_u16(self):
        full = ADC._FULL_UV[self.atten] if _chip_name() != "rp2" else 3300000
        return min(max(_volts_uv.get(self.gpio, 0), 0), full) * 65535 // full
