"""intervals.icu workout text: section lines, `- ` step lines, `Nx` repeat blocks.

    Warmup
    - 10m 60%
    Main set 5x
    - 400mtr 95% pace
    - 2m Z2 press lap

    Cooldown
    - 10m Z1

`m` is minutes and `mtr` metres; text before a step's numbers is its cue text. Targets map to
what the device knows: `% Pace` is percent of threshold speed, `Zn` (any kind) is zone n,
`% HR`, `% LTHR` and power `%` (of FTP) become zones by the usual tables; watts and cadence
are left out with a warning. A repeat block ends at a blank line or the next section.
"""

from __future__ import annotations

import re

from repcue.plan.attrs import StepReader
from repcue.plan.kinds import Draft, Item, settle
from repcue.plan.lexer import Source, Tok, Token, tokenize
from repcue.plan.model import (
    Distance,
    Duration,
    Effort,
    End,
    HrZone,
    Open,
    Pace,
    Plan,
    Repeat,
    StepKind,
    Target,
)
from repcue.plan.parser import text_seed
from repcue.plan.targets import EFFORT_WORDS

_STEP_LINE = re.compile(r"^\s*[-–]\s*\S")
_KIND_TEXT = {
    "warmup": StepKind.WARMUP,
    "warm": StepKind.WARMUP,
    "warm-up": StepKind.WARMUP,
    "cooldown": StepKind.COOLDOWN,
    "cool": StepKind.COOLDOWN,
    "cool-down": StepKind.COOLDOWN,
    "recovery": StepKind.RECOVERY,
    "recover": StepKind.RECOVERY,
    "rec": StepKind.RECOVERY,
    "rest": StepKind.REST,
    "work": StepKind.WORK,
}
# Upper bounds (exclusive) of zones 1-4 for each kind of percentage; above the last is zone 5.
_ZONE_BOUNDS = {
    "hr": (60, 70, 80, 90),  # % of max HR
    "lthr": (85, 90, 95, 100),  # % of threshold HR
    "power": (56, 76, 91, 106),  # % of FTP (Coggan)
}


def looks_like_icu(text: str) -> bool:
    """intervals.icu text has `- ` step lines; the plan language never starts a line so."""
    return any(_STEP_LINE.match(line) for line in text.splitlines())


def parse_icu(text: str, name: str = "") -> Plan:
    src = Source(text)
    lines: list[list[Token]] = [[] for _ in src.lines]
    for tok in tokenize(src):
        if tok.kind not in (Tok.NEWLINE, Tok.END) and tok.line <= len(lines):
            lines[tok.line - 1].append(tok)
    return IcuParser(src).plan(lines, name)


