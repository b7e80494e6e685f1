"""What a drawn panel shows, read back from its markup, and what its rows say it should show:
shared by the report's tests (HTML parsed here) and the browser tests (the DOM)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

Value = tuple[str, str, float]


def expected_values(chart: str, columns: list[str], rows: list[list[Any]]) -> set[Value]:
    """(x, series, value) of every value a chart draws: (x, split, count) rows for bars and the
    heatmap, one point per metric column (and bucket with a value) for lines."""
    if chart in {"bar_stacked", "heatmap"}:
        return {(str(x), str(series), float(value)) for x, series, value in rows}
    return {
        (str(row[0]), name, float(value))
        for row in rows
        for name, value in zip(columns[1:], row[1:], strict=True)
        if value is not None
    }


class _Panels(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, str] = {}
        self.values: dict[str, set[Value]] = {}
        self.first_cells: dict[str, list[str]] = {}
        self._panel: str | None = None
        self._row_cell = 0
        self._in_first_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-panel" in found:
            self._panel = found["data-panel"]
            self.states[self._panel] = found["data-state"]
            self.values[self._panel] = set()
            self.first_cells[self._panel] = []
        elif self._panel and "data-value" in found:
            self.values[self._panel].add((found["data-x"], found["data-series"], float(found["data-value"])))
        elif self._panel and tag == "tr":
            self._row_cell = 0
        elif self._panel and tag == "td" and "data-column" in found:
            self._row_cell += 1
            self._in_first_cell = self._row_cell == 1
            if self._in_first_cell:
                self.first_cells[self._panel].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_first_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_first_cell and self._panel:
            self.first_cells[self._panel][-1] += data


def drawn_panels(html: str) -> _Panels:
    """Every panel of a page or report: its state, drawn values and its table's first column."""
    parsed = _Panels()
    parsed.feed(html)
    return parsed
