"""COPY text rendering: what PostgreSQL reads back is exactly what was staged."""

from __future__ import annotations

import psycopg
import pytest

from cocoa_importer.repository import copy_payload

ROWS: list[tuple[object, ...]] = [
    ("plain", None, 1984),
    ("tab\there", "new\nline", None),
    ("back\\slash", "carriage\rreturn", 7),
    ("nul\x00and\x02stx", "", None),
    ("", None, None),
]


def _round_trip(database_url: str, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE t (n serial, a text, b text, c integer)")
        with cur.copy("COPY t (a, b, c) FROM STDIN") as copy:
            copy.write(copy_payload(rows))
        cur.execute("SELECT a, b, c FROM t ORDER BY n")
        return cur.fetchall()


def test_copy_payload_round_trips_nulls_and_special_characters(database_url: str) -> None:
    expected = [
        tuple(v.replace("\x00", "").replace("\x02", "") if isinstance(v, str) else v for v in row)
        for row in ROWS
    ]
    assert _round_trip(database_url, ROWS) == expected


@pytest.mark.parametrize("value", ["\\N", "a\\tb", "\t", "\n"])
def test_copy_payload_keeps_text_that_looks_like_an_escape(database_url: str, value: str) -> None:
    assert _round_trip(database_url, [(value, None, None)]) == [(value, None, None)]


def test_copy_payload_of_no_rows_is_empty() -> None:
    assert copy_payload([]) == b""


def test_copy_payload_of_clean_rows_with_nulls_round_trips(database_url: str) -> None:
    rows: list[tuple[object, ...]] = [("a", None, 1), ("", "b", None), ("None", "\\", None)]
    assert _round_trip(database_url, rows[:2]) == rows[:2]
    assert _round_trip(database_url, rows) == rows  # one row needs escaping: the batch still reads back
