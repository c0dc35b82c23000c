"""The live terminal view: one rich renderable of a LiveState, and the closing line."""

from __future__ import annotations

from rich.table import Table

from repcue.live.state import LiveState
from repcue.store.analysis import PlannedStep


def _clock(ms: int | None) -> str:
    if ms is None:
        return "-"
    s = max(0, ms) // 1000
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def _pace(s_per_km: float | None) -> str:
    return "-" if s_per_km is None else f"{_clock(int(s_per_km * 1000))}/km"


def _step_text(step: PlannedStep | None) -> str:
    if step is None:
        return "-"
    amount = {"time": _clock(step.value * 1000), "distance": f"{step.value} m"}.get(
        step.end_type, "open"
    )
    pace = f" @ {_pace(step.target_pace_s_per_km)}" if step.target_pace_s_per_km else ""
    return f"{step.kind} {amount}{pace}"


def _last_rep(state: LiveState) -> str:
    rep = state.last_rep
    if rep is None:
        return "-"
    delta = rep.delta_ms
    versus = "" if delta is None else f" ({'+' if delta >= 0 else '-'}{abs(delta) / 1000:.1f} s)"
    target = "" if rep.target_ms is None else f" vs {_clock(rep.target_ms)}"
    return f"{_clock(rep.actual_ms)}{target}{versus}"


def render(state: LiveState, now_s: float, mqtt: str | None = None) -> Table:
    """The view at host monotonic time now_s; `mqtt` the publisher's row, if one runs."""
    table = Table(show_header=False, title=f"repcue live {state.device}".rstrip(), box=None)
    table.add_column(style="bold")
    table.add_column()
    step = state.planned(state.index)
    rep, reps = state.reps
    status = state.status
    if state.gaps:
        status += f" ({state.gaps} gap{'s' if state.gaps != 1 else ''}, {state.missed} missed)"
    table.add_row("status", status)
    if state.index is not None:
        where = f"{state.index + 1}/{state.steps}" if state.steps else str(state.index + 1)
        table.add_row("step", f"{state.kind} ({where})")
    table.add_row("rep", "-" if rep is None else f"{rep}/{reps if reps is not None else '?'}")
    if step is not None and step.end_type == "distance":
        table.add_row("distance", f"{step.value} m")
    else:
        table.add_row("left", _clock(state.left_ms(now_s)))
    table.add_row("target", _pace(step.target_pace_s_per_km if step else None))
    table.add_row("elapsed", _clock(state.elapsed_ms(now_s)))
    table.add_row("last rep", _last_rep(state))
    table.add_row("next", _step_text(state.next_step))
    if mqtt is not None:
        table.add_row("mqtt", mqtt)
    return table


def summary(state: LiveState) -> str:
    """One line at the end."""
    if state.session_id is None:
        return f"{state.status}: no session seen"
    rep, reps = state.reps_done, state.reps[1]
    done = f"{rep}/{reps}" if reps is not None else str(rep)
    gaps = f", {state.gaps} gaps ({state.missed} events missed)" if state.gaps else ""
    return (
        f"session {state.session_id} {state.status}: {done} work reps in "
        f"{_clock(state.total_ms)}{gaps}"
    )
