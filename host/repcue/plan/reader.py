"""A cursor over plan tokens, and the amounts every step has: `90s`, `1:30`, `800m`, `1m30`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from repcue.errors import PlanError
from repcue.plan.lexer import Source, Tok, Token
from repcue.plan.model import Distance, Duration, End
from repcue.plan.units import (
    DISTANCE_UNITS,
    M_METRES_FROM,
    MAX_DISTANCE_M,
    MAX_DURATION_S,
    TIME_UNITS,
)

MAX_REPEATS = 999


@dataclass(frozen=True)
class Amount:
    """A number as written: `number * scale` seconds or metres, or not known yet."""

    tok: Token
    number: float
    scale: float
    kind: Literal["time", "distance", "m?", ""]  # m?: minutes or metres; "": no unit


class Cursor:
    """A position in the token list, with the usual peek/next/expect and error helpers."""

    def __init__(self, src: Source, tokens: list[Token]) -> None:
        self.src = src
        self.toks = tokens
        self.i = 0

    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def is_word(self, *words: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok.kind is Tok.WORD and tok.word in words

    def accept_word(self, *words: str) -> Token | None:
        return self.next() if self.is_word(*words) else None

    def error(self, tok: Token, message: str) -> PlanError:
        return self.src.error_at(tok, message)

    def two_words(self, first: str, second: str) -> bool:
        if self.is_word(first) and self.is_word(second, k=1):
            self.next()
            self.next()
            return True
        return False

    def small_int(self, low: int, high: int, what: str) -> int:
        tok = self.peek()
        if tok.kind is not Tok.NUM or tok.number != int(tok.number):
            raise self.error(tok, f"expected {what}")
        self.next()
        if not low <= tok.number <= high:
            raise self.error(tok, f"expected {what}, got {tok.text}")
        return int(tok.number)


class AmountReader(Cursor):
    """Durations and distances, and repeat counts."""

    m_means_minutes = False  # intervals.icu: `m` is always minutes (metres are `mtr`)

    def amount(self) -> Amount | None:
        """A duration or distance as written (`90s`, `1:30`, `800m`, `5'30"`, `1h2m30s`)."""
        tok = self.peek()
        if tok.kind is Tok.TIME:
            self.next()
            return Amount(tok, tok.number, 1.0, "time")
        if tok.kind is not Tok.NUM:
            return None
        self.next()
        unit = self.peek()
        if unit.kind is Tok.MINUTES:
            self.next()
            seconds = tok.number * 60
            if self.peek().kind is Tok.NUM and self.peek().glued:  # 1'30"
                seconds += self.next().number
                if self.peek().kind is Tok.SECONDS:
                    self.next()
            return Amount(tok, seconds, 1.0, "time")
        if unit.kind is Tok.SECONDS:
            self.next()
            return Amount(tok, tok.number, 1.0, "time")
        if unit.kind is not Tok.WORD:
            return Amount(tok, tok.number, 1.0, "")
        word = unit.word
        compound = self.peek(1).kind is Tok.NUM and self.peek(1).glued  # `1m30`
        if word == "m" and not self.m_means_minutes and not (compound and tok.number < 100):
            self.next()
            return Amount(tok, tok.number, 1.0, "m?")
        if word in TIME_UNITS or word == "m":
            self.next()
            scale = 60 if word == "m" else TIME_UNITS[word]
            seconds = self._compound(tok.number * scale, scale)
            if seconds == tok.number * scale:  # keep the unit for `2-4-6min` ladders
                return Amount(tok, tok.number, scale, "time")
            return Amount(tok, seconds, 1.0, "time")
        if word in DISTANCE_UNITS:
            self.next()
            return Amount(tok, tok.number, DISTANCE_UNITS[word], "distance")
        if unit.glued:
            raise self.error(
                unit,
                f"unknown unit '{unit.text}' after {tok.text}: expected s, min, h, m, km or mi",
            )
        return Amount(tok, tok.number, 1.0, "")

    def _compound(self, seconds: float, scale: int) -> float:
        """The rest of `1h2m30s`, `1m30` or `1h 30min` after its first part."""
        while scale > 1 and self.peek().kind is Tok.NUM:
            part, unit = self.peek(), self.peek(1)
            unit_scale = self._time_scale(unit) if unit.glued else None
            if not part.glued and (unit_scale is None or unit_scale >= scale):
                break  # `10min 5min` is two amounts, not one
            self.next()
            if unit_scale is not None:
                self.next()
            next_scale = unit_scale if unit_scale is not None else scale // 60
            if next_scale >= scale:
                raise self.error(part, "expected smaller units after larger ones, like 1h2m30s")
            seconds += part.number * next_scale
            scale = next_scale
        return seconds

    @staticmethod
    def _time_scale(tok: Token) -> int | None:
        if tok.kind is not Tok.WORD:
            return None
        return 60 if tok.word == "m" else TIME_UNITS.get(tok.word)

    def end_of(self, amount: Amount, m_decider: float | None = None, bare: str = "") -> End:
        """The Duration or Distance an amount means; `bare` says what a unitless number is."""
        kind = amount.kind
        number = amount.number * amount.scale
        if kind == "m?":
            minutes = (m_decider if m_decider is not None else amount.number) < M_METRES_FROM
            kind, number = ("time", amount.number * 60) if minutes else ("distance", amount.number)
        if kind == "":
            if bare:
                kind = "time" if bare == "s" else "distance"
            elif amount.number >= M_METRES_FROM and amount.number == int(amount.number):
                kind = "distance"  # `6 x 800`: a bare number of that size is metres
            else:
                text = amount.tok.text
                raise self.error(
                    amount.tok,
                    f"expected a unit after '{text}': like {text}min, {text}s or {text}km",
                )
        if kind == "time":
            seconds = round(number)
            if seconds <= 0 or seconds > MAX_DURATION_S:
                raise self.error(amount.tok, "expected a duration above zero and up to 24h")
            return Duration(seconds)
        metres = round(number)
        if metres <= 0 or metres > MAX_DISTANCE_M:
            raise self.error(amount.tok, "expected a distance above zero and up to 1000 km")
        return Distance(metres)

    def count(self, what: str = "a repeat count") -> int:
        tok = self.peek()
        if tok.kind is not Tok.NUM:
            raise self.error(tok, f"expected {what} from 1 to {MAX_REPEATS}")
        self.next()
        if tok.number != int(tok.number) or not 1 <= tok.number <= MAX_REPEATS:
            raise self.error(tok, f"expected {what} from 1 to {MAX_REPEATS}, got '{tok.text}'")
        return int(tok.number)
