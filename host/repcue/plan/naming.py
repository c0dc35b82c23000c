"""A readable name for a plan that was given none (typed inline or piped in): its main set
as the coach wrote it, e.g. "6x800m @5k" for "10min wu, 6x800m @5k w/ 90s jog, 10min cd"."""

from __future__ import annotations

import re

# Parts that are the session's frame, not its point.
_FRAME_WORDS = re.compile(
    r"\b(wu|warm[- ]?up|warmup|cd|cool[- ]?down|cooldown|easy|jog down|shake ?out)\b", re.I
)
# Where a set's recovery begins (outside brackets): "6x800m @5k w/ 90s jog" names itself
# by "6x800m @5k", "3x(4x400m, 60s) 3min between sets" by "3x(4x400m, 60s)".
_RECOVERY = re.compile(r"\s+(w/|with|/)\s|\s+\S+\s+between\b", re.I)
_MAX_CHARS = 32


def _outside_brackets(text: str) -> str:
    """`text` with what is inside brackets blanked (same length), for searching."""
    out, depth = [], 0
    for ch in text:
        depth += ch in "(["
        out.append(ch if depth == 0 else "\0")
        depth = max(depth - (ch in ")]"), 0)
    return "".join(out)


def _parts(text: str) -> list[str]:
    """The plan's comma- and line-separated parts, commas inside brackets kept."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        elif (ch == "," and depth == 0) or ch == "\n":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [" ".join(p.split()) for p in parts if p.strip() and not p.strip().startswith("#")]


def derived_name(text: str) -> str:
    """The first part that is not warm-up or cool-down, without its recovery; else the
    first part; "" for empty text. At most 32 characters ("…" where cut)."""
    parts = _parts(text)
    if not parts:
        return ""
    main = next((p for p in parts if not _FRAME_WORDS.search(p)), parts[0])
    cut = _RECOVERY.search(_outside_brackets(main))
    main = main[: cut.start()] if cut and cut.start() else main
    return main if len(main) <= _MAX_CHARS else main[: _MAX_CHARS - 1].rstrip() + "\u2026"
