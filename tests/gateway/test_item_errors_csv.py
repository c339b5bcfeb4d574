"""The item-error CSV download: uploaded text must not become a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from cocoa_gateway import item_errors


def cells(rows: list[dict[str, object]]) -> list[list[str]]:
    text = item_errors._csv_rows(rows, ("row", "error"), header=False).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value: str) -> None:
    assert cells([{"row": 1, "error": value}]) == [["1", "'" + value]]


def test_ordinary_cells_are_written_as_they_are() -> None:
    assert cells([{"row": 7, "error": "missing ncid", "extra": "ignored"}]) == [["7", "missing ncid"]]


def test_a_missing_value_is_an_empty_cell() -> None:
    assert cells([{"row": None, "error": "x"}]) == [["", "x"]]
