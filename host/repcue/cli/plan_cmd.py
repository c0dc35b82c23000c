"""`repcue plan check|templates|new`: look at a plan before a device runs it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from repcue.cli import plan_export_cmd
from repcue.errors import PathError, PlanError
from repcue.paths import existing_file, new_file, path_error, write_text
from repcue.plan import (
    FORMATS,
    Format,
    Plan,
    Profile,
    default_profile_path,
    load_profile,
    parse,
)
from repcue.plan.describe import end_text, target_text
from repcue.plan.fit_read import looks_like_fit, parse_fit_workout
from repcue.plan.icu_write import icu_text
from repcue.plan.report import PlanReport, build_report, profile_hint
from repcue.plan.templates import get_template, load_templates
from repcue.plan.units import fmt_clock, fmt_distance

PLAN_SUFFIXES = (".txt", ".plan", ".icu", ".repcue", ".md")
PLAN_HELP = "a plan file (text, or a FIT workout), '-' for stdin, or plan text"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser("plan", help="check workout plans and write new ones from templates")
    commands = plan.add_subparsers(dest="plan_command", required=True, metavar="COMMAND")

    check_p = commands.add_parser(
        "check", help="show the timeline, totals and device program of a plan"
    )
    check_p.add_argument("plan", metavar="PLAN", help=PLAN_HELP)
    check_p.add_argument("--json", action="store_true", help="print one JSON object")
    check_p.add_argument("--profile", type=Path, metavar="FILE", help="athlete profile (TOML)")
    check_p.add_argument("--format", choices=FORMATS, default="auto", help="plan format")
    check_p.set_defaults(func=cmd_check)

    plan_export_cmd.register(commands)

    list_p = commands.add_parser("templates", help="list the plan templates and their parameters")
    list_p.set_defaults(func=cmd_templates)

    new_p = commands.add_parser("new", help="write a plan from a template")
    new_p.add_argument("template", metavar="NAME", help="template name (see `plan templates`)")
    new_p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")
    new_p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    users: dict[str, list[str]] = {}
    for template in load_templates().values():
        for name in template.param_names():
            users.setdefault(name, []).append(template.name)
    for name, used_by in sorted(users.items()):
        new_p.add_argument(
            f"--{name}", dest=f"param_{name}", metavar="VALUE", help=f"for {', '.join(used_by)}"
        )
    new_p.set_defaults(func=cmd_new)


def say(console: Console, text: str, style: str | None = None) -> None:
    """One line of plain text: no markup, and never wrapped (paths stay copyable)."""
    console.print(text, style=style, markup=False, soft_wrap=True)


# --- check --------------------------------------------------------------------------------


def read_plan(arg: str) -> tuple[str, str]:
    """(plan text, default name) from a file, stdin (`-`) or the argument itself."""
    if arg == "-":
        return sys.stdin.read(), ""
    path = Path(arg)
    looks_like_file = path.suffix.lower() in PLAN_SUFFIXES and " " not in arg
    try:
        is_file = path.is_file()
    except OSError:  # plan text too long to be a file name
        is_file = False
    if is_file or looks_like_file:
        existing_file(path, "plan file")
        try:
            return path.read_text(encoding="utf-8"), path.stem
        except OSError as exc:
            raise path_error(exc, arg, "plan file") from exc
        except UnicodeDecodeError as exc:
            raise PathError(f"plan file {arg} is not UTF-8 text: {exc}", path=arg) from exc
    return arg, ""


def read_fit_plan(arg: str) -> Plan | None:
    """The plan of the FIT workout file `arg` names (by its .fit suffix or its header), or
    None when `arg` is no FIT file."""
    path = Path(arg)
    try:
        is_file = arg != "-" and path.is_file()
    except OSError:  # plan text too long to be a file name
        is_file = False
    if not is_file and path.suffix.lower() != ".fit":
        return None
    existing_file(path, "FIT workout file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise path_error(exc, arg, "plan file") from exc
    if path.suffix.lower() != ".fit" and not looks_like_fit(data):
        return None
    return parse_fit_workout(data, path.stem, where=arg)


def fit_plan_text(plan: Plan, profile: Profile | None) -> str:
    """The intervals.icu text of a plan read from FIT, "" when that text cannot hold it."""
    try:
        return icu_text(plan, profile.named_paces() if profile else None).text
    except PlanError:
        return ""


def read_source(arg: str) -> tuple[str, str, Plan | None]:
    """(text, default name, None) of plan text, or ("", "", plan) of a FIT workout: from a
    file, stdin (`-`, text or FIT) or the argument itself."""
    if arg == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # a text stream (tests, embedding)
            return sys.stdin.read(), "", None
        data = raw.read()
        if looks_like_fit(data):
            return "", "", parse_fit_workout(data, where="stdin")
        try:
            return data.decode("utf-8"), "", None
        except UnicodeDecodeError as exc:
            raise PathError(f"stdin is neither UTF-8 text nor a FIT file: {exc}", path="-") from exc
    plan = read_fit_plan(arg)
    if plan is not None:
        return "", "", plan
    text, name = read_plan(arg)
    return text, name, None


def load_plan(arg: str, fmt: Format, profile: Profile | None) -> tuple[Plan, str]:
    """(plan, its text) from a plan file, a FIT workout file, stdin or the argument itself;
    a FIT workout's text is its intervals.icu text ("" when that text cannot hold it)."""
    text, name, plan = read_source(arg)
    if plan is not None:
        return plan, fit_plan_text(plan, profile)
    return parse(text, fmt, name), text


