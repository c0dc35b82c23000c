"""Drawing the charts with matplotlib (the `[charts]` extra), Agg backend: files, no display.

Each function draws the series it is given (reports/series.py) and writes a PNG or SVG;
matplotlib is imported on first use, and without it the command says what to install.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from repcue.errors import ExtraMissingError
from repcue.plan.units import fmt_clock
from repcue.reports.series import SessionSeries, TrendSeries, WeekSeries

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
DPI = 100
_LEVEL_COLOURS = {
    "all out": "#b2182b",
    "hard": "#ef8a62",
    "steady": "#fddbc7",
    "easy": "#67a9cf",
    "jog": "#d1e5f0",
    "untargeted": "#bababa",
}


def _two_panels(top_share: int) -> tuple[Any, Any, Any]:
    """Every chart's frame: 8 x 5 inches, a main panel over a smaller one sharing its x axis
    (top_share times its height)."""
    fig, (top, low) = _pyplot().subplots(
        2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [top_share, 1]}
    )
    return fig, top, low


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise ExtraMissingError(
            "charts need matplotlib: pip install 'repcue[charts]' "
            "(the tables work without it: leave out -o)",
            extra="charts",
        ) from err
    matplotlib.use("Agg")  # files only: never a window, also without a display
    import matplotlib.pyplot as plt

    return plt


def _clock_axis(ax: Any, basis: str) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_clock(max(v, 0.0))))
    ax.set_ylabel("pace (min/km)" if basis == "pace" else "time (m:ss)")


def save(fig: Figure, path: Path | None, fmt: str = "png") -> bytes:
    """Write the figure (to `path` when given) and return its bytes; frees the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI)
    _pyplot().close(fig)
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def session_figure(series: SessionSeries, title: str) -> Figure:
    fig, top, low = _two_panels(top_share=3)
    xs = list(range(1, len(series.actual) + 1))
    top.plot(xs, series.actual, "o-", color="#2166ac", markersize=8, label="actual", zorder=3)
    targets = [(x, t) for x, t in zip(xs, series.target, strict=True) if t is not None]
    if targets:
        top.scatter(
            [x for x, _ in targets],
            [t for _, t in targets],
            marker="_",
            s=900,
            linewidths=2.5,
            color="black",
            label="target",
            zorder=3,
        )
    if series.trend:
        top.plot(xs, series.trend, "--", color="#d6604d", linewidth=2, label="fade trend", zorder=4)
    values = [*series.actual, *(t for _, t in targets)]
    if values:
        low_y, high_y = min(values), max(values)
        pad = max((high_y - low_y) * 0.5, high_y * 0.03, 1.0)
        top.set_ylim(max(low_y - pad, 0.0), high_y + pad)
    _clock_axis(top, series.basis)
    top.set_title(title)
    top.legend(loc="best", fontsize="small", markerscale=0.5)
    top.grid(axis="y", alpha=0.3)
    low.bar(xs, series.recovery_s, color="#bababa", label="recovery after the rep")
    low.set_ylim(0, max([*series.recovery_s, 1.0]) * 1.5)  # room for the legend above the bars
    low.set_ylabel("recovery (s)")
    low.set_xlabel("rep")
    low.set_xticks(xs, [str(x) for x in xs])
    low.legend(loc="best", fontsize="small", markerscale=0.5)
    fig.tight_layout()
    return cast("Figure", fig)


def week_figure(series: WeekSeries, title: str) -> Figure:
    fig, top, low = _two_panels(top_share=2)
    xs = list(range(len(series.weeks)))
    bottom = [0.0] * len(xs)
    for name, minutes in series.minutes.items():
        top.bar(xs, minutes, bottom=bottom, label=name, color=_LEVEL_COLOURS.get(name))
        bottom = [b + m for b, m in zip(bottom, minutes, strict=True)]
    top.set_ylabel("work (min)")
    top.set_title(title)
    if series.minutes:
        top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", title="intensity")
    top.grid(axis="y", alpha=0.3)
    colours = ["#d6604d" if n > series.most_per_week else "#4393c3" for n in series.anaerobic]
    low.axhspan(
        1, series.most_per_week, color="#a6dba0", alpha=0.5, label="guidance: 1-2", zorder=0
    )
    low.bar(xs, series.anaerobic, color=colours, width=0.5, zorder=2)
    low.set_ylim(0, max([*series.anaerobic, series.most_per_week + 1]) + 0.5)
    low.set_ylabel("anaerobic")
    low.set_xticks(xs, [w[5:] for w in series.weeks])
    low.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.tight_layout()
    return cast("Figure", fig)


def trend_figure(series: TrendSeries, title: str) -> Figure:
    fig, top, low = _two_panels(top_share=3)
    xs = list(range(len(series.sessions)))
    top.fill_between(
        xs,
        series.fastest,
        series.slowest,
        color="#92c5de",
        alpha=0.5,
        label="fastest to slowest rep",
    )
    top.plot(xs, series.mean, "o-", color="#2166ac", label="mean rep")
    _clock_axis(top, series.basis)
    top.set_title(title)
    top.legend(loc="best", fontsize="small", markerscale=0.5)
    top.grid(axis="y", alpha=0.3)
    low.bar(xs, [f or 0.0 for f in series.fade_pct], color="#d6604d")
    low.axhline(0, color="black", linewidth=0.8)
    low.set_ylabel("fade (%)")
    low.set_xticks(xs, list(series.labels), rotation=30, ha="right", fontsize="small")
    fig.tight_layout()
    return cast("Figure", fig)


def require() -> None:
    """Fail now, before any work, when matplotlib is missing (ExtraMissingError)."""
    _pyplot()


def chart_format(path: Path, *, html: bool = False) -> str:
    """png or svg, from the file name (html too when the command writes a page)."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in (*FORMATS, *(("html",) if html else ())):
        from repcue.errors import PathError

        kinds = ".png, .svg or .html" if html else ".png or .svg"
        raise PathError(
            f"{path}: a chart is written as {kinds}, not {path.suffix or 'no extension'}",
            path=str(path),
        )
    return fmt
