"""The plan language: parts separated by commas, semicolons or new lines (docs/plans.md).

    10min wu, 6x800m @5k w/ 90s jog, 10min cd
    3x(4x400m @3k, 60s) 3min between sets
    200-400-600-800-600-400-200 @5k w/ equal jog
    40/20 x 20min
    fartlek 20min: 8 surges 30-90s, seed 7

This module reads the structure (header lines, parts, repeats, groups, recoveries);
shapes.py reads ladders, on/off blocks and fartleks, attrs.py the words of each step.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

from repcue.errors import PlanError
from repcue.plan.attrs import LABEL_WORDS, STEP_START
from repcue.plan.kinds import Draft, Item, labelled, settle
from repcue.plan.lexer import Source, Tok, Token, tokenize
from repcue.plan.model import Cues, Open, Plan, Repeat, Step, StepKind
from repcue.plan.shapes import ShapeReader
from repcue.plan.timeline import ends_with_recovery


def text_seed(text: str) -> int:
    """The seed of a plan that names none: CRC-32 of its words, so spacing and case do not
    change it but any real edit does."""
    return zlib.crc32(" ".join(text.lower().split()).encode("utf-8"))


def parse_plan(text: str, name: str = "") -> Plan:
    """Plan-language text -> Plan. Raises PlanError with line and column."""
    src = Source(text)
    return PlanParser(src, tokenize(src)).plan(name)


class PlanParser(ShapeReader):
    def __init__(self, src: Source, tokens: list[Token]) -> None:
        super().__init__(src, tokens)
        self.name = ""
        self.seed: int | None = None
        self.cues = Cues()

    def plan(self, default_name: str) -> Plan:
        items = self.items(None, None)
        if not items:
            raise self.error(self.toks[0], "expected at least one step, like '10min easy'")
        return Plan(
            name=self.name or default_name,
            nodes=settle(items, "top"),
            cues=self.cues,
            seed=self.seed,
            text_seed=text_seed(self.src.text),
            format="repcue",
            warnings=tuple(self.warnings),
        )

    # --- parts -----------------------------------------------------------------------------

    def items(self, closing: Tok | None, opener: Token | None) -> list[Item]:
        """Parts up to `closing` (or the end), flattened into one list."""
        items: list[Item] = []
        while True:
            while self.peek().kind in (Tok.SEP, Tok.NEWLINE):
                self.next()
            tok = self.peek()
            if tok.kind is Tok.END and opener is not None:
                raise self.error(
                    tok, f"expected ')' to close the '(' at line {opener.line}, column {opener.col}"
                )
            if tok.kind is Tok.END or tok.kind is closing:
                return items
            if tok.kind is Tok.RPAREN:
                raise self.error(tok, "unexpected ')': expected ',' or a step (no '(' is open)")
            if closing is None and self.header():
                continue
            items.extend(self.part())
            tok = self.peek()
            if tok.kind in (Tok.SEP, Tok.NEWLINE, Tok.END) or tok.kind is closing:
                continue
            if tok.kind is Tok.RPAREN:
                raise self.error(tok, "unexpected ')': expected ',' or a step (no '(' is open)")
            raise self.error(
                tok, f"unexpected {tok.shown()}: expected ',' or a new line before the next part"
            )

    def header(self) -> bool:
        """`name: ...`, `seed: 7`, `cues: countdown 5, halfway, no last rep`."""
        if self.is_word("name", "title") and self.peek(1).kind is Tok.COLON:
            colon = self.peek(1)
            self.name = self.src.lines[colon.line - 1][colon.col :].strip()
            while self.peek().kind not in (Tok.NEWLINE, Tok.END):
                self.next()
            return True
        if self.is_word("seed"):
            self.next()
            if self.peek().kind is Tok.COLON:
                self.next()
            self.seed = self.seed_value()
            return True
        if self.is_word("cues") and self.peek(1).kind is Tok.COLON:
            self.next()
            self.next()
            cues = self.cues
            while self.peek().kind not in (Tok.NEWLINE, Tok.END):
                name, value = self.cue_option(plan_wide=True)
                if name == "countdown_s":
                    cues = replace(cues, countdown_s=int(value))
                else:
                    cues = replace(cues, **{name: bool(value)})
                if self.peek().kind is Tok.SEP:
                    self.next()
            self.cues = cues
            return True
        return False

    def part(self) -> list[Item]:
        label = ""
        if self.is_word(*LABEL_WORDS) and self.peek(1).kind is not Tok.WORD:
            label_tok = self.next()
            label = label_tok.word
            if label == "fartlek" and self.random_fartlek_ahead():
                return [self.fartlek(label_tok)]
            if self.peek().kind is Tok.COLON:
                self.next()
        return self.body(label)

    def body(self, label: str) -> list[Item]:
        tok = self.peek()
        if self.onoff_ahead():
            return [self.onoff(label)]
        if tok.kind is Tok.NUM and self.peek(1).kind is Tok.X:
            count = self.count()
            self.next()
            return [self.repeat_body(count, tok, label)]
        if tok.kind is Tok.LPAREN:
            items = self.group(label)
            if self.peek().kind is Tok.X:
                return [self.finish_repeat(self.postfix_count(), items, tok, single=False)]
            return items
        if self.ladder_ahead():
            return list(self.ladder(label))
        if tok.kind not in STEP_START:
            raise self.error(tok, f"unexpected {tok.shown()}: expected a step like 10min easy")
        draft = labelled(self.draft(), label)
        if self.peek().kind is Tok.X:
            draft.kind = draft.kind or StepKind.WORK
            return [self.finish_repeat(self.postfix_count(), [draft], tok, single=True)]
        recovery = self.recovery_clause(draft)
        if recovery is None:
            return [draft]
        draft.kind = draft.kind or StepKind.WORK
        return [draft, recovery]

    # --- repeats ---------------------------------------------------------------------------

    def repeat_body(self, count: int, count_tok: Token, label: str) -> Repeat:
        """What follows `N x`: a group, a ladder or one step."""
        tok = self.peek()
        if tok.kind is Tok.LPAREN:
            return self.finish_repeat(count, self.group(label), count_tok, single=False)
        if self.ladder_ahead():
            return self.finish_repeat(count, list(self.ladder(label)), count_tok, single=False)
        if tok.kind not in STEP_START or self.is_word("between"):
            raise self.error(tok, "expected a step or '(' after 'x'")
        draft = self.draft()
        draft.kind = draft.kind or StepKind.WORK
        return self.finish_repeat(count, [labelled(draft, label)], count_tok, single=True)

    def postfix_count(self) -> int:
        """`(...) x 8` and `800m x 6`."""
        x = self.next()
        if self.peek().kind is not Tok.NUM:
            raise self.error(self.peek(), f"expected a repeat count after '{x.text}'")
        return self.count()

    def finish_repeat(self, count: int, items: list[Item], tok: Token, *, single: bool) -> Repeat:
        """The recovery and `between` clauses that may follow a repeated step or group."""
        drop = False
        if single:
            recovery = self.recovery_clause(items[0]) or self.attached_recovery()
            if recovery is not None:
                items.append(recovery)
                if self.accept_word("between"):  # `w/ 90s jog between`: not after the last
                    drop = True
        if self.is_word("between"):
            raise self.error(self.peek(), "expected a duration like 3min before 'between'")
        body = list(settle(items, "repeat"))
        rest = self.between_rest()
        if rest is not None:
            last = body[-1]
            # The set rest replaces the last rep's recovery inside the set.
            if isinstance(last, Repeat) and ends_with_recovery(last.body):
                body[-1] = replace(last, drop_last_recovery=True)
            body.append(rest)
            drop = True
        return Repeat(count, tuple(body), drop, at=tok.pos)

    def recovery_clause(self, rep: Item) -> Draft | None:
        """`w/ 90s jog`, `with 60s`, `/ 200m jog`, `w/ equal jog`, `w/ jog down`."""
        tok = self.peek()
        if tok.kind not in (Tok.WITH, Tok.SLASH):
            return None
        self.next()
        if self.accept_word("equal"):
            draft = self.draft(need_end=False)
            if draft.end is not None:
                raise self.src.error(
                    "expected no amount after 'equal': it is the rep's",
                    draft.pos.line,
                    draft.pos.col,
                )
            rep_end = rep.end if isinstance(rep, Draft) else None
            if rep_end is None or isinstance(rep_end, Open):
                raise self.error(tok, "expected a rep with a duration or distance before 'equal'")
            draft.end = rep_end
        else:
            if self.peek().kind not in STEP_START:
                raise self.error(
                    self.peek(), f"expected a duration like 90s or 1:30 after '{tok.text}'"
                )
            draft = self.draft(after=tok.text)
        draft.kind = draft.kind or StepKind.RECOVERY
        return draft

    def attached_recovery(self) -> Draft | None:
        """`6 x 800, 90s rec`: an easy step after a comma is the repeat's recovery."""
        mark = self.i
        if self.peek().kind is not Tok.SEP:
            return None
        self.next()
        if self.peek().kind not in STEP_START:
            self.i = mark
            return None
        try:
            draft = self.draft()
        except PlanError:
            self.i = mark
            return None
        easy = draft.kind in (StepKind.RECOVERY, StepKind.REST) or (
            draft.kind is None and draft.easy()
        )
        ends = self.peek().kind in (Tok.SEP, Tok.NEWLINE, Tok.END, Tok.RPAREN) or self.is_word(
            "between"
        )
        if not (easy and ends):
            self.i = mark
            return None
        draft.kind = draft.kind or StepKind.RECOVERY
        return draft

    def between_rest(self) -> Step | None:
        """`3min between sets`: a rest between rounds, not after the last."""
        mark = self.i
        if self.peek().kind is Tok.SEP:
            self.next()
        if self.peek().kind not in (Tok.NUM, Tok.TIME):
            self.i = mark
            return None
        try:
            draft = self.draft()
        except PlanError:
            self.i = mark
            return None
        if not self.accept_word("between"):
            self.i = mark
            return None
        self.accept_word("sets", "set", "reps", "rounds", "blocks")
        return draft.step(StepKind.REST)

    def group(self, label: str) -> list[Item]:
        opener = self.next()
        items = self.items(Tok.RPAREN, opener)
        close = self.next()
        if not items:
            raise self.error(close, "expected a step inside '( )'")
        if label:
            for item in items:
                if (
                    isinstance(item, Draft)
                    and item.kind in (None, StepKind.WORK)
                    and not item.easy()
                ):
                    labelled(item, label)
        return items
