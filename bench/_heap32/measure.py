"""bench/heap.py's 32-bit figures: the smallest heap per form on the webassembly port, with
the issue's goals beside them (ROMFS <= 64 KB, .mpy files <= 96 KB)."""

from __future__ import annotations

import time
from pathlib import Path

from bench._heap32 import job, port

GOAL_KB_32 = 64  # ROMFS: the firmware's bytecode in flash
GOAL_KB_32_MPY = 96  # .mpy files copied by mpremote: bytecode in the heap
LOW_KB, HIGH_KB = 24, 256
SCREEN = "240x240 RGB565, 4-row bands, blit discards"


def _form(
    form: job.Form, program: bytes, screen: bool, step_kb: int, goal_kb: int
) -> dict[str, object]:
    t0 = time.monotonic()
    min_kb, notes = job.smallest(form, program, screen, step_kb, LOW_KB, HIGH_KB)
    if min_kb is None:
        raise port.Wasm32Error(f"32-bit {form.name}: {notes[0]}")
    at_goal = job.job(form, goal_kb, program, screen)
    roomy = job.job(form, HIGH_KB, program, screen)
    return {
        "min_heap_kb": min_kb,
        "runs_at_goal": at_goal.ran,
        "why_not_goal": at_goal.why,
        "heap_in_use_after_session_kb": round(roomy.alloc / 1024, 1),
        "cues": roomy.cues,
        "blits": roomy.blits,
        "search": notes,
        "seconds": round(time.monotonic() - t0, 1),
    }


def measure(bundle: Path, work: Path, program: bytes, step_kb: int) -> dict[str, object]:
    """Both forms, the screen included when the firmware has one; the JSON's fields."""
    forms = job.forms(bundle, work)
    screen = job.has_screen(bundle)
    rom = _form(forms["romfs"], program, screen, step_kb, GOAL_KB_32)
    mpy = _form(forms["mpy"], program, screen, step_kb, GOAL_KB_32_MPY)
    return {
        "min_heap_kb_32": rom["min_heap_kb"],
        "goal_kb_32": GOAL_KB_32,
        "runs_at_64k_32": rom["runs_at_goal"],
        "min_heap_kb_32_mpy": mpy["min_heap_kb"],
        "goal_kb_32_mpy": GOAL_KB_32_MPY,
        "runs_at_96k_32_mpy": mpy["runs_at_goal"],
        "heap_in_use_after_session_kb_32": rom["heap_in_use_after_session_kb"],
        "heap_in_use_after_session_kb_32_mpy": mpy["heap_in_use_after_session_kb"],
        "screen_32": SCREEN if screen else None,
        "screen_blits_32": rom["blits"],
        "platform_32": f"webassembly port {port.VERSION}, Node (4-byte pointers, 16-byte blocks)",
        "detail_32": {"romfs": rom, "mpy": mpy},
    }


def report(figures: dict[str, object]) -> None:
    detail = figures["detail_32"]
    assert isinstance(detail, dict)
    screen = figures["screen_32"] or "no screen (firmware/repcue_fw/screen/ is not there)"
    print(f"32-bit (MicroPython webassembly port {port.VERSION}), screen: {screen}")
    for name, goal in (("romfs", GOAL_KB_32), ("mpy", GOAL_KB_32_MPY)):
        r = detail[name]
        beside = " beside the image" if name == "romfs" else ""
        verdict = "meets" if int(r["min_heap_kb"]) <= goal else "misses"
        print(
            f"  {name:6}  smallest heap{beside} {r['min_heap_kb']} KB (goal {goal}: {verdict} it); "
            f"in use after the session {r['heap_in_use_after_session_kb']} KB"
        )
        if not r["runs_at_goal"]:
            print(f"          at {goal}K: {r['why_not_goal']}")
