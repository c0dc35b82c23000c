"""Reading one step of the plan language: its words in any order, kind words, cue options.

`StepReader.draft()` reads the words of one step (`10min wu`, `wu 10min`, `800m @5k
[halfway]`) up to a separator, and leaves the structure (repeats, recoveries, ladders) to
the parser.
"""

from __future__ import annotations

from repcue.plan.describe import target_text
from repcue.plan.kinds import Draft
from repcue.plan.lexer import Tok, Token
from repcue.plan.model import Distance, Duration, Effort, Open, Pace, StepKind, Target
from repcue.plan.reader import Amount
from repcue.plan.targets import TargetReader

KIND_WORDS = {
    "wu": StepKind.WARMUP,
    "warmup": StepKind.WARMUP,
    "warm-up": StepKind.WARMUP,
    "cd": StepKind.COOLDOWN,
    "cooldown": StepKind.COOLDOWN,
    "cool-down": StepKind.COOLDOWN,
    "rec": StepKind.RECOVERY,
    "recovery": StepKind.RECOVERY,
    "recover": StepKind.RECOVERY,
    "rest": StepKind.REST,
    "work": StepKind.WORK,
}
# Words that name what a part is; they make the step work and label it.
LABEL_WORDS = frozenset(
    [
        "tempo",
        "hills",
        "hill",
        "strides",
        "stride",
        "fartlek",
        "intervals",
        "interval",
        "track",
        "surges",
        "surge",
        "sprints",
        "reps",
        "rep",
        "progression",
    ]
)
OPEN_WORDS = frozenset({"lap", "open", "down", "back"})
_LAP_LEADS = frozenset({"press", "until", "till", "to"})
# Words that end a step: the parser reads what follows them.
STOP_WORDS = frozenset({"between", "seed"})
STEP_START = frozenset({Tok.NUM, Tok.TIME, Tok.WORD, Tok.AT, Tok.TILDE, Tok.LBRACK})
_STOP = frozenset({Tok.SEP, Tok.NEWLINE, Tok.END, Tok.RPAREN, Tok.WITH, Tok.X, Tok.SLASH, Tok.DASH})

CUE_OPTIONS = "countdown N, no countdown, halfway or no halfway"


