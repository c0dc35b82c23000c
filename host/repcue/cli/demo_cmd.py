"""`repcue demo`: the whole loop on a virtual device, in well under a minute.

Starts the real firmware in MicroPython's unix port behind a pseudo-terminal, uploads a
seeded random fartlek and a set of 400s over that serial port, lets the autopilot runner
(a runner: surging, tiring, jogs that drift) press lap on an accelerated clock, syncs the
session into a store and shows it.

With --ble the virtual device gets a virtual radio of its own (a socket in the demo's
scratch dir, so a `repcue sim serve --ble` elsewhere is not disturbed). The host pairs over
the device's serial port first (physical access is the trust anchor; the key goes to a
throwaway key store, not the user's), then does the same over BLE, authenticated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from repcue.cli.demo import group as demo_group
from repcue.cli.device_cmd import run_sync, upload_plan
from repcue.cli.history_cmd import print_session
from repcue.errors import RepcueError
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim import autopilot
from repcue.sim.launcher import VirtualDevice
from repcue.sim.options import AutopilotOptions, ClockMode, SimOptions
from repcue.store import check_store_path, open_store
from repcue.store.analysis import session_report
from repcue.sync import SyncResult

# The fartlek (what repcue is mostly used for), then 400s on the track at a set pace: the
# report then has pace, target and fade to show, as a real session has.
DEMO_PLAN = """\
name: Fartlek and 400s
10min wu
fartlek 12min: 5 surges 30-80s, seed 7
5x(400m @3:45/km, 200m jog ~75s)
6min cd
"""
# A runner, not a metronome: work a little fast, slower with every surge and rep, jogs that
# drift longer; seeded, so the demo (and its test) shows the same session every time.
DEMO_RUNNER = AutopilotOptions(
    noise_frac=0.02, seed=3, pace_s_per_km=270, surge_frac=0.06, tire_frac=0.006, drift_frac=0.02
)
# The plan's 43 minutes run in about 20 s of wall time.
DEMO_SPEED = 120
DEMO_TIMEOUT_S = 90.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo", help="upload, run and sync a fartlek on a virtual device (no hardware)"
    )
    demo.add_argument(
        "--json",
        action="store_true",
        help='print the session as `show --json` (with --group: {"sessions": [...]})',
    )
    demo.add_argument(
        "--speed",
        type=int,
        default=None,
        help=f"clock speed-up (default {DEMO_SPEED}; with --group {demo_group.GROUP_SPEED})",
    )
    demo.add_argument(
        "--group",
        type=demo_group.group_size,
        metavar="N",
        default=None,
        help=f"a coach's group of N athletes ({demo_group.MIN_GROUP}-{demo_group.MAX_GROUP}) "
        "with a broker, their bridges, the dashboard and a group start",
    )
    demo.add_argument(
        "--ble",
        action="store_true",
        help="pair over the serial port, then upload, run and sync over the virtual BLE link",
    )
    demo.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="keep the session in this SQLite store (default: a throw-away store; "
        "$REPCUE_DB is not used)",
    )
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    # Human output goes to stderr with --json so stdout stays one JSON object.
    out = Console(stderr=args.json, highlight=False)
    if args.db:
        check_store_path(args.db)  # before a 20 s run, not after it
    if args.group is not None:
        if getattr(args, "ble", False):
            out.print("error: --group runs over serial ports; leave out --ble")
            return 2
        return demo_group.cmd_group(args)
    args.speed = DEMO_SPEED if args.speed is None else args.speed
    with tempfile.TemporaryDirectory(prefix="repcue-demo-") as scratch:
        db = args.db or str(Path(scratch) / "demo.db")
        ble_scratch = Path(scratch) if getattr(args, "ble", False) else None
        report = asyncio.run(_demo(args.speed, db, out, ble_scratch))
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print_session(out, report)
    return 0


async def _demo(
    speed: int,
    db: str,
    out: Console,
    ble_scratch: Path | None = None,
    clock: ClockMode = "real",
) -> dict[str, object]:
    """The demo's session report; clock="stepped" runs it exactly (tests: an accelerated
    clock lets a lap press land a little late when the machine is busy)."""
    text = DEMO_PLAN
    options = SimOptions(
        speed=speed,
        clock=clock,
        autopilot=DEMO_RUNNER,
        ble=ble_scratch is not None,
        ble_radio=ble_scratch / "radio" if ble_scratch is not None else None,
    )
    out.print(f"starting a virtual device (clock x{speed})")
    device = VirtualDevice(options)
    await asyncio.to_thread(device.start)
    try:
        if ble_scratch is not None:
            result = await _over_ble(device, text, db, ble_scratch, out)
        else:
            out.print(f"virtual device {device.device_id} on {device.pty_path}")
            async with DeviceClient(SerialTransport(device.pty_path)) as client:
                result = await _run_session(client, device, text, db, out)
    finally:
        await asyncio.to_thread(device.stop)
    return _report(db, result)


async def _over_ble(
    device: VirtualDevice, text: str, db: str, scratch: Path, out: Console
) -> SyncResult:
    """Pair over the device's serial port, then run the session over the virtual radio."""
    from repcue.link.ble.keys import KeyStore
    from repcue.link.ble.pairing import pair_over_usb
    from repcue.link.ble.transport import BleTransport
    from repcue.sim.ble.backend import backend_for
    from repcue.sim.ble.radio import remote_radio

    assert device.air is not None and device.air.radio_path is not None
    keys = KeyStore(scratch / "ble_keys.json")
    async with DeviceClient(SerialTransport(device.pty_path)) as usb:
        paired = await pair_over_usb(usb, keys)
    out.print(f"paired {paired.name} over USB serial ({device.pty_path})")
    radio = remote_radio(device.air.radio_path)
    try:
        transport = BleTransport(device.ble_name, keys=keys, backend=backend_for(radio))
        async with DeviceClient(transport) as client:
            await client.hello()
            out.print(
                f"connected over BLE to {device.ble_name} (ATT MTU {transport.mtu}, "
                f"{'authenticated' if transport.authenticated else 'NOT authenticated'})"
            )
            return await _run_session(client, device, text, db, out)
    finally:
        await radio.close()


async def _run_session(
    client: DeviceClient, device: VirtualDevice, text: str, db: str, out: Console
) -> SyncResult:
    """Upload the plan, let the autopilot run it, sync it into the store."""
    await upload_plan(client, text, "demo", profile_path=None, fmt="repcue", db=db, out=out)
    autopilot.enable(device, device.options.autopilot)
    out.print("running the session with the autopilot runner ...")
    session_id = await client.start()
    finish = await asyncio.to_thread(autopilot.run_to_finish, device, timeout_s=DEMO_TIMEOUT_S)
    out.print(f"session {session_id} finished ({finish.get('b', 0) / 1000:.0f} s run)")
    return await run_sync(client, db, out)


def _report(db: str, result: SyncResult) -> dict[str, object]:
    if not result.added_rows:
        raise RepcueError("the demo session did not reach the store")
    with open_store(db) as store:
        summary = store.session(result.added_rows[-1])
        if summary is None:
            raise RepcueError("the demo session vanished from the store")
        return session_report(store, summary)
