"""Power: wake-ups and CPU time of the firmware on the virtual device at real speed, and
battery estimates per board from datasheet currents.

The real firmware runs in the micropython binary as `repcue sim serve` runs it (real clock,
speed 1). The process is measured from outside, as the kernel sees it: wake-ups are its
voluntary context switches (/proc/PID/status: each one is the event loop blocking in poll()
and being woken again), CPU time is /proc/PID/schedstat's run time in ns (utime + stime from
/proc/PID/stat, in 10 ms ticks, is printed beside it).

Phases, each measured over --minutes of real time:
  idle, awake     no session, sleep between sessions off
  idle, asleep    no session, sleep_after_ms 5 s: measured once the board reports "sleep"
  session         a program with short steps (10 s work, 10 s recovery, a 3 s countdown:
                  a cue every second around each change), screen off, and screen on when
                  this tree's virtual device has one (SimOptions.screen, CONTRACT item 7)
Wake-ups "beyond the cues": the runner wakes twice per deadline (a coarse sleep, then the
last short one: runner.py), so each distinct cue instant accounts for 2; the rest is extra.

Estimates: per board, hours of sessions and days of standby per charge from the currents in
BOARDS (sources and assumptions in docs/hardware.md, "Power"), using the measured CPU share
scaled by CPU_SLOWDOWN (a board's core against this machine's) and the measured cue on-time.
Sessions are costed lit all session, with 5 s glances and naps, dark, and with the board's
DEFAULT config: its GLANCE_MS and NAPS, read from the firmware itself
(boards/NAME.py in the micropython binary). The issue's M5StickC Plus2 goal (>= 10 h of
sessions) is judged on the default-config figure: what a runner gets without a setting.

Usage: python bench/power.py [--minutes 1] [--busy]   (--busy: run again with a core busy)
The last line printed is one JSON object; it is also written to bench/results/power.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from repcue.link import DeviceClient  # noqa: E402
from repcue.link.serial import SerialTransport  # noqa: E402
from repcue.sim import SimOptions, VirtualDevice  # noqa: E402
from repcue.sim.options import micropython_binary  # noqa: E402
from repcue_fw.wire.events import EV_SESSION_START  # noqa: E402
from repcue_fw.wire.host import program as wp  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "power.json"
EXTRA_WAKEUPS_TARGET_PER_MIN = 60  # at most one a second beyond the cues (screen on)
SESSION_HOURS_TARGET = 10.0  # on the M5StickC Plus2's 200 mAh
STANDBY_DAYS_TARGET = 14.0
SCREEN = {"w": 135, "h": 240}  # the M5StickC Plus2's panel (CONTRACT item 7)
CPU_SLOWDOWN = 30  # assumed: MicroPython on a 160 MHz Xtensa/RISC-V core vs this x86 core
SLEEP_AFTER_MS = 60_000  # the hardware boards' default (boards/hw.py)
# The estimates' typical session: a change a minute, each with its 3-tick countdown (the
# measured session's cues per change), the screen lit for GLANCE_MS after each event
# (config "glance_ms") and naps between (config "naps"): NAP_COST_MS awake per wake-up for
# the light sleep's entry and exit (assumed).
TYPICAL_STEP_S = 60
CUES_PER_CHANGE = 4
GLANCE_MS = 5_000
NAP_COST_MS = 2.0

# Currents in mA (docs/hardware.md, "Power", gives the source of each). idle_mA: CPU clocked
# but waiting for an interrupt, radio off; run_mA: CPU running; light/deep: the chip's sleep
# currents; board_mA: what the rest of the board draws while the chip sleeps (regulator, RTC,
# IMU, PMU: assumed); screen_mA: panel + backlight; cue_mA: the motor or buzzer while on.
# sleep: the mode this firmware ends up in between sessions on that board (boards/hw.py:
# light sleep after a minute, deep sleep after 15 min where a button can wake the chip).
# ble_mA: advertising every 100 ms on top of idle_mA (with BLE on the chip never sleeps).
BOARDS: dict[str, dict[str, Any]] = {
    "m5stickc_plus2": {
        "chip": "ESP32-PICO-V3-02",
        "battery_mAh": 200,
        "idle_mA": 27.0,
        "run_mA": 44.0,
        "light_mA": 0.8,
        "deep_mA": 0.010,
        "ble_mA": 1.0,
        "board_mA": 0.10,
        "screen_mA": 20.0,
        "cue_mA": 25.0,
        "cue": "buzzer",
        "sleep": "deep",
    },
    "twatch_s3": {
        "chip": "ESP32-S3",
        "battery_mAh": 470,
        "idle_mA": 30.0,
        "run_mA": 45.0,
        "light_mA": 0.24,
        "deep_mA": 0.008,
        "ble_mA": 1.0,
        "board_mA": 0.15,
        "screen_mA": 30.0,
        "cue_mA": 80.0,
        "cue": "ERM motor through the DRV2605",
        "sleep": "deep",
    },
    "esp32c3": {
        "chip": "ESP32-C3",
        "battery_mAh": 400,
        "idle_mA": 16.0,
        "run_mA": 23.0,
        "light_mA": 0.13,
        "deep_mA": 0.005,
        "ble_mA": 1.0,
        "board_mA": 0.10,
        "screen_mA": 0.0,
        "cue_mA": 70.0,
        "cue": "ERM motor",
        "sleep": "awake",  # no wake_on_ext0 on the C3: idles awake (boards/hw.py)
    },
    "picow": {
        "chip": "RP2040 + CYW43439",
        "battery_mAh": 1000,
        "idle_mA": 20.0,
        "run_mA": 25.0,
        "light_mA": 1.5,
        "deep_mA": 0.9,
        "ble_mA": 1.0,
        "board_mA": 0.0,
        "screen_mA": 0.0,
        "cue_mA": 70.0,
        "cue": "ERM motor",
        "sleep": "awake",  # rp2 lightsleep(ms) ends on its timer only (boards/hw.py)
    },
}


# -- what the kernel says about a process ------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Sample:
    at_s: float
    wakeups: int  # voluntary context switches
    forced: int  # involuntary ones (preempted: a busy machine)
    cpu_ns: int  # schedstat run time
    ticks: int  # utime + stime, in clock ticks


def sample(pid: int) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_comm = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(after_comm[11]), int(after_comm[12])
    cpu_ns = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return Sample(
        time.monotonic(),
        int(fields["voluntary_ctxt_switches"]),
        int(fields["nonvoluntary_ctxt_switches"]),
        cpu_ns,
        utime + stime,
    )


def per_minute(a: Sample, b: Sample) -> dict[str, float]:
    minutes = (b.at_s - a.at_s) / 60
    hz = os.sysconf("SC_CLK_TCK")
    return {
        "minutes": round(minutes, 3),
        "wakeups_per_min": round((b.wakeups - a.wakeups) / minutes, 1),
        "preempted_per_min": round((b.forced - a.forced) / minutes, 1),
        "cpu_ms_per_min": round((b.cpu_ns - a.cpu_ns) / 1e6 / minutes, 2),
        "cpu_ms_per_min_ticks": round((b.ticks - a.ticks) * 1000 / hz / minutes, 1),
    }


def _pid(dev: VirtualDevice) -> int:
    if dev.proc is None:
        raise SystemExit("the virtual device has no process")
    return dev.proc.pid


def _kind(dev: VirtualDevice, kind: str, start: int = 0) -> list[dict[str, Any]]:
    return [r for r in dev.require_control().records[start:] if r.get("k") == kind]


# -- the firmware's own defaults ----------------------------------------------------------------
_DEFAULTS_PROBE = """
import json
from repcue_fw.boards import load
out = {}
for name in NAMES:
    b = load(name)
    out[name] = {"glance_ms": b.GLANCE_MS, "naps": b.NAPS}
