"""The task-health page as one HTML document: the dashboards' panels over a time range and filters.

The same document is the Airflow plugin's page (with a form that changes the range and keeps the
filters) and the static report (`report.py`, no form): self-contained, no script, no request to
anything once written. What a scope may be is checked here, with a sentence for a user when a
value is wrong (the API answers it as a 400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from include.health_view.charts import panel_html
from include.health_view.panels import PanelData, Scope

DEFAULT_DAYS = 7.0
MAX_DAYS = 400.0  # a year of days and some: each search stays bounded anyway
QUICK_RANGES = (("24 h", 1), ("7 days", 7), ("30 days", 30), ("90 days", 90))
DASHBOARD_TITLES = {"task-health": "Task health", "model-runs": "Model runs"}
FILTER_LABELS = {"dag_id": "DAG", "run_id": "Run", "task_id": "Task", "map_index": "Map index"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;padding:16px 24px;color:#1b1f24;background:#f6f8fa}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}h3{font-size:14px;margin:0 0 8px}
.scope{color:#57606a;margin:0 0 12px}.banner{padding:8px 12px;border-radius:6px;margin:8px 0;background:#fff8c5}
.banner.down{background:#ffebe9}form{display:flex;gap:8px;align-items:end;flex-wrap:wrap;margin:8px 0}
label{display:flex;flex-direction:column;font-size:12px;color:#57606a}.quick a,.chip a{margin-left:8px}
.chip{display:inline-block;background:#ddf4ff;border-radius:12px;padding:2px 10px;margin-right:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
.panel{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px;overflow-x:auto}
.panel[data-panel=latest-failures],.panel[data-panel=anomalies-heatmap]{grid-column:1/-1}
.chart{width:100%;height:auto}.axis{stroke:#8c959f}.tick{font-size:10px;fill:#57606a}
.legend{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:12px;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}.state{color:#57606a;font-style:italic}
.note{font-size:12px;color:#57606a}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left}.heatmap td{text-align:center;min-width:22px}
"""


DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadScope(ValueError):
    """A time range or filter a user got wrong; the message says what to change."""


@dataclass(frozen=True)
class ScopeRequest:
    """What a page or a report was asked for, as text (query parameters, command-line options)."""

    start: str | None = None
    end: str | None = None
    days: float | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None


def _instant(text: str, name: str, *, day_end: bool = False) -> datetime:
    """A time (UTC unless it says otherwise); a date alone is its midnight, or with `day_end` the
    next one, so that `--end 2026-03-31` keeps the 31st (panels search up to, not including, the end)."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise BadScope(f"{name} must be a date or time like 2026-03-02 or 2026-03-02T06:00, not {text!r}") from err
    if day_end and DATE_ONLY.match(text):
        value += timedelta(days=1)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def scope_of(asked: ScopeRequest, now: datetime) -> Scope:
    """The scope asked for: `start`/`end` (UTC unless they say otherwise; `end` defaults to now,
    a date-only end includes that day), else the last `days` days (DEFAULT_DAYS)."""
    end = _instant(asked.end, "end", day_end=True) if asked.end else now
    if asked.start:
        if asked.days is not None:
            raise BadScope("give either start (and end) or days, not both")
        start = _instant(asked.start, "start")
    else:
        days = DEFAULT_DAYS if asked.days is None else asked.days
        if not 0 < days <= MAX_DAYS:
            raise BadScope(f"days must be more than 0 and at most {MAX_DAYS:.0f}, not {days:g}")
        start = end - timedelta(days=days)
    if start >= end:
        raise BadScope(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
    if end - start > timedelta(days=MAX_DAYS):
        raise BadScope(f"a range may span at most {MAX_DAYS:.0f} days")
    if asked.map_index is not None and asked.map_index < -1:
        raise BadScope(f"map_index must be -1 (not mapped) or more, not {asked.map_index}")
    return Scope(start, end, asked.dag_id or None, asked.run_id or None, asked.task_id or None, asked.map_index)


def _query(scope: Scope, **changes: object) -> str:
    params = {**scope.filters(), "start": scope.start.isoformat(), "end": scope.end.isoformat(), **changes}
    return "?" + urlencode({k: v for k, v in params.items() if v is not None})


def _form(scope: Scope) -> str:
    """Range inputs, quick ranges and the filters (each removable), all plain GET links."""
    kept = "".join(
        f'<input type="hidden" name="{name}" value="{escape(str(value))}">' for name, value in scope.filters().items()
    )
    quick = "".join(
        f'<a href="{escape(_query(scope, start=None, end=None, days=days))}">{text}</a>' for text, days in QUICK_RANGES
    )
    chips = "".join(
        f'<span class="chip">{FILTER_LABELS[name]}: {escape(str(value))}'
        f'<a href="{escape(_query(scope, **{name: None}))}" title="remove this filter">&times;</a></span>'
        for name, value in scope.filters().items()
    )
    inputs = "".join(
        f'<label>{text} (UTC)<input type="datetime-local" name="{name}" value="{value.astimezone(UTC):%Y-%m-%dT%H:%M}">'
        "</label>"
        for text, name, value in (("From", "start", scope.start), ("To", "end", scope.end))
    )
    return (
        f'<form method="get" class="range">{kept}{inputs}'
        f'<button type="submit">Show</button><span class="quick">Last:{quick}</span></form>'
        f'<div class="filters">{chips}</div>'
    )


def _banner(results: list[PanelData]) -> str:
    """One sentence above the panels when none of them could show anything, and why."""
    states = {r.state for r in results}
    if states == {"unavailable"}:
        said = escape(results[0].message or "")
        return f'<p class="banner down" role="alert">{said} Every panel is empty until it is back.</p>'
    if states <= {"empty", "forbidden"}:
        return '<p class="banner" role="status">No task-health documents in this time range and filter.</p>'
    if "unavailable" in states:
        return '<p class="banner down" role="alert">Some panels could not be searched: see each one.</p>'
    return ""


def render_page(results: list[PanelData], scope: Scope, generated_at: datetime, *, with_form: bool) -> str:
    """The whole document; `with_form` for the live page (the report is not interactive). The
    DAGs a reader may read keep the searches in bounds; the page never lists them."""
    everything = "every DAG" if scope.readable_dags is None else "every DAG you may read"
    described = ", ".join(f"{FILTER_LABELS[n]} {v}" for n, v in scope.filters().items()) or everything
    sections = []
    for board, title in DASHBOARD_TITLES.items():
        panels = "".join(panel_html(r) for r in results if r.panel.dashboard == board)
        sections.append(f'<h2 id="{board}">{title}</h2><div class="grid">{panels}</div>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Task health</title><style>{STYLE}</style></head><body>"
        "<h1>Task health</h1>"
        f'<p class="scope" data-start="{scope.start.isoformat()}" data-end="{scope.end.isoformat()}">'
        f"{scope.start.astimezone(UTC):%Y-%m-%d %H:%M} to {scope.end.astimezone(UTC):%Y-%m-%d %H:%M} UTC · "
        f"{escape(described)} · generated {generated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC</p>"
        f"{_form(scope) if with_form else ''}{_banner(results)}{''.join(sections)}</body></html>"
    )
