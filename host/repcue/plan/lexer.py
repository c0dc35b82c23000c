"""Tokens of the plan language (and of intervals.icu text), each with its line and column.

The lexer fails only on a malformed clock time (`3:75`); characters it does not know become
OTHER tokens, so the parser can say what it expected in their place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from repcue.errors import PlanError
from repcue.plan.model import SourcePos
from repcue.plan.units import clock_seconds


class Tok(StrEnum):
    NUM = "number"
    TIME = "time"  # 1:30, 1:05:00
    WORD = "word"
    X = "'x'"
    WITH = "'w/'"
    AT = "'@'"
    SLASH = "'/'"
    DASH = "'-'"
    LPAREN = "'('"
    RPAREN = "')'"
    LBRACK = "'['"
    RBRACK = "']'"
    COLON = "':'"
    TILDE = "'~'"
    PERCENT = "'%'"
    MINUTES = "'"  # 5' (also ’ and ′)
    SECONDS = '"'  # 30" (also '', ″ and ”)
    SEP = "','"  # , or ;
    NEWLINE = "a new line"
    OTHER = "character"
    END = "the end of the plan"


@dataclass(frozen=True)
class Token:
    kind: Tok
    text: str
    line: int
    col: int
    glued: bool  # no space between this token and the previous one
    number: float = 0.0  # NUM: its value; TIME: its seconds

    @property
    def word(self) -> str:
        return self.text.lower()

    @property
    def pos(self) -> SourcePos:
        return SourcePos(self.line, self.col)

    def shown(self) -> str:
        """How to name this token in a message."""
        if self.kind in (Tok.END, Tok.NEWLINE):
            return self.kind.value
        return f"'{self.text}'"


class Source:
    """The plan text, to quote a line under an error."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines() or [""]

    def error(self, message: str, line: int, col: int) -> PlanError:
        source_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return PlanError(message, line=line, col=col, source_line=source_line)

    def error_at(self, tok: Token, message: str) -> PlanError:
        return self.error(message, tok.line, tok.col)


_SINGLE = {
    "@": Tok.AT,
    "/": Tok.SLASH,
    "-": Tok.DASH,
    "–": Tok.DASH,
    "—": Tok.DASH,
    "(": Tok.LPAREN,
    ")": Tok.RPAREN,
    "[": Tok.LBRACK,
    "]": Tok.RBRACK,
    ":": Tok.COLON,
    "~": Tok.TILDE,
    "%": Tok.PERCENT,
    ",": Tok.SEP,
    ";": Tok.SEP,
    "×": Tok.X,
    "'": Tok.MINUTES,
    "’": Tok.MINUTES,
    "′": Tok.MINUTES,
    '"': Tok.SECONDS,
    "″": Tok.SECONDS,
    "”": Tok.SECONDS,
}


class _Add(Protocol):
    def __call__(self, kind: Tok, start: int, end: int, number: float = 0.0) -> None: ...


def tokenize(src: Source) -> list[Token]:
    """All tokens of `src.text`, ending with one END token."""
    text = src.text
    out: list[Token] = []
    i, line, line_start = 0, 1, 0
    last_end = -1  # index just past the previous token, to tell glued tokens apart

    def add(kind: Tok, start: int, end: int, number: float = 0.0) -> None:
        nonlocal last_end
        out.append(
            Token(kind, text[start:end], line, start - line_start + 1, start == last_end, number)
        )
        last_end = end

    while i < len(text):
        ch = text[i]
        if ch == "\n":
            add(Tok.NEWLINE, i, i + 1)
            i += 1
            line, line_start = line + 1, i
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            i = _number(src, text, i, line, line_start, add)
        elif ch.isalpha():
            j = i
            while j < len(text) and (
                text[j].isalpha()
                or (text[j] == "-" and text[j + 1 : j + 2].isalpha() and j > i)  # warm-up
            ):
                j += 1
            word = text[i:j].lower()
            if word[0] == "x" and i > 0 and text[i - 1].isdigit():  # `8xhills`: 8 x hills
                add(Tok.X, i, i + 1)
                i += 1
                continue
            if word == "w" and text[j : j + 1] == "/":
                add(Tok.WITH, i, j + 1)
                j += 1
            elif word == "with":
                add(Tok.WITH, i, j)
            elif word == "x":
                add(Tok.X, i, j)
            else:
                add(Tok.WORD, i, j)
            i = j
        elif ch == "'" and text[i + 1 : i + 2] == "'":
            add(Tok.SECONDS, i, i + 2)
            i += 2
        else:
            add(_SINGLE.get(ch, Tok.OTHER), i, i + 1)
            i += 1
    add(Tok.END, len(text), len(text))
    return out


def _number(src: Source, text: str, i: int, line: int, line_start: int, add: _Add) -> int:
    j = i
    while j < len(text) and (
        text[j].isdigit() or (text[j] == "." and text[j + 1 : j + 2].isdigit())
    ):
        j += 1
    # m:ss or h:mm:ss: a colon followed by two digits
    while text[j : j + 1] == ":" and text[j + 1 : j + 3].isdigit():
        j += 3
        while j < len(text) and text[j].isdigit():
            j += 1
    raw = text[i:j]
    if ":" in raw:
        try:
            seconds = clock_seconds(raw)
        except ValueError as exc:
            raise src.error(str(exc), line, i - line_start + 1) from None
        add(Tok.TIME, i, j, float(seconds))
    else:
        try:
            value = float(raw)
        except ValueError:
            raise src.error(f"expected a number, got '{raw}'", line, i - line_start + 1) from None
        add(Tok.NUM, i, j, value)
    return j