print(json.dumps(out))
"""


def firmware_defaults() -> dict[str, dict[str, Any]]:
    """Each board's power defaults as its class in firmware/repcue_fw/boards/ sets them
    (read in the micropython binary, with the `machine` stand-in the profiles import)."""
    path = f"{ROOT / 'firmware'}:{ROOT / 'device' / 'repcue_device'}:.frozen"
    code = f"NAMES = {tuple(BOARDS)!r}\n" + _DEFAULTS_PROBE
    proc = subprocess.run(
        [micropython_binary(), "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, MICROPYPATH=path),
        timeout=60,
    )
    if proc.returncode != 0:
        raise SystemExit(f"reading the boards' profiles failed: {proc.stdout}{proc.stderr}")
    out: dict[str, dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# -- phases ----------------------------------------------------------------------------------
def short_steps(minutes: float) -> bytes:
    rounds = max(1, round(minutes * 60 / 20)) + 2  # longer than the measured window
    body = [wp.Step(wp.KIND_WORK, wp.END_TIME, 10), wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 10)]
    return wp.encode(wp.Program([wp.Repeat(rounds, body)], countdown_s=3))


async def _upload(path: str, data: bytes) -> None:
    async with DeviceClient(SerialTransport(path)) as dev:
        await dev.hello()
        async for _ in dev.upload_program(data):
            pass


def _options(**fields: Any) -> SimOptions:
    return SimOptions(clock="real", speed=1, **fields)


def has_screen() -> bool:
    return "screen" in {f.name for f in dataclasses.fields(SimOptions)}


def idle(minutes: float, asleep: bool) -> dict[str, Any]:
    options = _options(sleep_after_ms=5_000) if asleep else _options()
    with VirtualDevice(options) as dev:
        if asleep:
            dev.require_control().wait_for(lambda r: r.get("k") == "sleep", timeout_s=30)
        else:
            time.sleep(1)  # let the boot settle
        mark = len(dev.require_control().records)
        pid = _pid(dev)
        a = sample(pid)
        time.sleep(minutes * 60)
        b = sample(pid)
        figures: dict[str, Any] = per_minute(a, b)
        figures["wakes_reported"] = len(_kind(dev, "wake", mark))
    return figures


def session(minutes: float, screen: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {"sleep_after_ms": SLEEP_AFTER_MS}
    if screen:
        fields["screen"] = SCREEN
    with VirtualDevice(_options(**fields)) as dev:
        asyncio.run(_upload(dev.pty_path, short_steps(minutes)))
        ctl = dev.require_control()
        mark = len(ctl.records)
        ctl.press("start")
        ctl.wait_event(EV_SESSION_START, timeout_s=10, start=mark)
        time.sleep(0.5)
        pid = _pid(dev)
        start = len(ctl.records)
        a = sample(pid)
        time.sleep(minutes * 60)
        b = sample(pid)
        cues = _kind(dev, "cue", start)
    figures: dict[str, Any] = per_minute(a, b)
    span = figures["minutes"]
    instants = {c["due"] for c in cues}
    figures["cues_per_min"] = round(len(cues) / span, 1)
    figures["cue_instants_per_min"] = round(len(instants) / span, 1)
    figures["extra_wakeups_per_min"] = round(
        figures["wakeups_per_min"] - 2 * len(instants) / span, 1
    )
    on_ms = sum(sum(c["p"][0::2]) for c in cues)  # a pattern is on, off, on, ... ms
    figures["cue_on_ms_per_min"] = round(on_ms / span)
    return figures


# -- estimates -------------------------------------------------------------------------------
def estimates(run: dict[str, Any], defaults: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per board: mA and hours of a typical session (TYPICAL_STEP_S steps, each change with
    its countdown, costed from the measured session per change) lit, with glances, dark and
    with the board's default config (`defaults`: firmware_defaults()), days of standby."""
    sess = run["session_screen_on"] or run["session_screen_off"]
    changes_per_min = sess["cue_instants_per_min"] / CUES_PER_CHANGE
    per_change = 60 / TYPICAL_STEP_S / changes_per_min  # typical vs measured, per minute
    cpu_ms = sess["cpu_ms_per_min"] * per_change * CPU_SLOWDOWN  # a board's CPU ms a minute
    wakeups = sess["wakeups_per_min"] * per_change
    cue_share = sess["cue_on_ms_per_min"] * per_change / 60_000
    awake_share = min(1.0, cpu_ms / 60_000)
    nap_share = min(1.0, (cpu_ms + wakeups * NAP_COST_MS) / 60_000)
    lit = min(1.0, (CUES_PER_CHANGE - 1 + GLANCE_MS / 1000) / TYPICAL_STEP_S)

    def lit_share(glance_ms: int) -> float:
        # lit from the first countdown cue before a change until glance_ms after the last
        # event (the change): 0 = lit all session
        if not glance_ms:
            return 1.0
        return min(1.0, (CUES_PER_CHANGE - 1 + glance_ms / 1000) / TYPICAL_STEP_S)

    out: dict[str, Any] = {}
    for name, b in BOARDS.items():
        cap = b["battery_mAh"]
        awake = b["idle_mA"] * (1 - awake_share) + b["run_mA"] * awake_share
        naps = b["sleep"] != "awake"  # the boards that light-sleep can nap (hw.py)
        napping = (b["light_mA"] + b["board_mA"]) * (1 - nap_share) + b["run_mA"] * nap_share
        dark = napping if naps else awake
        cue = b["cue_mA"] * cue_share
        lit_mA = awake + b["screen_mA"] + cue  # a lit screen keeps the CPU awake
        glance_mA = lit * (awake + b["screen_mA"]) + (1 - lit) * dark + cue
        dark_mA = dark + cue
        standby_mA = {
            "deep": b["deep_mA"] + b["board_mA"],
            "light": b["light_mA"] + b["board_mA"],
            "awake": b["idle_mA"],
        }[b["sleep"]]
        light_mA = b["light_mA"] + b["board_mA"]
        ble_mA = b["idle_mA"] + b["ble_mA"]
        # the default config: naps (each for a whole wait) only where the board turns them on
        d = defaults[name]
        d_dark = napping if d["naps"] and naps else awake
        d_lit = lit_share(d["glance_ms"]) if b["screen_mA"] else 1.0
        default_mA = d_lit * (awake + b["screen_mA"]) + (1 - d_lit) * d_dark + cue
        out[name] = {
            "battery_mAh": cap,
            "session_mA_lit": round(lit_mA, 2),
            "session_h_lit": round(cap / lit_mA, 1),
            "session_mA_glances": round(glance_mA, 2),
            "session_h_glances": round(cap / glance_mA, 1),
            "session_h_dark": round(cap / dark_mA, 1),
            "session_mA_default": round(default_mA, 2),
            "session_h_default": round(cap / default_mA, 1),
            "default_config": d,
            "naps": naps,
            "standby_sleep": b["sleep"],
            "standby_mA": round(standby_mA, 3),
            "standby_days": round(cap / standby_mA / 24, 1),
            "standby_days_light_sleep_only": round(cap / light_mA / 24, 1),
            "standby_days_ble_on": round(cap / ble_mA / 24, 1),
        }
    return out


