# DRV2605(L) haptic driver on I2C (address 0x5A): plays the firmware's cues as effects of the
# chip's waveform library (CONTRACT item 3), triggered by GO over I2C.
#
# Registers from TI's DRV2605L datasheet (SLOS854), 7.6: STATUS 00 (DEVICE_ID bits 7-5:
# 3 DRV2605, 7 DRV2605L), MODE 01 (STANDBY bit 6; mode 0 = internal trigger), RTP_INPUT 02,
# LIBRARY_SEL 03 (1-5: the ERM libraries A-E, 6: LRA), WAVESEQ1-8 04-0B (an effect number,
# or bit 7 set: wait bits 6-0 x 10 ms; 0 ends the sequence), GO 0C, FEEDBACK 1A (N_ERM_LRA
# bit 7), CONTROL3 1D (ERM_OPEN_LOOP bit 5). Init as TI's quick-start (7.4.x) and public
# drivers do: out of standby, RTP 0, library, actuator type, open loop for an ERM. The
# T-Watch S3 drives an ERM motor from library 1 (LilyGoLib: selectLibrary(1), useERM()).
from micropython import const

from repcue_fw.drivers import RegDevice

_ADDR = const(0x5A)
_STATUS = const(0x00)
_MODE = const(0x01)
_RTP = const(0x02)
_LIBRARY = const(0x03)
_WAVESEQ1 = const(0x04)
_GO = const(0x0C)
_FEEDBACK = const(0x1A)
_CONTROL3 = const(0x1D)
_STANDBY = const(0x40)
_N_ERM_LRA = const(0x80)
_ERM_OPEN_LOOP = const(0x20)

# Effects per cue id (repcue_fw/cues.py), from the datasheet's effect list (library A, 11.2):
# 1 strong click 100 %, 10 double click 100 %, 11 double click 60 %, 12 triple click 100 %,
# 14 strong buzz 100 %, 15 750 ms alert 100 %, 24 sharp tick 1 100 %, 47 buzz 1 100 %,
# 49 buzz 3 60 %, 52 pulsing strong 1 100 %; 0x80 | n = a pause of n x 10 ms. Each ends
# with 0 unless it fills all 8 slots. Built to feel like the PWM patterns of cues.py.
CUE_EFFECTS = (
    b"\x00",
    b"\x18\x00",  # countdown: a sharp tick
    b"\x0f\x00",  # work: one long alert
    b"\x0a\x00",  # recovery: a double click
    b"\x0c\x00",  # halfway: a triple click
    b"\x0f\x8f\x0f\x00",  # last rep: long, pause, long
    b"\x01\x00",  # lap: one strong click
    b"\x0e\x01\x00",  # pause: buzz then click
    b"\x01\x0e\x00",  # resume: click then buzz
    b"\x0f\x8f\x0f\x8f\x0f\x00",  # finish: three long
    b"\x34\x34\x00",  # refused: pulsing
    b"\x0b\x00",  # ghost: a soft double click
    b"\x0c\x0e\x00",  # pair: ticks and a buzz
    b"\x31\x9e\x31\x00",  # warmup: two soft buzzes
    b"\x31\x9e\x31\x9e\x31\x00",  # cooldown: three soft buzzes
)


class DRV2605(RegDevice):
    def __init__(self, i2c, lra=False, library=1, addr=_ADDR):
        RegDevice.__init__(self, i2c, addr)
        self.enabled = True
        if self._read(_STATUS) >> 5 not in (3, 4, 6, 7):
            raise OSError(19)  # ENODEV: something else answers 0x5A
        self._write(_MODE, 0)  # out of standby, internal trigger
        self._write(_RTP, 0)
        self._write(_LIBRARY, library)
        fb = self._read(_FEEDBACK)
        self._write(_FEEDBACK, (fb | _N_ERM_LRA) if lra else (fb & ~_N_ERM_LRA & 0xFF))
        c3 = self._read(_CONTROL3)
        self._write(_CONTROL3, (c3 & ~_ERM_OPEN_LOOP & 0xFF) if lra else (c3 | _ERM_OPEN_LOOP))

    def cue(self, cue_id):
        """Play a cue's effects (replacing what plays); an unknown id plays nothing."""
        if not self.enabled or cue_id <= 0 or cue_id >= len(CUE_EFFECTS):
            return
        self._write(_GO, 0)
        self._i2c.writeto_mem(self._addr, _WAVESEQ1, CUE_EFFECTS[cue_id])
        self._write(_GO, 1)

    def stop(self):
        self._write(_GO, 0)

    def standby(self, flag):
        """Low-power standby between sessions (GO is ignored until it ends)."""
        self._write(_MODE, _STANDBY if flag else 0)
