"""Hostile input, seeded: every format's reader, fed a valid file with random damage, never raises
and turns every non-blank data line into exactly one row or one row error."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import pytest
import voterfiles as vf

from cocoa_importer.formats import RowError, VoterRow, open_reader

VOTERS = vf.sample_voters(40, seed=5)
MAPPING = {"source_voter_id": "id", "first_name": "first", "last_name": "last", "street_line": "address"}


def mapped_lines() -> list[str]:
    rows = [["id", "first", "last", "address"]]
    rows += [[v.voter_id, v.first, v.last, v.street_line] for v in VOTERS]
    return [vf.join_fields(row, ",") for row in rows]


# format -> (its clean lines, lines at the top that are its header)
FILES: dict[str, tuple[Callable[[], list[str]], int]] = {
    "ncsbe": (lambda: vf.ncsbe_lines(VOTERS), 1),
    "florida": (lambda: vf.florida_lines(VOTERS), 0),
    "ohio_swvf": (lambda: vf.ohio_lines(VOTERS), 1),
    "washington_vrdb": (lambda: vf.washington_lines(VOTERS), 1),
    "contra_costa": (lambda: vf.contra_costa_lines(VOTERS), 1),
    "simple_csv": (lambda: vf.simple_csv_lines(VOTERS), 1),
    "csv_mapped": (mapped_lines, 1),
}


def non_blank_lines(data: bytes, header_lines: int) -> set[int]:
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it does not start another
    return {n for n, line in enumerate(lines, 1) if n > header_lines and line.strip(b" \t\r\n\x0b\x0c")}


CASES = [(fmt, seed) for fmt in FILES for seed in range(50)]


@pytest.mark.parametrize(("format_id", "seed"), CASES, ids=[f"{f}-{s}" for f, s in CASES])
def test_a_damaged_file_yields_one_row_or_row_error_per_line_and_never_raises(
    format_id: str, seed: int
) -> None:
    make_lines, header_lines = FILES[format_id]
    rng = random.Random(f"{format_id}-{seed}")
    encoding = rng.choice(["utf-8", "cp1252"])
    clean = vf.encode(
        make_lines(), encoding=encoding, newline=rng.choice(["\n", "\r\n"]), bom=rng.random() < 0.2
    )
    data = vf.damaged(clean, header_lines, rng)
    reader = open_reader(format_id, io.BytesIO(data), mapping=MAPPING if format_id == "csv_mapped" else None)
    covered: list[int] = []
    for record in reader.records():
        first, position = record[0], record[3]
        row = reader.parse(record)
        assert isinstance(row, VoterRow | RowError)
        if isinstance(row, RowError):
            assert row.line == first
            assert row.reason
        covered.extend(range(first, position.line))
    assert len(covered) == len(set(covered)), "a line was read twice"
    assert non_blank_lines(data, header_lines) <= set(covered), "a line was silently dropped"
    assert all(header_lines < n <= data.count(b"\n") + 1 for n in covered)
