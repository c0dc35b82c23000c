"""Malformed plans give a PlanError at the right line and column, saying what was expected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repcue.cli import main
from repcue.errors import PlanError, ProgramLimitError
from repcue.plan import check, parse

# (plan text, line, column, part of the message)
MALFORMED = [
    ("6x", 1, 3, "expected a step or '(' after 'x'"),
    ("6x800m @", 1, 9, "expected a pace (5k, 3:45/km)"),
    ("6x800m @5k w/", 1, 14, "expected a duration like 90s or 1:30 after 'w/'"),
    ("6x800m @5k w/ jog", 1, 15, "expected a duration like 90s or 1:30 after 'w/'"),
    ("10x200m @mile /", 1, 16, "expected a duration like 90s or 1:30 after '/'"),
    ("8x(1min hard, 1min easy", 1, 24, "expected ')' to close the '(' at line 1, column 3"),
    ("8x1min hard)", 1, 12, "no '(' is open"),
    ("0x400m", 1, 1, "expected a repeat count from 1 to 999"),
    ("1000x200m", 1, 1, "expected a repeat count from 1 to 999"),
    ("6.5x400m", 1, 1, "expected a repeat count from 1 to 999, got '6.5'"),
    ("6x800q", 1, 6, "unknown unit 'q' after 800: expected s, min, h, m, km or mi"),
    ("10 wu", 1, 1, "expected a unit after '10'"),
    ("10min wu, 6 x 3, 10min cd", 1, 15, "expected a unit after '3'"),
    ("3:75 easy", 1, 1, "minutes below 60"),
    ("tempo 20min @4:00/yd", 1, 19, "expected km or mi after '/'"),
    ("tempo 20min @0:30/km", 1, 14, "expected a pace between 1:30/km and 20:00/km"),
    ("@5k", 1, 1, "expected a duration like 90s or 1:30, a distance like 400m, or 'lap'"),
    ("rpe 11 10min", 1, 5, "expected an RPE from 1 to 10"),
    ("10min z7", 1, 8, "expected a heart-rate zone from 1 to 5"),
    ("10min [countdown 20]", 1, 18, "expected a countdown from 0 to 15 seconds"),
    ("10min [loud]", 1, 8, "expected a cue option"),
    ("10min [halfway", 1, 15, "expected ']' to close the '['"),
    ("10min [last rep]", 1, 8, "expected a cue option"),
    ("fartlek 20min: 8 surges", 1, 24, "expected a surge range like 30-90s"),
    ("fartlek 20min: 8 surges 90-30s", 1, 25, "expected the shorter surge first"),
    ("fartlek 5min: 8 surges 30-90s", 1, 1, "expected surges that fit"),
    ("fartlek 20min: surges 30-90s", 1, 16, "expected a number of surges"),
    ("fartlek 20min: 8 bursts 30-90s", 1, 18, "expected 'surges'"),
    ("40/20 x", 1, 8, "expected a total duration like 20min after 'x'"),
    ("40/20 x 30s", 1, 9, "expected a total of at least one round"),
    ("200-400-600 @5k w/ 1-2-3-4min jog", 1, 20, "expected 2 or 3 recoveries for 3 rungs"),
    ("200-400- @5k", 1, 10, "expected a number after '-'"),
    ("10min wu 5min", 1, 10, "expected one duration or distance per step"),
    ("10min hard easy", 1, 12, "expected one target per step; found 'easy' after 'hard'"),
    ("10min wu cd", 1, 10, "expected one kind per step"),
    ("3x(400m) between", 1, 10, "expected a duration like 3min before 'between'"),
    ("seed", 1, 5, "expected a whole number seed"),
    ("cues: countdown", 1, 16, "expected a countdown from 0 to 15 seconds"),
    ("cues: loud", 1, 7, "expected a cue option"),
    ("10min wu, 6x800m pronto", 1, 18, "unknown word 'pronto': expected a duration"),
    ("10min wu & 10min cd", 1, 10, "unexpected '&': expected a step or ','"),
    ("90s jog ~", 1, 10, "expected an estimate like ~90s after '~'"),
    ("90s jog ~400m", 1, 10, "expected an estimate like ~90s after '~'"),
    ("10min ~5min", 1, 1, "expected '~' estimates only on open or distance steps"),
    ("-5min", 1, 1, "unexpected '-': expected a step"),
    ("", 1, 1, "expected at least one step"),
    ("name: only a name\n", 1, 1, "expected at least one step"),
    ("10min wu, 8x(), 10min cd", 1, 14, "expected a step inside '( )'"),
    ("4:00/km", 1, 1, "expected a duration like 90s or 1:30"),
    ("6x800m @5k w/ 90s jog w/ 60s", 1, 23, "expected ',' or a new line before the next part"),
    ("0s hard", 1, 1, "expected a duration above zero"),
    ("2000km", 1, 1, "expected a distance above zero and up to 1000 km"),
    ("x5", 1, 1, "unexpected 'x': expected a step"),
    ("6x800m @15k", 1, 9, "expected a named pace"),
    ("20min 5k pace pace", 1, 15, "expected a pace name before 'pace'"),
    ("6x400m press", 1, 13, "expected 'lap' after 'press'"),
    ("6x(400m, 60s) x 2", 1, 15, "expected ',' or a new line before the next part"),
    ("(1min hard, 1min easy) x", 1, 25, "expected a repeat count after 'x'"),
    ("6x800m @5k w/ equal 90s jog", 1, 21, "expected no amount after 'equal'"),
    ("hills 6x lap hard w/ equal jog", 1, 19, "expected a rep with a duration or distance"),
    ("10min wu\n6x800m @5k w/\n10min cd", 2, 14, "expected a duration like 90s or 1:30"),
    ("10min wu\n\n  6x(400m, 60s\n10min cd", 4, 9, "expected ')' to close the '(' at line 3"),
    ("1h2h easy", 1, 3, "expected smaller units after larger ones"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), MALFORMED)
def test_malformed_plan_is_located(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(PlanError) as info:
        parse(text, "repcue")
    err = info.value
    assert (err.line, err.col) == (line, col), err.render()
    assert message in err.message
    assert "expected" in err.message
    assert err.source_line == text.splitlines()[line - 1] if text else err.source_line == ""
    caret_line = err.render().splitlines()[-1]
    assert caret_line == "  " + " " * (col - 1) + "^"


def test_there_are_more_than_thirty_malformed_cases() -> None:
    assert len(MALFORMED) >= 30


def test_cli_prints_the_caret_on_stderr_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", "6x800m @5k w/", "--format", "repcue"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "plan error at line 1, column 14: expected a duration like 90s or 1:30 after 'w/'",
        "  6x800m @5k w/",
        "               ^",
    ]


def test_program_limits_are_plan_errors_with_a_reason() -> None:
    nested = "2x(2x(2x(2x(2x(2x(1min hard, 1min easy))))))"
    with pytest.raises(ProgramLimitError, match="expected repeats nested at most 4 deep"):
        check(nested)
    ladder = "-".join(["200"] * 70) + " @5k w/ equal jog"
    with pytest.raises(ProgramLimitError, match="expected at most 128 steps") as info:
        check(ladder)
    assert isinstance(info.value, PlanError)


_FRAGMENTS = st.sampled_from(
    [
        "10",
        "6",
        "x",
        "×",
        "(",
        ")",
        ",",
        ";",
        "\n",
        "min",
        "m",
        "s",
        "sec",
        "'",
        '"',
        "@",
        "5k",
        "3:45",
        "/km",
        "w/",
        "with",
        "/",
        "-",
        "200",
        "400",
        "jog",
        "hard",
        "easy",
        "rec",
        "wu",
        "cd",
        "between",
        "sets",
        "equal",
        "[",
        "]",
        "countdown",
        "halfway",
        "~",
        "fartlek",
        ":",
        "surges",
        "seed",
        "tempo",
        "hills",
        "lap",
        "down",
        "z4",
        "rpe",
        "8",
        "%",
        "#",
        "&",
        "0",
        "1000",
        ".5",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=14).map(" ".join))
def test_any_text_parses_or_gives_a_located_plan_error(text: str) -> None:
    try:
        report = check(text)
    except PlanError as err:
        assert "expected" in err.message
        if not isinstance(err, ProgramLimitError) and err.line:
            assert 1 <= err.col <= len(err.source_line) + 1
        return
    assert report.steps


def test_caret_stays_under_the_spot_on_long_lines(capsys: pytest.CaptureFixture[str]) -> None:
    text = "10min wu, 6x800m @5k w/ 90s jog, 4x400m @3k w/ 60s jog, 10x200m @mile / 200m jog, bogus"
    assert main(["plan", "check", text, "--format", "repcue"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[1] == "  " + text
    assert lines[2] == "  " + " " * text.index("bogus") + "^"
