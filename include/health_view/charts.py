"""Each panel's rows (`panels.PanelData`) drawn as HTML: inline SVG charts and tables, no script.

Why server-side SVG: the Airflow page and the static report are then the same markup (the report
is the page saved to a file, readable with no server and no network), and every drawn value
carries its numbers in `data-x` / `data-series` / `data-value` attributes (and a `<title>`
tooltip), so a browser test reads what the chart shows from the DOM.

One drawing per Lens visualization of the dashboards: `bar_stacked` (x, split, count),
`line` (x, one series per metric), `heatmap` (day, region, count) and `table`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from html import escape
from typing import Any

from include.health_view.panels import PanelData
from include.kibana.dashboards import BYTE_FIELDS
from include.kibana.queries import only_layer

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 56, 44, 8
X_LABEL_WIDTH = 72  # pixels a day (2026-03-02) takes at the ticks' font size, with a gap
PALETTE = ("#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf")
# Statuses keep one colour whatever else is in range: red for failures, as in Kibana's panels.
STATUS_COLOURS = {"completed": "#2ca02c", "failed": "#d62728", "up_for_retry": "#ff7f0e", "skipped": "#7f7f7f"}
ISO_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00:00(\.000)?(Z|\+00:00)$")
ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})")


def label(value: Any) -> str:
    """A bucket key or cell as a reader wants it: a day for a midnight, minutes for a time."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    text = str(value)
    if match := ISO_MIDNIGHT.match(text):
        return match[1]
    if match := ISO_TIME.match(text):
        return f"{match[1]} {match[2]}"
    return text


def short(value: float, as_bytes: bool = False) -> str:
    """A value on an axis or in a tooltip: thousands, millions (or KiB, MiB, ... of bytes)."""
    return _bytes(value) if as_bytes else _si(value)


def _si(value: float) -> str:
    for at_least, size, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= at_least:
            return f"{value / size:.3g}{suffix}"
    return str(int(value)) if value.is_integer() else f"{value:.3g}"


def _bytes(value: float) -> str:
    for size, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def byte_columns(data: PanelData) -> set[str]:
    """The panel's columns (labels) over a field drawn as bytes."""
    columns = only_layer(data.panel.attributes)["columns"].values()
    return {c["label"] for c in columns if c.get("sourceField") in BYTE_FIELDS}


def _attrs(x: Any, series: str, value: Any) -> str:
    return f'data-x="{escape(str(x))}" data-series="{escape(series)}" data-value="{escape(str(value))}"'


def _colours(series: list[str]) -> dict[str, str]:
    spare = iter(c for c in PALETTE if c not in {STATUS_COLOURS.get(s) for s in series})
    return {s: STATUS_COLOURS.get(s) or next(spare, PALETTE[-1]) for s in series}


def _legend(colours: dict[str, str]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(label(name))}</li>'
        for name, colour in colours.items()
    )
    return f'<ul class="legend">{items}</ul>'


def _axes(top: float, x_labels: list[tuple[float, str]], in_bytes: bool = False) -> str:
    """The value axis (0 and the top value) and as many x labels as fit side by side."""
    base = HEIGHT - MARGIN_BOTTOM
    step = max(1, math.ceil(len(x_labels) * X_LABEL_WIDTH / (WIDTH - MARGIN_LEFT)))
    ticks = "".join(
        f'<text x="{x:.1f}" y="{base + 16}" class="tick" text-anchor="middle">{escape(text)}</text>'
        for i, (x, text) in enumerate(x_labels)
        if i % step == 0
    )
    return (
        f'<line x1="{MARGIN_LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" class="axis"/>'
        f'<text x="{MARGIN_LEFT - 6}" y="{base}" class="tick" text-anchor="end">0</text>'
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 10}" class="tick" text-anchor="end">'
        f"{escape(short(top, in_bytes))}</text>"
        f"{ticks}"
    )


def _svg(body: str, title: str) -> str:
    return f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">{body}</svg>'


def _scale(top: float) -> float:
    """Pixels per unit on the value axis."""
    return (HEIGHT - MARGIN_BOTTOM - MARGIN_TOP) / top if top > 0 else 0.0


