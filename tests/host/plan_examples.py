"""The plan-language examples of issue 2, one list for the tests and bench/plan_codec.py."""

from __future__ import annotations

ISSUE_2_EXAMPLES = [
    "10min wu, 8x(1min hard, 1min easy), 10min cd",
    "6x800m @5k w/ 90s jog",
    "6 x 800, 90s rec",
    "10x200m @mile / 200m jog",
    "3x(4x400m @3k, 60s) 3min between sets",
    "200-400-600-800-600-400-200 @5k w/ equal jog",
    "2-4-6-4-2min @5k w/ 1-1.5-2-1.5min jog",
    "40/20 x 20min",
    "fartlek 20min: 8 surges 30-90s, seed 7",
    "tempo 20min @threshold",
    "hills 8x45s hard, jog down",
    "strides 6x20s / 60s walk",
    "2x(10x200m / 200m jog) 5min between",
]