def cmd_check(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    fmt: Format = args.format
    plan, _ = load_plan(args.plan, fmt, profile)
    report = build_report(plan, profile)
    hint = None
    if report.unknown_paces:
        hint = profile_hint(args.profile or default_profile_path(), report.unknown_paces)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
        if hint:
            say(Console(stderr=True, highlight=False), hint)
        return 0
    out = Console(highlight=False)
    render_report(out, report)
    if hint:
        say(out, hint, style="yellow")
    return 0


def render_report(out: Console, report: PlanReport) -> None:
    plan = report.plan
    title = plan.name or "plan"
    out.print(f"[bold]{escape(title)}[/bold]  ({plan.format}, {len(report.steps)} steps)")
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    for column in ("kind", "ends by", "target"):
        table.add_column(column)
    for column in ("planned", "cumulative"):
        table.add_column(column, justify="right")
    unknown_before = False
    for step in report.steps:
        kind = step.kind.value + (f" {step.context}" if step.context else "")
        target = target_text(step.target, report.paces)
        if step.label and step.label not in target:
            # `jog down` says more than `jog`; `hard · hills` needs both
            target = (
                f"{target} · {step.label}" if target and target not in step.label else step.label
            )
        planned = "?" if step.planned_s is None else fmt_clock(step.planned_s)
        unknown_before = unknown_before or step.planned_s is None
        cumulative = fmt_clock(step.start_s + (step.planned_s or 0.0))
        table.add_row(
            str(step.index),
            kind,
            end_text(step.end),
            target,
            planned,
            cumulative + ("+?" if unknown_before else ""),
        )
    out.print(table)
    total = fmt_clock(report.total_time_s)
    if report.unknown_time_steps:
        total = f"at least {total} ({report.unknown_time_steps} steps without an estimate)"
    if report.total_distance_m:
        total += f" · distance steps {fmt_distance(report.total_distance_m)}"
    say(out, f"total {total} · {report.work_steps} work steps")
    ratio = report.work_rest_ratio
    if ratio is not None:
        work, rest = fmt_clock(report.work_s), fmt_clock(report.rest_s)
        say(out, f"work:rest {work} : {rest} = {ratio:.2f}:1")
    else:
        say(out, "work:rest unknown (needs the time of every work and recovery step)")
    verdict = "yes" if report.anaerobic else "no"
    say(out, f"anaerobic: {verdict} ({report.anaerobic_reason})")
    line = f"device program: {len(report.program)} bytes, id {report.program_id:08x}"
    if report.seeds:
        line += f", seed {', '.join(str(s) for s in report.seeds)}"
    say(out, line)
    for warning in report.warnings:
        say(out, f"warning: {warning}", style="yellow")


# --- templates ------------------------------------------------------------------------------


def cmd_templates(args: argparse.Namespace) -> int:
    out = Console(highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("name")
    table.add_column("what")
    table.add_column("parameters (default)")
    for template in load_templates().values():
        params = ", ".join(f"--{p.name} {p.default}" for p in template.params)
        table.add_row(template.name, template.summary, params)
    out.print(table)
    say(
        out,
        "write one out: repcue plan new NAME [--PARAM VALUE ...] [-o FILE] "
        "(repcue plan new --help explains each parameter)",
    )
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    template = get_template(args.template)
    values = {
        key.removeprefix("param_"): value
        for key, value in vars(args).items()
        if key.startswith("param_") and value is not None
    }
    text = template.render(values)
    plan = parse(text, "repcue")  # a bad value shows as a located PlanError
    if args.output is None:
        sys.stdout.write(text)
        return 0
    output = new_file(args.output, "output file", overwrite=args.force)
    write_text(output, text, "output file")
    err = Console(stderr=True, highlight=False)
    say(err, f"wrote {args.output} ({plan.name}); check it with: repcue plan check {args.output}")
    return 0
