"""The plan model: what a workout is, independent of how it was written or where it runs.

A plan is a tree: steps and repeat blocks (nestable), plus random fartleks that are resolved
into steps from their seed. Everything is a frozen dataclass so plans can be compared, hashed
and shared freely; source positions are kept for messages but never compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from repcue_fw.wire.host import program as wp


class StepKind(StrEnum):
    WARMUP = "warmup"
    WORK = "work"
    RECOVERY = "recovery"
    REST = "rest"
    COOLDOWN = "cooldown"

    @property
    def wire(self) -> int:
        """The KIND_* code of the device program."""
        return int(wp.KIND_NAMES.index(self.value))


# Named paces a plan may use (`@5k`); the wire format numbers them by this same order.
PACE_NAMES: tuple[str, ...] = tuple(name for name in wp.PACE_NAMES if name)
# Effort words the device knows (`hard`, `jog`); index in the wire EFFORT_NAMES is the code.
EFFORTS: tuple[str, ...] = tuple(name for name in wp.EFFORT_NAMES if name)


@dataclass(frozen=True)
class SourcePos:
    """Where something was written: 1-based line and column."""

    line: int
    col: int


# --- what ends a step -------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    seconds: int


@dataclass(frozen=True)
class Distance:
    """Ends on the lap button on a device without GPS; the target pace gives the time."""

    metres: int
    estimate_s: int | None = None  # `200m jog ~60s`: used when no pace is known


@dataclass(frozen=True)
class Open:
    """Ends on the lap button (`jog down`, `press lap`)."""

    estimate_s: int | None = None


End = Duration | Distance | Open


# --- targets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """A pace target: a named pace from the athlete profile, or an explicit s/km.

    `percent` scales the named pace's speed (intervals.icu's `95% Pace` of threshold).
    """

    name: str = ""
    s_per_km: float | None = None
    percent: int = 100


@dataclass(frozen=True)
class Effort:
    word: str  # one of EFFORTS


@dataclass(frozen=True)
class Rpe:
    level: int  # 1-10


@dataclass(frozen=True)
class HrZone:
    zone: int  # 1-5


Target = Pace | Effort | Rpe | HrZone


# --- nodes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: StepKind
    end: End
    target: Target | None = None
    countdown_s: int | None = None  # None: the plan's default
    halfway: bool | None = None  # None: the plan's default
    label: str = ""  # what the coach called it: "tempo", "hills", "surge", "jog down"
    at: SourcePos | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Repeat:
    count: int
    body: tuple[Node, ...]
    # Leave out the body's trailing recovery/rest in the last round ("3min between sets").
    drop_last_recovery: bool = False
    at: SourcePos | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Fartlek:
    """`fartlek 20min: 8 surges 30-90s, seed 7`: random surges, fixed by the seed."""

    duration_s: int
    surges: int
    surge_min_s: int
    surge_max_s: int
    seed: int | None = None  # None: derived from the plan text (see Plan.text_seed)
    surge_target: Target | None = None
    at: SourcePos | None = field(default=None, compare=False)

    @property
    def min_gap_s(self) -> int:
        """Easy running before, between and after the surges is at least this long."""
        return self.surge_min_s

    @property
    def longest_s(self) -> int:
        """Time the surges and easy stretches need at the most."""
        return self.surges * self.surge_max_s + (self.surges + 1) * self.min_gap_s

    def fits(self) -> bool:
        return self.longest_s <= self.duration_s


Node = Step | Repeat | Fartlek


@dataclass(frozen=True)
class Cues:
    """Plan-wide cue options: countdown beeps before a change, halfway and last-rep cues."""

    countdown_s: int = 3
    halfway: bool = False
    last_rep: bool = True


@dataclass(frozen=True)
class Plan:
    name: str
    nodes: tuple[Node, ...]
    cues: Cues = Cues()
    seed: int | None = None  # a `seed:` line: the base seed of fartleks without their own
    text_seed: int = 0  # derived from the plan text (zlib.crc32) when no seed is written
    format: str = "repcue"  # "repcue" or "icu"
    warnings: tuple[str, ...] = ()  # things the parser mapped or left out, for the user

    @property
    def base_seed(self) -> int:
        return self.seed if self.seed is not None else self.text_seed
