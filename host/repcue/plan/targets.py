"""Targets of a step: named paces (`@5k`), explicit paces (`3:45/km`), efforts, RPE, zones."""

from __future__ import annotations

from repcue.plan.lexer import Tok, Token
from repcue.plan.model import PACE_NAMES, Effort, HrZone, Pace, Rpe, Target
from repcue.plan.reader import AmountReader
from repcue.plan.units import MILE_M, fmt_pace

EFFORT_WORDS = {
    "all-out": "all out",
    "max": "all out",
    "sprint": "all out",
    "hard": "hard",
    "fast": "hard",
    "steady": "steady",
    "moderate": "steady",
    "easy": "easy",
    "float": "float",
    "jog": "jog",
    "walk": "walk",
}
NAMED_PACE_WORDS = {
    "mile": "mile",
    "half": "half",
    "hm": "half",
    "hmp": "half",
    "marathon": "marathon",
    "mp": "marathon",
    "threshold": "threshold",
    "lt": "threshold",
    "tempo": "threshold",
    "easy": "easy",
}
MIN_PACE_S_PER_KM = 90.0
MAX_PACE_S_PER_KM = 1200.0


class TargetReader(AmountReader):
    """What comes after '@' (or stands alone: `hard`, `RPE 8`, `Z4`, `5k pace`)."""

    def target_after_at(self, at: Token) -> Target:
        tok = self.peek()
        named = self._named_pace()
        if named:
            return named
        if tok.kind is Tok.TIME:
            return self._explicit_pace()
        if tok.kind is Tok.WORD:
            other = self._word_target()
            if other:
                return other
        raise self.error(
            tok,
            f"expected a pace (5k, 3:45/km), an effort (hard), RPE 8 or zone 4 after '{at.text}'",
        )

    def _named_pace(self, need_pace_word: bool = False) -> Pace | None:
        """`5k`, `mile`, `threshold`, `10k pace`; with need_pace_word only `NAME pace`."""
        tok = self.peek()
        name, width = "", 1
        if tok.kind is Tok.WORD and tok.word in NAMED_PACE_WORDS:
            name = NAMED_PACE_WORDS[tok.word]
        elif tok.kind is Tok.NUM and self.is_word("k", "km", k=1) and self.peek(1).glued:
            width = 2
            name = f"{tok.text}k"
        if not name or (need_pace_word and not self.is_word("pace", k=width)):
            return None
        if name not in PACE_NAMES:
            raise self.error(
                tok, "expected a named pace: mile, 3k, 5k, 10k, half, marathon, threshold or easy"
            )
        for _ in range(width):
            self.next()
        self.accept_word("pace")
        return Pace(name)

    def _explicit_pace(self) -> Pace:
        tok = self.next()
        return self.pace_value(tok, tok.number * self.pace_unit())

    def pace_unit(self) -> float:
        """Read `/km`, `/mi`, `per mile` (and `pace`) after a pace: s/km per written second."""
        scale = 1.0
        slash = self.peek()
        if slash.kind is Tok.SLASH and self.peek(1).kind is Tok.WORD and self.peek(1).glued:
            unit = self.peek(1)
            if unit.word not in ("km", "k", "mi", "mile"):
                raise self.error(unit, "expected km or mi after '/' in a pace, like 3:45/km")
            self.next()
            self.next()
            scale = 1000 / MILE_M if unit.word in ("mi", "mile") else 1.0
        elif self.is_word("per") and self.is_word("km", "mi", "mile", k=1):
            self.next()
            scale = 1.0 if self.next().word == "km" else 1000 / MILE_M
        self.accept_word("pace")
        return scale

    def pace_value(self, tok: Token, s_per_km: float) -> Pace:
        if not MIN_PACE_S_PER_KM <= s_per_km <= MAX_PACE_S_PER_KM:
            raise self.error(
                tok,
                f"expected a pace between {fmt_pace(MIN_PACE_S_PER_KM)} and "
                f"{fmt_pace(MAX_PACE_S_PER_KM)}, got {fmt_pace(s_per_km)}",
            )
        return Pace("", round(s_per_km, 1))

    def _word_target(self) -> Target | None:
        """Effort words, `RPE 8`, `Z4`/`zone 4`/`HR zone 4`; None if the word is none of them."""
        tok = self.peek()
        word = tok.word
        if word == "all" and self.is_word("out", k=1):
            self.next()
            self.next()
            return Effort("all out")
        if word in EFFORT_WORDS:
            self.next()
            return Effort(EFFORT_WORDS[word])
        if word == "rpe":
            self.next()
            return Rpe(self.small_int(1, 10, "an RPE from 1 to 10"))
        if word in ("z", "zone") or (word == "hr" and self.peek(1).kind is Tok.NUM):
            self.next()
            return HrZone(self.small_int(1, 5, "a heart-rate zone from 1 to 5"))
        if word == "hr" and self.is_word("zone", k=1):
            self.next()
            self.next()
            return HrZone(self.small_int(1, 5, "a heart-rate zone from 1 to 5"))
        return None
