"""`repcue report SESSION -o FILE.html`: one self-contained page, the chart as a base64 PNG and
the per-step table `repcue show` prints. No scripts, no fonts, nothing fetched."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from repcue.cli.history_cmd import STEP_COLUMNS, session_line, session_notes, step_cells

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
td.l, th.l { text-align: left; }
tr.work { background: #eef4fa; }
img { max-width: 100%; }
"""


def session_html(report: dict[str, Any], png: bytes) -> str:
    head = report["session"]
    title = f"Session {head['row_id']} · {head['plan'] or 'program ' + head['program_id']}"
    left = {"step", "end"}
    th = "".join(f'<th class="{"l" if c in left else ""}">{escape(c)}</th>' for c in STEP_COLUMNS)
    rows = []
    for step in report["steps"]:
        cells = "".join(
            f'<td class="{"l" if c in left else ""}">{escape(v)}</td>'
            for c, v in zip(STEP_COLUMNS, step_cells(step), strict=True)
        )
        rows.append(f'<tr class="{escape(step["kind"])}">{cells}</tr>')
    image = base64.b64encode(png).decode("ascii")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n<p>{escape(session_line(report) + session_notes(head))}</p>\n"
        f'<img alt="reps against target, recoveries, fade" src="data:image/png;base64,{image}">\n'
        f'<table id="steps"><thead><tr>{th}</tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>\n</body></html>\n"
    )
