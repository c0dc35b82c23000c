"""`repcue report` and `repcue trend` (and `week -o`): the files are read back (PNG decoded,
SVG and HTML parsed) and what was plotted is compared with the store."""

from __future__ import annotations

import base64
import io
import json
import statistics
import struct
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import pytest

from repcue.cli import main
from repcue.cli.history_cmd import fmt_ms
from repcue.reports import charts
from repcue.reports.series import session_series, trend_series, week_series
from repcue.reports.trend import trend
from repcue.reports.week import week_rows
from repcue.store import Store
from repcue.store.analysis import session_report
from tests.host.report_store import Builder

REPS_MS = [94_000, 95_500, 95_000, 97_000, 98_500, 99_000]  # a fading runner, 400 m each


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "repcue.db"


@pytest.fixture
def build(db: Path) -> Builder:
    return Builder(Store(db))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the PNG header (the IHDR chunk comes first)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_session_chart_is_the_store_reps_against_target(build: Builder, tmp_path: Path) -> None:
    row = build.add("track 6x400", "2026-11-02", REPS_MS)
    out = tmp_path / "s.png"
    assert main(["report", str(row), "--db", str(build.store.path), "-o", str(out)]) == 0
    data = out.read_bytes()
    assert png_size(data) == (800, 500)  # 8x5 inches at 100 dpi
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (500, 800) and pixels.std() > 0.05  # drawn, not blank

    report = session_report(build.store, build.store.find_session(str(row)))
    series = session_series(report)
    steps = build.store.session_steps(row)
    work = [s for s in steps if s.kind == "work"]
    assert series.basis == "pace"
    assert series.actual == pytest.approx([s.elapsed_ms / 400 for s in work])  # s/km
    assert series.target == (240.0,) * 6  # the profile's 5k pace, 4:00/km
    assert series.reps == tuple(s.index + 1 for s in work)
    # each rep's recovery is the jog after it (the last one's too: `w/` keeps it)
    assert [s.elapsed_ms for s in steps if s.kind == "recovery"] == [90_000] * 6
    assert series.recovery_s == (90.0,) * 6
    fade = report["fade"]
    slope = (series.trend[-1] - series.trend[0]) / 5
    assert slope / fade["mean"] * 100 == pytest.approx(fade["per_rep_pct"])
    # what the figure holds is that series
    fig = charts.session_figure(series, "t")
    top, low = fig.axes
    assert list(top.lines[0].get_ydata()) == pytest.approx(series.actual)
    assert list(top.lines[1].get_ydata()) == pytest.approx(series.trend)
    assert list(top.collections[0].get_offsets()[:, 1]) == pytest.approx([240.0] * 6)
    assert [p.get_height() for p in low.patches] == pytest.approx(series.recovery_s)
    charts.save(fig, None)