def stacked_bars(data: PanelData) -> str:
    """Rows (x, split, count): one bar per x, one segment per split value."""
    stacks: dict[Any, dict[str, float]] = defaultdict(dict)
    for x, series, value in data.rows:
        stacks[x][str(series)] = float(value or 0)
    xs = sorted(stacks, key=lambda k: (isinstance(k, str), k))
    series = sorted({s for stack in stacks.values() for s in stack})
    colours = _colours(series)
    top = max(sum(stack.values()) for stack in stacks.values())
    per_unit, slot = _scale(top), (WIDTH - MARGIN_LEFT) / len(xs)
    shapes, x_labels = [], []
    for i, x in enumerate(xs):
        left, bottom = MARGIN_LEFT + i * slot, float(HEIGHT - MARGIN_BOTTOM)
        for name in series:
            if (value := stacks[x].get(name)) is None:
                continue
            height = value * per_unit
            bottom -= height
            shapes.append(
                f'<rect class="bar" x="{left + slot * 0.1:.1f}" y="{bottom:.1f}" width="{slot * 0.8:.1f}" '
                f'height="{height:.1f}" fill="{colours[name]}" {_attrs(x, name, _number(value))}>'
                f"<title>{escape(label(x))} · {escape(label(name))}: {_number(value)}</title></rect>"
            )
        x_labels.append((left + slot / 2, label(x)))
    return _svg(_axes(top, x_labels) + "".join(shapes), data.panel.title) + _legend(colours)


def lines(data: PanelData) -> str:
    """Rows (x, metric, metric, ...): one line per metric column, a point per x with a value."""
    names = data.columns[1:]
    colours = _colours(names)
    rows = sorted(data.rows, key=lambda row: str(row[0]))
    values = [float(v) for row in rows for v in row[1:] if v is not None]
    top = max(values, default=0.0)
    as_bytes = byte_columns(data)
    in_bytes = bool(as_bytes & set(names))
    per_unit = _scale(top)
    slot = (WIDTH - MARGIN_LEFT) / max(len(rows), 1)
    shapes = []
    for column, name in enumerate(names, start=1):
        points = [
            (
                MARGIN_LEFT + (i + 0.5) * slot,
                HEIGHT - MARGIN_BOTTOM - float(row[column]) * per_unit,
                row[0],
                row[column],
            )
            for i, row in enumerate(rows)
            if row[column] is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            shapes.append(f'<polyline points="{path}" fill="none" stroke="{colours[name]}" stroke-width="2"/>')
        shapes.extend(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colours[name]}" {_attrs(key, name, value)}>'
            f"<title>{escape(label(key))} · {escape(name)}: {escape(short(float(value), name in as_bytes))}</title>"
            "</circle>"
            for x, y, key, value in points
        )
    x_labels = [(MARGIN_LEFT + (i + 0.5) * slot, label(row[0])) for i, row in enumerate(rows)]
    return _svg(_axes(top, x_labels, in_bytes) + "".join(shapes), data.panel.title) + _legend(colours)


def heatmap(data: PanelData) -> str:
    """Rows (day, region, count): a grid, one row per region and one column per day."""
    cells = {(str(day), str(region)): count for day, region, count in data.rows}
    days = sorted({day for day, _ in cells})
    regions = sorted({region for _, region in cells})
    top = max(cells.values())
    head = "".join(f"<th>{escape(label(day))}</th>" for day in days)
    body = []
    for region in regions:
        tds = []
        for day in days:
            count = cells.get((day, region))
            if count is None:
                tds.append("<td></td>")
                continue
            alpha = 0.25 + 0.75 * count / top
            tds.append(
                f'<td class="cell" style="background:rgba(214,39,40,{alpha:.2f})" {_attrs(day, region, count)} '
                f'title="{escape(region)} on {escape(label(day))}: {count}">{count}</td>'
            )
        body.append(f"<tr><th>{escape(region)}</th>{''.join(tds)}</tr>")
    return f'<table class="heatmap"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def table(data: PanelData) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in data.columns)
    body = "".join(
        "<tr>" + "".join(f'<td data-column="{escape(name)}">{escape(label(cell))}</td>'
                         for name, cell in zip(data.columns, row, strict=True)) + "</tr>"
        for row in data.rows
    )  # fmt: skip
    return f'<table class="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


DRAWINGS = {"bar_stacked": stacked_bars, "line": lines, "heatmap": heatmap, "table": table}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def panel_html(data: PanelData) -> str:
    """One panel: title, then its drawing, or the sentence saying why there is none."""
    panel = data.panel
    parts = [f"<h3>{escape(panel.title)}</h3>"]
    if data.state == "ok":
        parts.append(DRAWINGS[panel.chart](data))
    else:
        parts.append(f'<p class="state">{escape(data.message or data.state)}</p>')
    if data.unfiltered:
        parts.append(
            f'<p class="note">Not filtered by {escape(", ".join(data.unfiltered))}: its index has no such field.</p>'
        )
    return (
        f'<section class="panel" id="panel-{escape(panel.key)}" data-panel="{escape(panel.key)}" '
        f'data-state="{data.state}" data-rows="{len(data.rows)}">{"".join(parts)}</section>'
    )
