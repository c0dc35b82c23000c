"""Seed templates: plan files with parameters, under repcue/plan/templates/*.txt.

A template is a plan with `{name}` placeholders, after comment lines that describe it and
declare each parameter with its default:

    # Hill repeats: short, steep hill segments run hard, jogging back down to recover.
    # param reps = 8: number of hill repeats
    hills {reps}x{rep} {effort}, jog down
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from repcue.errors import PlanError

_PARAM = re.compile(r"^#\s*param\s+(\w+)\s*=\s*([^:]+?)\s*:\s*(.*)$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
RANDOM_SEED = "random"


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    help: str


@dataclass(frozen=True)
class Template:
    name: str
    description: tuple[str, ...]  # comment lines, the first is the summary
    params: tuple[Param, ...]
    body: str

    @property
    def summary(self) -> str:
        return self.description[0] if self.description else ""

    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def render(self, values: Mapping[str, str] | None = None) -> str:
        """The plan text with `values` (else the defaults) filled in."""
        given = dict(values or {})
        unknown = sorted(set(given) - set(self.param_names()))
        if unknown:
            raise PlanError(
                f"template {self.name} has no parameter '{unknown[0]}'; expected one of "
                f"{', '.join(self.param_names())}"
            )
        filled: dict[str, str] = {}
        for param in self.params:
            value = str(given.get(param.name, param.default)).strip()
            if param.default.isdigit() and not value.isdigit():
                raise PlanError(f"expected a whole number for {param.name}, got '{value}'")
            if param.name == "seed" and value == RANDOM_SEED:
                value = str(secrets.randbelow(1_000_000))
            if not value or any(c in value for c in "\n,;{}"):
                raise PlanError(f"expected a single value for {param.name}, got '{value}'")
            filled[param.name] = value
        header = [f"# {line}" for line in self.description]
        header.append(
            f"# from template {self.name}: " + ", ".join(f"{k}={v}" for k, v in filled.items())
        )
        body = _PLACEHOLDER.sub(lambda m: filled[m.group(1)], self.body)
        return "\n".join(header) + "\n" + body


def parse_template(name: str, text: str) -> Template:
    description: list[str] = []
    params: list[Param] = []
    lines = text.splitlines()
    body_from = 0
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            body_from = i
            break
        match = _PARAM.match(line)
        if match:
            params.append(Param(match.group(1), match.group(2), match.group(3)))
        else:
            description.append(line.lstrip("#").strip())
    body = "\n".join(lines[body_from:]) + "\n"
    declared = {p.name for p in params}
    used = set(_PLACEHOLDER.findall(body))
    if used != declared:
        raise ValueError(
            f"template {name}: placeholders {sorted(used)} != params {sorted(declared)}"
        )
    return Template(name, tuple(description), tuple(params), body)


@cache
def load_templates() -> dict[str, Template]:
    """All bundled templates by name."""
    folder = resources.files("repcue.plan") / "templates"
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            name = entry.name.removesuffix(".txt")
            out[name] = parse_template(name, entry.read_text(encoding="utf-8"))
    return out


def get_template(name: str) -> Template:
    templates = load_templates()
    if name not in templates:
        raise PlanError(f"unknown template '{name}'; expected one of {', '.join(templates)}")
    return templates[name]