def test_timed_reps_are_charted_by_time(build: Builder, tmp_path: Path) -> None:
    row = build.add("hills 8x60s", "2026-11-02")
    report = session_report(build.store, build.store.find_session(str(row)))
    series = session_series(report)
    assert series.basis == "time"
    assert series.actual == series.target == (60.0,) * 8
    assert series.recovery_s == (120.0,) * 8
    out = tmp_path / "hills.svg"
    assert main(["report", "last", "--db", str(build.store.path), "-o", str(out)]) == 0
    root = ET.fromstring(out.read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        for key in ("href", "src"):
            if key in values and tag != "img":
                self.links.append(values[key] or "")
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None


def test_html_report_is_one_self_contained_file(build: Builder, tmp_path: Path) -> None:
    row = build.add("track 6x400", "2026-11-02", REPS_MS)
    out = tmp_path / "s.html"
    assert main(["report", "last", "--db", str(build.store.path), "-o", str(out)]) == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.links == [] and not page.tags & {"script", "link", "iframe", "object"}
    (src,) = page.images
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    assert png_size(base64.b64decode(src[len(prefix) :])) == (800, 500)
    head, *body = page.rows
    assert head == ["#", "step", "planned", "actual", "±s", "pace/km", "target", "fade", "end"]
    steps = build.store.session_steps(row)
    assert [(r[0], r[1], r[3], r[8]) for r in body] == [
        (str(s.index + 1), s.kind, fmt_ms(s.elapsed_ms), s.end_reason) for s in steps
    ]
    reps = [r for r in body if r[1] == "work"]
    assert [r[2] for r in reps] == ["400 m"] * 6 and {r[6] for r in reps} == {"4:00"}
    assert reps[-1][7] == f"+{(99_000 / 94_000 - 1) * 100:.1f}%"


def test_a_power_lost_and_a_paused_session_report_what_was_run(
    build: Builder, tmp_path: Path
) -> None:
    # the power went during the third rep: the record kept two reps and the cut-short third,
    # which has no pace to chart
    cut = build.add("track 6x400", "2026-11-02", REPS_MS, stop_after=6, end_reason="power_lost")
    paused = build.add("track 6x400", "2026-11-04", REPS_MS, paused_ms=61_000, pauses=2)
    db = str(build.store.path)
    pages, charted = {}, {}
    for row in (cut, paused):
        out = tmp_path / f"{row}.html"
        assert main(["report", str(row), "--db", db, "-o", str(out)]) == 0
        pages[row] = out.read_text(encoding="utf-8")
        series = session_series(session_report(build.store, build.store.find_session(str(row))))
        run = [
            s for s in build.store.session_steps(row) if s.kind == "work" and s.end_reason == "lap"
        ]
        assert series.actual == pytest.approx([s.elapsed_ms / 400 for s in run])
        charted[row] = len(series.reps)
    assert charted == {cut: 2, paused: 6}
    assert "power_lost" in pages[cut] and "cue lateness unknown (the power went)" in pages[cut]
    # pauses are outside the steps: the reps are the runner's, and the page says the pauses
    assert "paused 1:01 (2x)" in pages[paused] and "cues late max 3 ms" in pages[paused]


def test_output_is_checked_before_anything_is_drawn(
    build: Builder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build.add("track 6x400", "2026-11-02")
    db = str(build.store.path)
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"mine")
    assert main(["report", "last", "--db", db, "-o", str(kept)]) == 16
    assert kept.read_bytes() == b"mine" and "--force" in capsys.readouterr().err
    assert main(["report", "last", "--db", db, "-o", str(kept), "--force"]) == 0
    assert png_size(kept.read_bytes()) == (800, 500)
    assert main(["report", "last", "--db", db, "-o", str(tmp_path / "s.pdf")]) == 16
    assert "written as .png, .svg or .html, not .pdf" in capsys.readouterr().err
    assert main(["week", "--db", db, "-o", str(tmp_path / "no" / "w.png")]) == 16


def test_trend_over_sessions_of_one_plan(
    build: Builder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = {
        "2026-11-02": REPS_MS,
        "2026-11-09": [93_000, 94_000, 94_500, 95_000, 96_000, 96_500],
        "2026-11-16": [92_000, 92_500, 93_000, 93_000, 94_000, 94_000],
    }
    ids = [build.add("track 6x400", day, reps) for day, reps in runs.items()]
    build.add("tempo 25", "2026-11-04")  # another plan: not in the trend
    db = str(build.store.path)
    out = tmp_path / "trend.png"
    assert main(["trend", "TRACK 6x400", "--db", db, "--json", "-o", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["sessions"]
    assert [r["row_id"] for r in rows] == ids
    for r, reps in zip(rows, runs.values(), strict=True):
        paces = [ms / 400 for ms in reps]
        assert r["basis"] == "pace" and r["reps"] == 6
        assert r["mean"] == pytest.approx(statistics.fmean(paces))
        assert (r["fastest"], r["slowest"]) == pytest.approx((min(paces), max(paces)))
        assert r["fade_pct"] == pytest.approx((paces[-1] / paces[0] - 1) * 100)
    assert png_size(out.read_bytes()) == (800, 500)
    series = trend_series(trend(build.store, "track 6x400"))
    assert series.labels == tuple(runs) and series.sessions == tuple(ids)
    fig = charts.trend_figure(series, "t")
    assert list(fig.axes[0].lines[0].get_ydata()) == pytest.approx([r["mean"] for r in rows])
    assert [p.get_height() for p in fig.axes[1].patches] == pytest.approx(
        [r["fade_pct"] for r in rows]
    )
    charts.save(fig, None)
    assert main(["trend", "track 6x400", "--db", db]) == 0
    table = capsys.readouterr().out
    assert "2026-11-16" in table and "3:50/km" in table  # 92 s per 400 m: the fastest rep
    assert main(["trend", "nope", "--db", db]) == 7
    assert "plans stored: 'tempo 25', 'track 6x400'" in capsys.readouterr().err


def test_week_chart_is_the_weeks_minutes(build: Builder, tmp_path: Path) -> None:
    from datetime import date

    from repcue.plan.profile import NamedPaces
    from repcue.reports.load import session_load

    for day in ("2026-11-02", "2026-11-04", "2026-11-06", "2026-11-10"):
        build.add("track 6x400", day)
    build.add("tempo 25", "2026-11-12")
    loads = [session_load(build.store, s, NamedPaces()) for s in build.store.sessions()]
    rows = week_rows(loads, weeks=2, until=date(2026, 11, 15))
    series = week_series(rows)
    assert series.anaerobic == (3, 1)
    assert list(series.minutes) == ["hard", "steady"]  # the harder first
    assert series.minutes["hard"] == pytest.approx((28.8, 9.6))  # 6 x 96 s a session
    assert series.minutes["steady"] == pytest.approx((0.0, 25.0))
    fig = charts.week_figure(series, "t")
    top, low = fig.axes
    assert [p.get_height() for p in top.patches] == pytest.approx([28.8, 9.6, 0.0, 25.0])
    assert [p.get_height() for p in low.patches if p.get_width() == 0.5] == [3, 1]
    out = tmp_path / "w.png"
    data = charts.save(fig, out)
    assert out.read_bytes() == data and png_size(data) == (800, 500)


def test_without_matplotlib_charts_say_what_to_install(
    build: Builder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build.add("track 6x400", "2026-11-02")
    db = str(build.store.path)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises
    for args in (
        ["report", "last", "-o", str(tmp_path / "s.png")],
        ["week", "-o", str(tmp_path / "w.png")],
        ["trend", "track 6x400", "-o", str(tmp_path / "t.png")],
    ):
        assert main([*args, "--db", db]) == 18
        err = capsys.readouterr().err
        assert "pip install 'repcue[charts]'" in err and "Traceback" not in err
    assert main(["week", "--db", db, "--until", "2026-11-08"]) == 0  # tables need nothing more
    assert "2026-W45" in capsys.readouterr().out
    assert main(["trend", "track 6x400", "--db", db, "--json"]) == 0
    assert not list(tmp_path.glob("*.png"))
