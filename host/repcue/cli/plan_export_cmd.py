"""`repcue plan export PLAN --format fit|icu`: a plan as a Garmin workout or intervals.icu text.

A FIT workout needs `-o FILE` (it is binary); icu text goes to stdout without one. What the
other side cannot hold is said on stderr, one `warning:` line each; the file is still written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from repcue.errors import PathError
from repcue.paths import new_file, path_error, write_text
from repcue.plan import FORMATS, Format, load_profile
from repcue.plan.fit_workout import workout_file
from repcue.plan.icu_write import icu_text

EXPORT_FORMATS = ("fit", "icu")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="write a plan as a Garmin FIT workout or intervals.icu text",
        description="Write a plan as a FIT workout file (Garmin Connect, TrainingPeaks and "
        "watches import it) or as intervals.icu workout text. PLAN may itself be a FIT "
        "workout (a Garmin Connect workout -> intervals.icu text).",
    )
    export.add_argument(
        "plan", metavar="PLAN", help="a plan file (text or FIT), '-' for stdin, or plan text"
    )
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="what to write")
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here (icu: stdout without it)"
    )
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    export.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="athlete profile (TOML): named paces become speed targets (FIT) or paces (icu)",
    )
    export.add_argument(
        "--plan-format",
        choices=FORMATS,
        default="auto",
        help="the format of a text PLAN (default: auto)",
    )
    export.add_argument(
        "--json", action="store_true", help="print a JSON summary on stdout (with -o)"
    )
    export.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from repcue.cli.plan_cmd import load_plan, say  # plan_cmd registers this module

    profile = load_profile(args.profile)
    fmt: Format = args.plan_format
    plan, _ = load_plan(args.plan, fmt, profile)
    paces = profile.named_paces() if profile else None
    output = None
    if args.output is not None:
        output = new_file(args.output, "output file", overwrite=args.force)
    warnings = list(plan.warnings)
    if args.format == "fit":
        if output is None:
            raise PathError("a FIT workout is binary: name the file with -o FILE", path="-")
        data, more = workout_file(plan, paces)
        warnings += more
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise path_error(exc, output, "output file") from exc
        size = len(data)
    else:
        written = icu_text(plan, paces)
        warnings += written.warnings
        size = len(written.text.encode())
        if output is None:
            sys.stdout.write(written.text)
        else:
            write_text(output, written.text, "output file")
    err = Console(stderr=True, highlight=False)
    if args.json and output is not None:
        summary = {
            "plan": plan.name,
            "format": args.format,
            "output": str(output),
            "bytes": size,
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    elif output is not None:
        say(err, f"wrote {output} ({plan.name}, {args.format}, {size} bytes)")
    if args.json and output is not None:
        return 0  # the warnings are in the summary
    for warning in warnings:
        say(err, f"warning: {warning}", style="yellow")
    return 0