class StepReader(TargetReader):
    """Cue options and whole step drafts."""

    def cue_option(self, *, plan_wide: bool) -> tuple[str, int | bool]:
        """`countdown 5`, `no countdown`, `halfway`, `no halfway`, (plan-wide) `last rep`."""
        tok = self.peek()
        negate = self.accept_word("no") is not None
        if self.accept_word("countdown", "beeps"):
            if negate:
                return "countdown_s", 0
            return "countdown_s", self.small_int(0, 15, "a countdown from 0 to 15 seconds")
        if self.accept_word("halfway"):
            return "halfway", not negate
        if plan_wide and (self.accept_word("last-rep") or self.two_words("last", "rep")):
            return "last_rep", not negate
        options = CUE_OPTIONS + (", last rep or no last rep" if plan_wide else "")
        raise self.error(self.peek() if negate else tok, f"expected a cue option: {options}")

    def step_cues(self, draft: Draft) -> None:
        """`[countdown 5, halfway]` after a step."""
        opener = self.next()
        while True:
            if self.peek().kind is Tok.RBRACK:
                self.next()
                return
            if self.peek().kind in (Tok.END, Tok.NEWLINE):
                raise self.error(
                    self.peek(), f"expected ']' to close the '[' at column {opener.col}"
                )
            name, value = self.cue_option(plan_wide=False)
            if name == "countdown_s":
                draft.countdown_s = int(value)
            else:
                draft.halfway = bool(value)
            if self.peek().kind is Tok.SEP:
                self.next()

    def draft(self, *, after: str = "", need_end: bool = True) -> Draft:
        """The words of one step up to a separator, in any order."""
        start = self.peek()
        draft = Draft(start.pos)
        amount: Amount | None = None
        lap = False
        estimate_s: int | None = None
        while True:
            tok = self.peek()
            if tok.kind in _STOP or (tok.kind is Tok.WORD and tok.word in STOP_WORDS):
                break
            if tok.kind is Tok.AT or self.is_word("at"):
                self.next()
                self._set_target(draft, tok, self.target_after_at(tok))
            elif tok.kind is Tok.TILDE:
                self.next()
                guess = self.amount()
                if guess is None or guess.kind not in ("time", "m?"):
                    raise self.error(self.peek(), "expected an estimate like ~90s after '~'")
                end = self.end_of(guess)
                if not isinstance(end, Duration):
                    raise self.error(guess.tok, "expected an estimate like ~90s after '~'")
                estimate_s = end.seconds
            elif tok.kind is Tok.LBRACK:
                self.step_cues(draft)
            elif pace := self._pace_without_at():
                self._set_target(draft, tok, pace)
            elif tok.kind in (Tok.NUM, Tok.TIME):
                if amount is not None:
                    raise self.error(
                        tok,
                        "expected one duration or distance per step; found a second one "
                        "(a ',' missing before it?)",
                    )
                amount = self.amount()
            elif tok.kind is Tok.WORD:
                lap = self._word(draft, tok) or lap
            else:
                raise self.error(tok, f"unexpected {tok.shown()}: expected a step or ','")
        if amount is not None:
            draft.end = self.end_of(amount)
        self._finish_end(draft, start, after, need_end, lap, estimate_s)
        return draft

    def _pace_without_at(self) -> Pace | None:
        """`5k pace`, `threshold`, `4:00/km` written without '@'."""
        tok = self.peek()
        if self.is_word("threshold"):
            return self._named_pace()
        if tok.kind is Tok.TIME and self.peek(1).kind is Tok.SLASH and self.peek(1).glued:
            return self._explicit_pace()
        return self._named_pace(need_pace_word=True)

    def _word(self, draft: Draft, tok: Token) -> bool:
        """Read one word (or two) of a step; True when it makes the step open (lap button)."""
        word = tok.word
        if word in KIND_WORDS or self._kind_pair():
            if word in KIND_WORDS:
                self.next()
            kind = KIND_WORDS.get(word) or (
                StepKind.WARMUP if word == "warm" else StepKind.COOLDOWN
            )
            if draft.kind is not None and draft.kind is not kind:
                raise self.error(
                    tok, f"expected one kind per step; found '{tok.text}' after {draft.kind}"
                )
            draft.kind = kind
            return False
        if word in _LAP_LEADS:
            self.next()
            if not self.accept_word("lap"):
                raise self.error(self.peek(), f"expected 'lap' after '{tok.text}'")
            return True
        if word in OPEN_WORDS:
            self.next()
            if word in ("down", "back"):
                effort = draft.target.word if isinstance(draft.target, Effort) else "jog"
                draft.label = draft.label or f"{effort} {word}"
            return True
        if word in LABEL_WORDS:
            self.next()
            draft.label = draft.label or word
            draft.kind = draft.kind or StepKind.WORK
            return False
        target = self._word_target()
        if target is not None:
            self._set_target(draft, tok, target)
            return False
        if word == "pace":
            raise self.error(tok, "expected a pace name before 'pace', like 5k pace")
        raise self.error(
            tok,
            f"unknown word '{tok.text}': expected a duration (90s), a distance (400m), "
            "a target (@5k, hard, RPE 8, Z3), a kind (wu, rec, cd) or ','",
        )

    def _kind_pair(self) -> bool:
        """`warm up` and `cool down` written as two words."""
        return self.two_words("warm", "up") or self.two_words("cool", "down")

    def _set_target(self, draft: Draft, tok: Token, target: Target) -> None:
        if draft.target is not None and draft.target != target:
            raise self.error(
                tok,
                f"expected one target per step; found {target_text(target)!r} "
                f"after {target_text(draft.target)!r}",
            )
        draft.target = target

    def _finish_end(
        self,
        draft: Draft,
        start: Token,
        after: str,
        need_end: bool,
        lap: bool,
        estimate_s: int | None,
    ) -> None:
        end = draft.end
        if lap:
            # `2m press lap`: the time is what to expect, the lap button ends it.
            if isinstance(end, Duration):
                draft.end = Open(end.seconds)
            elif end is None:
                draft.end = Open(estimate_s)
            elif isinstance(end, Distance) and estimate_s is not None:
                draft.end = Distance(end.metres, estimate_s)
            return
        if end is None:
            if not need_end:
                return
            where = f" after '{after}'" if after else ", a distance like 400m, or 'lap'"
            raise self.error(start, f"expected a duration like 90s or 1:30{where}")
        if estimate_s is not None:
            if not isinstance(end, Distance):
                raise self.error(start, "expected '~' estimates only on open or distance steps")
            draft.end = Distance(end.metres, estimate_s)
