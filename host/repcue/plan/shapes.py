"""Shapes of a part beyond one step: ladders, on/off blocks and random fartleks.

200-400-600-800-600-400-200 @5k w/ equal jog      rungs with recoveries between them
2-4-6-4-2min @5k w/ 1-1.5-2-1.5min jog            a recovery list, one per gap
40/20 x 20min                                     40 s on, 20 s off, whole rounds
fartlek 20min: 8 surges 30-90s, seed 7            resolved later from the seed
"""

from __future__ import annotations

from collections.abc import Callable

from repcue.errors import PlanError
from repcue.plan.attrs import STEP_START, StepReader
from repcue.plan.kinds import Draft, labelled
from repcue.plan.lexer import Source, Tok, Token
from repcue.plan.model import Duration, End, Fartlek, Open, Repeat, Step, StepKind
from repcue.plan.reader import Amount
from repcue.plan.units import fmt_duration

MAX_SEED = 0xFFFFFFFF
MAX_SURGES = 60


class ShapeReader(StepReader):
    def __init__(self, src: Source, tokens: list[Token]) -> None:
        super().__init__(src, tokens)
        self.warnings: list[str] = []

    def seed_value(self) -> int:
        tok = self.peek()
        if tok.kind is not Tok.NUM or tok.number != int(tok.number) or tok.number > MAX_SEED:
            raise self.error(tok, f"expected a whole number seed from 0 to {MAX_SEED}")
        self.next()
        return int(tok.number)

    # --- ladders, on/off blocks, fartleks ----------------------------------------------------

    def _lookahead(self, probe: Callable[[], bool]) -> bool:
        """Whether `probe` sees its shape here; the position is kept either way."""
        mark = self.i
        try:
            found = probe()
        except PlanError:
            found = False
        self.i = mark
        return found

    def ladder_ahead(self) -> bool:
        return self._lookahead(self._probe_ladder)

    def _probe_ladder(self) -> bool:
        return (
            self.amount() is not None
            and self.peek().kind is Tok.DASH
            and self.peek(1).kind in (Tok.NUM, Tok.TIME)
        )

    def amount_list(self) -> list[End]:
        """`200-400-600m`, `2-4-6-4-2min`, `1-1.5-2min`: the last unit applies to all."""
        amounts = [self.amount()]
        while self.peek().kind is Tok.DASH:
            self.next()
            amounts.append(self.amount())
            if amounts[-1] is None:
                raise self.error(self.peek(), "expected a number after '-'")
        written = [a for a in amounts if a is not None]
        unit = written[-1]
        biggest = max(a.number for a in written)
        ends = []
        for a in written:
            if a.kind == "":
                a = Amount(a.tok, a.number, unit.scale, unit.kind)
            ends.append(self.end_of(a, m_decider=biggest))
        return ends

    def ladder(self, label: str) -> list[Step]:
        """Rungs as flat steps, with recoveries between them (`w/ equal jog`, `w/ 1-2-1min`)."""
        first = self.peek()
        rungs = self.amount_list()
        rung = labelled(self.draft(need_end=False), label)
        gaps: list[End] = []
        gap = Draft(first.pos, kind=StepKind.RECOVERY)
        sep = self.peek()
        if sep.kind in (Tok.WITH, Tok.SLASH):
            self.next()
            if self.accept_word("equal"):
                gaps = rungs[:-1]
                gap = self.draft(need_end=False)
            elif self.ladder_ahead():
                list_tok = self.peek()
                gaps = self.amount_list()
                if len(gaps) not in (len(rungs) - 1, len(rungs)):
                    raise self.error(
                        list_tok,
                        f"expected {len(rungs) - 1} or {len(rungs)} recoveries for "
                        f"{len(rungs)} rungs, got {len(gaps)}",
                    )
                gap = self.draft(need_end=False)
            else:
                if self.peek().kind not in STEP_START:
                    raise self.error(
                        self.peek(), f"expected a duration like 90s or 1:30 after '{sep.text}'"
                    )
                gap = self.draft(after=sep.text)
                gaps = [gap.end or Open()] * (len(rungs) - 1)
        steps: list[Step] = []
        for i, end in enumerate(rungs):
            rung.end = end
            steps.append(rung.step(StepKind.WORK))
            if i < len(gaps):
                gap.end = gaps[i]
                steps.append(gap.step(StepKind.RECOVERY))
        return steps

    def onoff_ahead(self) -> bool:
        return self._lookahead(self._probe_onoff)

    def _probe_onoff(self) -> bool:
        if self.amount() is None or self.peek().kind is not Tok.SLASH:
            return False
        self.next()
        return self.amount() is not None and (self.peek().kind is Tok.X or self.is_word("for"))

    def onoff(self, label: str) -> Repeat:
        """`40/20 x 20min`: 40 s on, 20 s off, as many whole rounds as fit (or `x 10` rounds)."""
        first = self.peek()
        on = self.end_of(_must(self.amount()), bare="s")
        self.next()  # '/'
        off = self.end_of(_must(self.amount()), bare="s")
        self.next()  # 'x' or 'for'
        if not isinstance(on, Duration) or not isinstance(off, Duration):
            raise self.error(first, "expected times like 40/20 or 40s/20s before 'x'")
        round_s = on.seconds + off.seconds
        total_tok = self.peek()
        total = self.amount()
        if total is None:
            raise self.error(total_tok, "expected a total duration like 20min after 'x'")
        if total.kind == "":
            self.i -= 1
            rounds = self.count("a number of rounds")
        else:
            total_end = self.end_of(total)
            if not isinstance(total_end, Duration):
                raise self.error(total_tok, "expected a total duration like 20min after 'x'")
            rounds, spare_s = divmod(total_end.seconds, round_s)
            if rounds < 1:
                raise self.error(
                    total_tok, f"expected a total of at least one round ({fmt_duration(round_s)})"
                )
            if spare_s:
                block = f"{on.seconds}/{off.seconds}"
                self.warnings.append(
                    f"line {first.line}: {rounds} whole rounds of {block} fit in "
                    f"{fmt_duration(total_end.seconds)}; the last {fmt_duration(spare_s)} "
                    "are left out"
                )
        extra = self.draft(need_end=False)
        work = Step(
            StepKind.WORK,
            on,
            extra.target,
            extra.countdown_s,
            extra.halfway,
            label or f"{on.seconds}/{off.seconds}",
            first.pos,
        )
        return Repeat(rounds, (work, Step(StepKind.RECOVERY, off, at=first.pos)), at=first.pos)

    def random_fartlek_ahead(self) -> bool:
        return self._lookahead(self._probe_fartlek)

    def _probe_fartlek(self) -> bool:
        if self.amount() is None:
            return False
        return self.peek().kind is Tok.COLON or self.is_word("surges", "surge", k=1)

    def fartlek(self, label_tok: Token) -> Fartlek:
        """`fartlek 20min: 8 surges 30-90s [@5k] [, seed 7]`."""
        total = self.end_of(_must(self.amount()))
        if not isinstance(total, Duration):
            raise self.error(label_tok, "expected the fartlek's duration, like fartlek 20min:")
        if self.peek().kind is Tok.COLON:
            self.next()
        if self.peek().kind is not Tok.NUM:
            raise self.error(self.peek(), "expected a number of surges, like '8 surges'")
        count_tok = self.peek()
        surges = self.count("a number of surges")
        if surges > MAX_SURGES:
            raise self.error(count_tok, f"expected at most {MAX_SURGES} surges")
        if not self.accept_word("surges", "surge"):
            raise self.error(self.peek(), "expected 'surges' after the number of surges")
        low_tok = self.peek()
        low = self.amount()
        if low is None:
            raise self.error(low_tok, "expected a surge range like 30-90s after 'surges'")
        high = low
        if self.peek().kind is Tok.DASH:
            self.next()
            high_amount = self.amount()
            if high_amount is None:
                raise self.error(self.peek(), "expected a surge range like 30-90s after 'surges'")
            high = high_amount
        if low.kind == "":
            low = Amount(low.tok, low.number, high.scale, high.kind)
        low_end, high_end = self.end_of(low, bare="s"), self.end_of(high, bare="s")
        if not isinstance(low_end, Duration) or not isinstance(high_end, Duration):
            raise self.error(low_tok, "expected surge times like 30-90s, not distances")
        if low_end.seconds > high_end.seconds:
            raise self.error(low_tok, "expected the shorter surge first, like 30-90s")
        surge = self.draft(need_end=False)
        seed = None
        mark = self.i
        if self.peek().kind is Tok.SEP:
            self.next()
        if self.accept_word("seed"):
            seed = self.seed_value()
        else:
            self.i = mark
        fartlek = Fartlek(
            total.seconds,
            surges,
            low_end.seconds,
            high_end.seconds,
            seed,
            surge.target,
            at=label_tok.pos,
        )
        if not fartlek.fits():
            need_s = fartlek.longest_s
            longest, shortest = fmt_duration(high_end.seconds), fmt_duration(low_end.seconds)
            raise self.error(
                label_tok,
                f"expected surges that fit: {surges} surges of up to {longest} with at least "
                f"{shortest} easy around each need {fmt_duration(need_s)}, the fartlek is "
                f"{fmt_duration(total.seconds)}",
            )
        return fartlek


def _must(amount: Amount | None) -> Amount:
    if amount is None:  # only after a lookahead that saw it
        raise ValueError("amount expected")
    return amount
