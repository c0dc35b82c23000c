# AXP2101 PMU on I2C (address 0x34): battery percentage from its fuel gauge, charging state,
# and the LDO rails a board's parts hang on (CONTRACT item 4).
#
# Registers from the X-Powers AXP2101 datasheet as XPowersLib (the vendor-endorsed library
# LilyGO uses) names them: STATUS1 00 (bit 3: battery present), STATUS2 01 (bits 6-5: 01
# charging, 10 discharging, 00 standby), IC_TYPE 03, CHARGE_GAUGE_WDT_CTRL 18 (bit 3: gauge
# on), BAT_DET_CTRL 68 (bit 0: battery detection on), LDO_ONOFF_CTRL0 90 (bits 0-3 ALDO1-4,
# bits 4-5 BLDO1-2), ALDO1-4 / BLDO1-2 voltage 92-97 (0.5 V + 100 mV a step, 5 bits),
# BAT_PERCENT_DATA A4 (0-100).
#
# The T-Watch S3 (LilyGoLib's beginPower): ALDO2 3.3 V = backlight supply, ALDO3 3.3 V =
# display and touch, BLDO2 3.3 V = the DRV2605's enable; ALDO1 (RTC) and DC1 (the ESP32-S3)
# are left as the PMU boots them.
from micropython import const

from repcue_fw.drivers import RegDevice

_ADDR = const(0x34)
_STATUS1 = const(0x00)
_STATUS2 = const(0x01)
_GAUGE_CTRL = const(0x18)
_BAT_DET = const(0x68)
_LDO_ONOFF0 = const(0x90)
_LDO_VOLT = const(0x92)  # ALDO1; ALDO2 = 0x93 ... BLDO2 = 0x97
_BAT_PERCENT = const(0xA4)


class AXP2101(RegDevice):
    def __init__(self, i2c, addr=_ADDR):
        RegDevice.__init__(self, i2c, addr)
        self._set_bits(_GAUGE_CTRL, 0x08)
        self._set_bits(_BAT_DET, 0x01)

    def ldo(self, index, mv):
        """Turn LDO `index` (0-3: ALDO1-4, 4-5: BLDO1-2) on at `mv` (500-3500), or off (0)."""
        if mv:
            self._write(_LDO_VOLT + index, (mv - 500) // 100)
            self._set_bits(_LDO_ONOFF0, 1 << index)
        else:
            self._write(_LDO_ONOFF0, self._read(_LDO_ONOFF0) & ~(1 << index) & 0xFF)

    def battery_pct(self):
        """0-100 from the fuel gauge, or None without a battery."""
        if not self._read(_STATUS1) & 0x08:
            return None
        pct = self._read(_BAT_PERCENT)
        return 100 if pct > 100 else pct

    def charging(self):
        return (self._read(_STATUS2) >> 5) & 3 == 1
