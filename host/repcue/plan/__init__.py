"""Workout plans: parse (plan language or intervals.icu), check, and compile for the device.

from repcue.plan import parse, check, program_bytes
plan = parse("10min wu, 6x800m @5k w/ 90s jog, 10min cd")
report = check(text, profile=load_profile())     # timeline, totals, anaerobic, program
data = program_bytes(plan, load_profile())       # what a device runs (wire/host/program.py)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from repcue.plan import compile as compiler
from repcue.plan.fartlek import resolve
from repcue.plan.icu import looks_like_icu, parse_icu
from repcue.plan.model import (
    Cues,
    Distance,
    Duration,
    Effort,
    Fartlek,
    HrZone,
    Open,
    Pace,
    Plan,
    Repeat,
    Rpe,
    Step,
    StepKind,
)
from repcue.plan.naming import derived_name
from repcue.plan.parser import parse_plan
from repcue.plan.profile import NamedPaces, Profile, default_profile_path, load_profile
from repcue.plan.report import PlanReport, build_report

Format = Literal["auto", "repcue", "icu"]
FORMATS: tuple[Format, ...] = ("auto", "repcue", "icu")


def detect_format(text: str) -> Literal["repcue", "icu"]:
    return "icu" if looks_like_icu(text) else "repcue"


def parse(text: str, fmt: Format = "auto", name: str = "") -> Plan:
    """Plan text -> Plan; PlanError (line, column, caret) for bad input."""
    chosen = detect_format(text) if fmt == "auto" else fmt
    plan = parse_icu(text, name) if chosen == "icu" else parse_plan(text, name)
    # a plan typed inline or piped in still names its sessions, by its main set
    return plan if plan.name else replace(plan, name=derived_name(text))


def check(
    text: str, *, fmt: Format = "auto", profile: Profile | None = None, name: str = ""
) -> PlanReport:
    """Everything `repcue plan check` shows about a plan."""
    return build_report(parse(text, fmt, name), profile)


def program_bytes(plan: Plan, profile: Profile | None = None) -> bytes:
    """The device program of a plan (fartleks resolved from their seeds)."""
    paces = profile.named_paces() if profile else NamedPaces()
    return compiler.encode(compiler.to_program(resolve(plan).nodes, plan.cues, paces, plan.name))


__all__ = [
    "FORMATS",
    "Cues",
    "Distance",
    "Duration",
    "Effort",
    "Fartlek",
    "Format",
    "HrZone",
    "NamedPaces",
    "Open",
    "Pace",
    "Plan",
    "PlanReport",
    "Profile",
    "Repeat",
    "Rpe",
    "Step",
    "StepKind",
    "check",
    "default_profile_path",
    "detect_format",
    "load_profile",
    "parse",
    "program_bytes",
]
