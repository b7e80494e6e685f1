"""Panel rows drawn as HTML (`include/health_view/charts.py`): every row is in the markup with
its numbers, bars are as tall as their counts, and a panel without data says why."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from include.health_view.charts import DRAWINGS, HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, label, panel_html, short
from include.health_view.panels import Panel, PanelData, columns, panels


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of the document."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def valued(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and "data-value" in a]


@pytest.fixture(scope="module")
def by_key() -> dict[str, Panel]:
    return {p.key: p for p in panels("th", "anomalies")}


def data(panel: Panel, rows: list[list], state: str = "ok", message: str | None = None) -> PanelData:
    return PanelData(panel, columns(panel), rows, state, message)  # type: ignore[arg-type]


def test_stacked_bars_hold_every_row_with_heights_in_proportion(by_key) -> None:
    rows = [
        ["2026-03-02T00:00:00.000Z", "completed", 6],
        ["2026-03-02T00:00:00.000Z", "failed", 2],
        ["2026-03-03T00:00:00.000Z", "completed", 4],
    ]
    found = Elements(panel_html(data(by_key["outcomes"], rows)))
    bars = found.valued("rect")
    assert sorted((b["data-x"], b["data-series"], b["data-value"]) for b in bars) == sorted(
        (x, s, str(v)) for x, s, v in rows
    )
    full = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP  # the tallest stack (8) fills the plot
    heights = {(b["data-x"], b["data-series"]): float(b["height"]) for b in bars}
    assert heights[("2026-03-02T00:00:00.000Z", "completed")] == pytest.approx(full * 6 / 8, abs=0.1)
    assert heights[("2026-03-03T00:00:00.000Z", "completed")] == pytest.approx(full * 4 / 8, abs=0.1)
    fills = {b["data-series"]: b["fill"] for b in bars}
    assert fills["failed"] == "#d62728" and fills["completed"] == "#2ca02c", "statuses keep their colours"
    assert "2026-03-02" in found.text, "a midnight key reads as its day"


def test_lines_draw_a_point_per_value_and_skip_buckets_without_one(by_key) -> None:
    rows = [["2026-03-02T06:00:00.000Z", 40.5, 61.0], ["2026-03-02T07:00:00.000Z", None, 62.5]]
    found = Elements(panel_html(data(by_key["host-resources"], rows)))
    points = {(p["data-x"], p["data-series"], p["data-value"]) for p in found.valued("circle")}
    assert points == {
        ("2026-03-02T06:00:00.000Z", "Host CPU %", "40.5"),
        ("2026-03-02T06:00:00.000Z", "Host memory %", "61.0"),
        ("2026-03-02T07:00:00.000Z", "Host memory %", "62.5"),
    }


def test_the_heatmap_has_a_cell_per_region_day_with_its_count(by_key) -> None:
    rows = [["2026-03-02", "north", 1], ["2026-03-03", "south", 2]]
    found = Elements(panel_html(data(by_key["anomalies-heatmap"], rows)))
    cells = {(c["data-x"], c["data-series"], c["data-value"]) for c in found.valued("td")}
    assert cells == {("2026-03-02", "north", "1"), ("2026-03-03", "south", "2")}


def test_a_table_keeps_every_cell_in_its_column(by_key) -> None:
    panel = by_key["latest-failures"]
    row = ["run-1", "extract", 2, "2026-03-02T06:00:00.000Z", "dag", "failed", "ValueError", "bad <row>"]
    html = panel_html(data(panel, [row]))
    found = Elements(html)
    cells = [a["data-column"] for t, a in found.tags if t == "td"]
    assert cells == columns(panel)
    assert "bad <row>" in found.text and "<row>" not in html, "cell text is escaped"


@pytest.mark.parametrize("state", ["empty", "unavailable", "forbidden"])
def test_a_panel_without_data_says_why_and_draws_nothing(by_key, state) -> None:
    html = panel_html(data(by_key["outcomes"], [], state, "Elasticsearch is not reachable."))
    found = Elements(html)
    assert not found.valued("rect") and "<svg" not in html
    assert "Elasticsearch is not reachable." in found.text
    assert ("section", {"class": "panel", "id": "panel-outcomes", "data-panel": "outcomes", "data-state": state,
                        "data-rows": "0"}) in found.tags  # fmt: skip


def test_labels_read_as_days_times_and_short_numbers() -> None:
    assert label("2026-03-02T00:00:00.000Z") == "2026-03-02"
    assert label("2026-03-02T06:30:00.000Z") == "2026-03-02 06:30"
    assert label(0.123456) == "0.123"
    assert label(None) == "-"


def test_every_panel_of_the_dashboards_has_a_drawing(by_key) -> None:
    assert {panel.chart for panel in by_key.values()} <= set(DRAWINGS)


def test_axis_values_are_short_and_byte_counts_read_as_bytes(by_key) -> None:
    """A long number on the value axis would be cut at the chart's edge: it is shortened, and
    the peak-memory panel's bytes read as MiB (its data view formats the field as bytes)."""
    html = panel_html(data(by_key["process-memory"], [["2026-03-02T06:00:00.000Z", 443_953_152.0]]))
    found = Elements(html)
    assert "423.4 MiB" in found.text
    assert [p["data-value"] for p in found.valued("circle")] == ["443953152.0"], "the exact value stays in the DOM"
    assert short(12_345.0) == "12.3k" and short(4.5) == "4.5" and short(2_000_000_000.0) == "2G"