def measure(minutes: float) -> dict[str, Any]:
    run: dict[str, Any] = {}
    print(f"  idle, awake ({minutes} min) ...", flush=True)
    run["idle_awake"] = idle(minutes, asleep=False)
    print(f"  idle, asleep ({minutes} min) ...", flush=True)
    run["idle_asleep"] = idle(minutes, asleep=True)
    print(f"  session, screen off ({minutes} min) ...", flush=True)
    run["session_screen_off"] = session(minutes, screen=False)
    run["session_screen_on"] = session(minutes, screen=True) if has_screen() else None
    if run["session_screen_on"] is None:
        print("  session, screen on: this tree's virtual device has no screen (SimOptions.screen)")
    for key, fig in run.items():
        if fig is None:
            continue
        line = (
            f"    {key:20} wake-ups {fig['wakeups_per_min']:7.1f}/min   CPU "
            f"{fig['cpu_ms_per_min']:7.2f} ms/min ({fig['cpu_ms_per_min_ticks']:.0f} by ticks)"
        )
        if "extra_wakeups_per_min" in fig:
            line += (
                f"   cues {fig['cues_per_min']}/min at {fig['cue_instants_per_min']} instants,"
                f" extra {fig['extra_wakeups_per_min']}/min"
            )
        print(line)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="real time per phase")
    parser.add_argument("--busy", action="store_true", help="run again with a core busy")
    args = parser.parse_args()

    print("quiet machine:")
    quiet = measure(args.minutes)
    busy = None
    if args.busy:
        print("a core busy (python3 -c 'while 1: pass'):")
        hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
        try:
            busy = measure(args.minutes)
        finally:
            hog.kill()
            hog.wait()

    session = quiet["session_screen_on"] or quiet["session_screen_off"]
    extra = session["extra_wakeups_per_min"]
    screen_on = quiet["session_screen_on"] is not None
    defaults = firmware_defaults()
    est = estimates(quiet, defaults)
    print(
        f"extra wake-ups in a session: {extra}/min (screen {'on' if screen_on else 'off'}), "
        f"target <= {EXTRA_WAKEUPS_TARGET_PER_MIN}/min"
    )
    print(
        f"per charge, a session of {TYPICAL_STEP_S} s steps (CPU x{CPU_SLOWDOWN} for a board's"
        f" core; glances {GLANCE_MS // 1000} s; docs/hardware.md, Power):"
    )
    print(
        f"  {'board':15} {'mAh':>5} {'default h':>9} {'lit h':>6} {'glances h':>9} {'dark h':>7}"
        f" {'standby':>8} {'days':>6} {'(light only)':>12} {'(BLE on)':>8}   default config"
    )
    for name, e in est.items():
        d = e["default_config"]
        config = f"glance_ms {d['glance_ms']}, naps {'on' if d['naps'] else 'off'}"
        print(
            f"  {name:15} {e['battery_mAh']:5} {e['session_h_default']:9.1f}"
            f" {e['session_h_lit']:6.1f} {e['session_h_glances']:9.1f} {e['session_h_dark']:7.1f}"
            f" {e['standby_sleep']:>8} {e['standby_days']:6.1f}"
            f" {e['standby_days_light_sleep_only']:12.1f} {e['standby_days_ble_on']:8.1f}"
            f"   {config}"
        )
    plus2 = est["m5stickc_plus2"]
    goal_config = {"board": "m5stickc_plus2", "source": "the board's defaults (no settings)"}
    goal_config.update(plus2["default_config"])
    ok_wake = extra <= EXTRA_WAKEUPS_TARGET_PER_MIN
    ok_hours = plus2["session_h_default"] >= SESSION_HOURS_TARGET
    ok_days = plus2["standby_days"] >= STANDBY_DAYS_TARGET
    print(
        f"goals: extra wake-ups <= {EXTRA_WAKEUPS_TARGET_PER_MIN}/min: {ok_wake}; "
        f"M5StickC Plus2 sessions >= {SESSION_HOURS_TARGET} h with its DEFAULT config"
        f" (glance_ms {goal_config['glance_ms']}, naps {'on' if goal_config['naps'] else 'off'}):"
        f" {ok_hours} ({plus2['session_h_default']} h;"
        f" {plus2['session_h_lit']} h with the screen lit all session);"
        f" standby >= {STANDBY_DAYS_TARGET} days: {ok_days} ({plus2['standby_days']} days)"
    )
    result = {
        "extra_wakeups_per_min": extra,
        "screen_on": screen_on,
        "m5stickc_plus2_session_h_default": plus2["session_h_default"],
        "m5stickc_plus2_session_h_lit": plus2["session_h_lit"],
        "goal_config": goal_config,
        "estimates": est,
        "quiet": quiet,
        "busy_core": busy,
        "cpu_slowdown": CPU_SLOWDOWN,
        "typical_session": {
            "step_s": TYPICAL_STEP_S,
            "glance_ms": GLANCE_MS,
            "nap_cost_ms": NAP_COST_MS,
            "config": {"naps": True, "glance_ms": GLANCE_MS},
        },
        "currents": BOARDS,
        "targets": {
            "extra_wakeups_per_min": EXTRA_WAKEUPS_TARGET_PER_MIN,
            "m5stickc_plus2_session_h": SESSION_HOURS_TARGET,
            "m5stickc_plus2_standby_days": STANDBY_DAYS_TARGET,
        },
        "pass": {"wakeups": ok_wake, "session_h": ok_hours, "standby_days": ok_days},
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
