"""`repcue sim serve`: run the virtual device until Ctrl-C and print its serial port;
`repcue sim press BUTTON`: press a button of that device from another shell.

With --ble the firmware also advertises on a virtual radio that other processes reach
(`repcue info --device ble:NAME` in another shell finds it at the default radio path, or
at --radio / $REPCUE_BLE_RADIO).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from repcue.cli import sim_screen
from repcue.cli.argtypes import fraction, seconds
from repcue.errors import SimError
from repcue.sim import AutopilotOptions, SimOptions, VirtualDevice, buttons
from repcue.sim.control import BUTTONS
from repcue_fw.wire.host.events import EV_CUE, cue_name, describe_event


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("sim", help="the virtual device: real firmware, no hardware")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")
    serve = sim_sub.add_parser(
        "serve", help="run a virtual device until Ctrl-C; prints the serial port to use"
    )
    serve.add_argument("--flash", type=Path, metavar="FILE", help="flash image, kept between runs")
    serve.add_argument(
        "--format",
        action="store_true",
        help="erase the flash image first (its sessions and pairing key are lost): for an "
        "image that cannot be mounted; without it an image is never overwritten",
    )
    serve.add_argument("--speed", type=int, default=1, metavar="N", help="clock runs N times fast")
    serve.add_argument(
        "--heap",
        type=int,
        default=None,
        metavar="KB",
        help="the board's RAM: MicroPython's -X heapsize (with --romfs, the launcher adds "
        "the image's size, which the unix port must hold in its heap)",
    )
    serve.add_argument(
        "--romfs",
        action="store_true",
        help="boot as a board with a ROMFS partition: repcue_fw imported from an image "
        "mounted at /rom, its bytecode run in place",
    )
    serve.add_argument(
        "--factory-reset",
        action="store_true",
        help="power up with every button held: the firmware forgets the BLE pairing key "
        "and the settings (sessions stay)",
    )
    serve.add_argument(
        "--ticks-start",
        type=int,
        default=0,
        metavar="MS",
        help="first tick of the 30-bit clock, e.g. 1073736824 to wrap 5 s after boot",
    )
    serve.add_argument(
        "--autopilot",
        action="store_true",
        help="a virtual runner presses lap at each distance step's target pace",
    )
    serve.add_argument(
        "--noise",
        type=fraction,
        default=0.0,
        metavar="FRAC",
        help="autopilot spread, e.g. 0.05 (0 to below 1)",
    )
    serve.add_argument(
        "--ble",
        action="store_true",
        help="also advertise over a virtual Bluetooth LE radio (--device ble:NAME reaches it)",
    )
    serve.add_argument(
        "--radio",
        type=Path,
        metavar="SOCKET",
        default=None,
        help="where other processes reach the virtual radio (default: $REPCUE_BLE_RADIO, "
        "else a socket in the user runtime dir)",
    )
    serve.add_argument(
        "--pair-confirm",
        action="store_true",
        help="pairing over USB waits for a button press on the device",
    )
    sim_screen.add_screen_argument(serve)
    serve.add_argument(
        "--battery", type=int, default=None, metavar="PCT", help="the battery's charge, in %%"
    )
    serve.add_argument(
        "--sleep-after",
        type=seconds,
        metavar="S",
        default=0,
        help="sleep between sessions after S seconds with nothing to do (a press, serial "
        "bytes or a BLE connection wakes it; default: never)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not print cues and events")
    serve.add_argument("--json", action="store_true", help="print the port as JSON, then events")
    serve.set_defaults(func=cmd_serve)
    press = sim_sub.add_parser(
        "press", help="press a button on the virtual device a `repcue sim serve` runs"
    )
    press.add_argument("button", choices=list(BUTTONS), help="the logical button")
    press.add_argument(
        "--port", metavar="PTY", help="the device's port (needed when several are served)"
    )
    press.set_defaults(func=cmd_press)
    sim_screen.register(sim_sub)


def _options(args: argparse.Namespace) -> SimOptions:
    autopilot = AutopilotOptions(noise_frac=args.noise) if args.autopilot else None
    return SimOptions(
        flash=args.flash,
        format_flash=args.format,
        speed=args.speed,
        heap_kb=args.heap,
        ticks_start_ms=args.ticks_start,
        autopilot=autopilot,
        ble=args.ble,
        ble_radio=args.radio,
        romfs=args.romfs,
        buttons_held_at_boot=args.factory_reset,
        pair_confirm=args.pair_confirm,
        screen=args.screen,
        battery_pct=args.battery,
        sleep_after_ms=round(args.sleep_after * 1000),
    )


def _describe(record: dict[str, Any]) -> str | None:
    """One log line for a cue or engine event record, None for the rest."""
    at_s = record.get("ms", 0) / 1000
    if record.get("k") == "cue":
        return f"{at_s:9.3f}s  cue  {cue_name(int(record['c']))}"
    if record.get("k") == "ev" and record.get("c") != EV_CUE:  # the cue record says it
        words = describe_event(int(record["c"]), int(record["a"]), int(record["b"]))
        return f"{at_s:9.3f}s  {words}"
    if record.get("k") == "log":
        return f"{at_s:9.3f}s  firmware: {record.get('msg')}"
    if record.get("k") == "sleep":
        return f"{at_s:9.3f}s  sleep"
    if record.get("k") == "wake":
        slept_s = record.get("slept", 0) / 1000
        return f"{at_s:9.3f}s  wake  by={record.get('why')} slept={slept_s:.1f}s"
    return None


def _stop_on_term(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_serve(args: argparse.Namespace) -> int:
    options = _options(args)
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    device = VirtualDevice(options)
    previous = signal.signal(signal.SIGTERM, _stop_on_term)
    try:
        device.start()
        device.lend_buttons()
        ctl = device.require_control()
        if args.json:
            info = {
                "port": device.pty_path,
                "device_id": device.device_id,
                "flash": str(device.flash_path),
                "speed": options.speed,
                "pid": device.proc.pid if device.proc else None,
            }
            if device.romfs_image is not None:
                info["romfs"] = str(device.romfs_image)
            if options.screen is not None:
                info["screen"] = options.screen
            if device.air is not None:
                info["ble_name"] = device.ble_name
                info["radio"] = device.air.radio_path
            sys.stdout.write(json.dumps(info) + "\n")
            sys.stdout.flush()
        else:
            console.print(f"virtual device {device.device_id} on [bold]{device.pty_path}[/bold]")
            where = options.flash or "a temporary image"
            console.print(f"flash: {where}; clock x{options.speed}; Ctrl-C stops it")
            console.print("buttons: repcue sim press lap|skip|pause|start|stop")
            if device.romfs_image is not None:
                console.print(f"ROMFS: {device.romfs_image} mounted at /rom")
            if device.air is not None:
                console.print(
                    f"BLE: advertising as [bold]{device.ble_name}[/bold] "
                    f"(--device ble:{device.ble_name}; radio {device.air.radio_path})"
                )
        if not args.quiet:
            ctl.add_listener(lambda r: _echo(r, args.json, console))
        if options.screen is not None and not args.json:
            sim_screen.show_live(device, console)
        while device.running:
            time.sleep(0.2)
        err.print(f"error: the virtual device stopped: {device.stderr_tail() or 'no message'}")
        return SimError.exit_code
    except KeyboardInterrupt:
        return 0
    finally:
        # a second SIGTERM must not cut the clean-up short (it removes the radio socket)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        device.stop()
        signal.signal(signal.SIGTERM, previous)


def _echo(record: dict[str, Any], as_json: bool, console: Console) -> None:
    if as_json:
        if record.get("k") in ("cue", "ev", "log", "sleep", "wake"):
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()
        return
    line = _describe(record)
    if line is not None:
        console.print(line, markup=False)


def cmd_press(args: argparse.Namespace) -> int:
    buttons.press(buttons.find_served(args.port), args.button)
    return 0
