"""`repcue firmware build` and `repcue firmware install --port PORT`."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from repcue.firmware_build import build, build_image, install
from repcue.firmware_build.bundle import PORT_MAKE
from repcue.firmware_build.source import BOARDS
from repcue.paths import existing_folder, new_folder, path_error

DEFAULT_BUNDLE = Path("build") / "repcue-firmware"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fw = sub.add_parser("firmware", help="build the firmware bundle and put it on a board")
    fw_sub = fw.add_subparsers(dest="firmware_command", required=True, metavar="COMMAND")

    b = fw_sub.add_parser("build", help="cross-compile firmware/ to .mpy with mpy-cross")
    b.add_argument(
        "-o", "--output", type=Path, default=None, metavar="DIR",
        help=f"bundle directory (default: {DEFAULT_BUNDLE})",
    )  # fmt: skip
    b.add_argument("--no-sim", action="store_true", help="leave out the sim board's modules")
    b.add_argument(
        "--board", choices=tuple(BOARDS), default=None, metavar="NAME",
        help="build for one board: its profile and only the drivers it uses "
        f"({', '.join(BOARDS)})",
    )  # fmt: skip
    b.add_argument(
        "--manifest", action="store_true",
        help="say how to freeze the bundle into a custom MicroPython image with its "
        "manifest.py (frozen bytecode runs from flash and costs no RAM)",
    )  # fmt: skip
    b.add_argument(
        "--romfs", action="store_true",
        help="also write romfs.img: repcue_fw/ as a ROMFS image for a board with a ROMFS "
        "partition (`mpremote romfs deploy`; its bytecode then runs from flash, not RAM)",
    )  # fmt: skip
    b.add_argument("--json", action="store_true", help="print JSON for scripts")
    b.set_defaults(func=cmd_build)

    i = fw_sub.add_parser("install", help="copy the bundle to a board with mpremote")
    i.add_argument("--port", required=True, metavar="PORT", help="serial port, e.g. /dev/ttyACM0")
    i.add_argument(
        "--bundle", type=Path, default=None, metavar="DIR",
        help="a bundle from `repcue firmware build` (default: build one now)",
    )  # fmt: skip
    i.add_argument(
        "--board", choices=tuple(BOARDS), default=None, metavar="NAME",
        help="without --bundle: build this board's bundle (default: every real board's)",
    )  # fmt: skip
    i.add_argument("--dir", default="/", metavar="PATH", help="where on the board (default: /)")
    i.add_argument(
        "--no-reset", action="store_true",
        help="do not soft-reset before and after (needed for the unix-port virtual device)",
    )  # fmt: skip
    i.add_argument("--json", action="store_true", help="print JSON for scripts")
    i.set_defaults(func=cmd_install)


def cmd_build(args: argparse.Namespace) -> int:
    if args.output is None:
        args.output = DEFAULT_BUNDLE  # the default place: created with its parents
    else:
        new_folder(args.output, "-o")  # a folder the user named: its parent must be there
    try:
        files = build(args.output, include_sim=not args.no_sim, board=args.board)
        image = build_image(args.output) if args.romfs else None
    except OSError as err:
        raise path_error(err, args.output, "bundle folder") from err
    total = sum(f.size for f in files)
    if args.json:
        out: dict[str, object] = {
            "bundle": str(args.output.resolve()),
            "board": args.board,
            "manifest": str((args.output / "manifest.py").resolve()),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files],
            "total_bytes": total,
        }
        if image is not None:
            out["romfs"] = {
                "path": str((args.output / image.path).resolve()),
                "size": image.size,
                "sha256": image.sha256,
            }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 0
    console = Console(highlight=False)
    table = Table(title=f"Firmware bundle {args.output}", title_justify="left")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for f in files:
        table.add_row(f.path, str(f.size))
    table.add_row("[bold]total[/bold]", f"[bold]{total}[/bold]")
    console.print(table)
    manifest = args.output.resolve() / "manifest.py"
    console.print(f"manifest for freezing: {manifest}")
    if args.manifest:
        make = PORT_MAKE[args.board or "esp32c3"]
        console.print(
            "freeze it into a MicroPython image (in a clone of micropython, after "
            f"`make -C mpy-cross`):\n  {make} FROZEN_MANIFEST={manifest}\n"
            "then flash the image and copy only main.py: "
            f"mpremote cp {manifest.parent / 'main.py'} :",
            markup=False,
            soft_wrap=True,
        )
    if image is not None:
        console.print(
            f"ROMFS image: {args.output / image.path} ({image.size} bytes; "
            f"put it on a board with `mpremote romfs deploy {args.output / image.path}`)"
        )
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    console = Console(highlight=False, stderr=args.json)
    with tempfile.TemporaryDirectory(prefix="repcue-bundle-") as tmp:
        bundle = args.bundle
        if bundle is not None:
            existing_folder(bundle, "--bundle")
        else:
            bundle = Path(tmp) / "bundle"
            console.print("building the firmware bundle...")
            build(bundle, include_sim=False, board=args.board)

        def progress(action: str, path: str) -> None:
            if action != "skip":
                console.print(f"  {action:6} {path}", markup=False)

        report = install(
            bundle, args.port, remote_dir=args.dir, soft_reset=not args.no_reset, progress=progress
        )
    if args.json:
        out = {"copied": report.copied, "skipped": report.skipped, "removed": report.removed}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        console.print(
            f"installed on {args.port}: {len(report.copied)} copied, "
            f"{len(report.skipped)} unchanged, {len(report.removed)} removed"
        )
    return 0