class IcuLine(StepReader):
    """One step line (after its dash)."""

    m_means_minutes = True

    def __init__(self, src: Source, tokens: list[Token], warnings: list[str]) -> None:
        last = tokens[-1] if tokens else None
        line = last.line if last else 1
        col = last.col + len(last.text) if last else 1
        super().__init__(src, [*tokens, Token(Tok.END, "", line, col, False)])
        self.warnings = warnings

    def step(self, dash: Token, section: StepKind | None) -> Draft:
        draft = Draft(self.peek().pos if self.peek().kind is not Tok.END else dash.pos)
        text: list[str] = []
        words: list[str] = []  # of the cue text: kind words and efforts count
        amount = None
        lap = False
        while self.peek().kind is not Tok.END:
            tok = self.peek()
            target = self._target()
            if target is not None:
                draft.target = draft.target or target
            elif tok.kind is Tok.NUM and self.is_word("rpm", "w", k=1) and self.peek(1).glued:
                self.next()
                self.warnings.append(f"line {tok.line}: {tok.text}{self.next().text} left out")
            elif tok.kind in (Tok.NUM, Tok.TIME) and amount is None:
                amount = self.amount()
            elif self.two_words("press", "lap") or self.accept_word("lap"):
                lap = True
            elif self.accept_word("ramp", "freeride"):
                pass
            elif tok.kind is Tok.NUM:
                raise self.error(
                    tok, "expected one duration or distance per step; found a second one"
                )
            else:
                self.next()
                text.append(tok.text)
                if tok.kind is Tok.WORD:
                    words.append(tok.word)
                    draft.kind = draft.kind or _KIND_TEXT.get(tok.word)
        if amount is not None:
            draft.end = self.end_of(amount)
        if draft.target is None:
            draft.target = next((Effort(EFFORT_WORDS[w]) for w in words if w in EFFORT_WORDS), None)
        draft.label = " ".join(text).strip(" -:")
        draft.kind = draft.kind or section
        if lap:
            draft.end = self._lap_end(draft)
        if draft.end is None:
            raise self.error(
                self.toks[0] if self.toks[0].kind is not Tok.END else dash,
                "expected a duration like 10m or 1m30, a distance like 400mtr, or 'press lap'",
            )
        return draft

    @staticmethod
    def _lap_end(draft: Draft) -> End:
        end = draft.end
        if isinstance(end, Duration):
            return Open(end.seconds)
        return end if isinstance(end, Distance) else Open()

    def _target(self) -> Target | None:
        tok = self.peek()
        if tok.kind is Tok.NUM and (
            self.peek(1).kind is Tok.PERCENT
            or (
                self.peek(1).kind is Tok.DASH
                and self.peek(2).kind is Tok.NUM
                and self.peek(3).kind is Tok.PERCENT
            )
        ):
            return self._percent()
        if tok.kind is Tok.TIME:
            return self._pace()
        if self.is_word("z") and self.peek(1).kind is Tok.NUM and self.peek(1).glued:
            return self._zone()
        if self.is_word("rpe"):
            return self._word_target()
        return None

    def _range(self) -> tuple[float, Token]:
        """`95` or `90-100`: the middle, and the first token."""
        first = self.next()
        value = first.number
        if self.peek().kind is Tok.DASH:
            self.next()
            value = (value + self.next().number) / 2
        return value, first

    def _percent(self) -> Target:
        value, first = self._range()
        self.next()  # '%'
        if self.accept_word("pace"):
            return Pace("threshold", None, round(value))
        kind = "power"
        if self.accept_word("hr"):
            kind = "hr"
        elif self.accept_word("lthr"):
            kind = "lthr"
        zone = 1 + sum(value >= bound for bound in _ZONE_BOUNDS[kind])
        if kind == "power":
            self.warnings.append(
                f"line {first.line}: {value:g}% of FTP (power) is shown as zone {zone}"
            )
        return HrZone(zone)

    def _zone(self) -> Target:
        self.next()
        low = self.next()
        high = low
        if self.peek().kind is Tok.DASH and self.is_word("z", k=1):
            self.next()
            self.next()
            high = self.next()
        self.accept_word("hr", "pace", "power")
        zone = (int(low.number) + int(high.number)) // 2
        if not 1 <= low.number <= 7 or not 1 <= high.number <= 7:
            raise self.error(low, "expected a zone from Z1 to Z7")
        return HrZone(min(zone, 5))

    def _pace(self) -> Target:
        """`5:00/km`, `7:15-7:00/mi Pace`: a range means its middle, the unit covers both."""
        first = self.next()
        seconds = first.number
        if self.peek().kind is Tok.DASH and self.peek(1).kind is Tok.TIME:
            self.next()
            seconds = (seconds + self.next().number) / 2
        return self.pace_value(first, seconds * self.pace_unit())


class IcuParser:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.warnings: list[str] = []

    def plan(self, lines: list[list[Token]], default_name: str) -> Plan:
        name = ""
        top: list[Item] = []
        block: list[Item] | None = None
        block_head: tuple[int, Token] | None = None
        section: StepKind | None = None

        def close() -> None:
            nonlocal block, block_head
            if block_head is not None:
                count, head = block_head
                if not block:
                    raise self.src.error_at(
                        head, "expected steps like '- 2m Z4' after the repeat line"
                    )
                top.append(Repeat(count, settle(block, "repeat"), at=head.pos))
            block, block_head = None, None

        for toks in lines:
            if not toks:
                close()
                continue
            first = toks[0]
            if first.kind is Tok.DASH:
                reader = IcuLine(self.src, toks[1:], self.warnings)
                draft = reader.step(first, section)
                (block if block is not None else top).append(draft)
                continue
            if (
                first.kind is Tok.WORD
                and first.word in ("name", "title")
                and len(toks) > 1
                and toks[1].kind is Tok.COLON
            ):
                name = self.src.lines[first.line - 1][toks[1].col :].strip()
                continue
            close()
            words = {t.word for t in toks if t.kind is Tok.WORD}
            section = next((k for w, k in _KIND_TEXT.items() if w in words), None)
            if len(toks) >= 2 and toks[-1].kind is Tok.X and toks[-2].kind is Tok.NUM:
                reader = IcuLine(self.src, [toks[-2]], self.warnings)
                block, block_head = [], (reader.count(), toks[-2])
                section = None
        close()
        if not top:
            raise self.src.error("expected at least one step line like '- 10m Z2'", 1, 1)
        return Plan(
            name=name or default_name,
            nodes=settle(top, "top"),
            seed=None,
            text_seed=text_seed(self.src.text),
            format="icu",
            warnings=tuple(self.warnings),
        )
