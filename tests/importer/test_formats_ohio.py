"""Ohio statewide voter file (SWVF)."""

from __future__ import annotations

import io

import pytest
import voterfiles as vf

from cocoa_importer.formats import RowError, VoterRow, open_reader

VOTERS = vf.sample_voters(4)


def rows_of(data: bytes) -> list[VoterRow]:
    rows = [row for row, _ in open_reader("ohio_swvf", io.BytesIO(data))]
    assert all(isinstance(row, VoterRow) for row in rows), rows
    return rows  # type: ignore[return-value]


@pytest.mark.parametrize("delimiter", [",", "|"])
def test_ohio_detects_comma_or_pipe_delimiter(delimiter: str) -> None:
    reader = open_reader("ohio_swvf", io.BytesIO(vf.encode(vf.ohio_lines(VOTERS, delimiter))))
    assert reader.delimiter == delimiter
    assert [row.source_voter_id for row, _ in reader] == [f"OH{int(v.voter_id):010d}" for v in VOTERS]


def test_ohio_comma_file_keeps_commas_inside_quoted_fields() -> None:
    voter = vf.with_changes(VOTERS[1], street_name="MAIN, REAR")
    row = rows_of(vf.encode(vf.ohio_lines([voter], ",")))[0]
    assert "MAIN, REAR" in row.street_line


def test_ohio_reads_the_unit_and_zip_plus4() -> None:
    row = rows_of(vf.encode(vf.ohio_lines(VOTERS[:1])))[0]
    assert (row.street_line2, row.zip_code) == (f"APT {VOTERS[0].unit}", f"{VOTERS[0].zip_code}-1234")


def test_ohio_reads_full_birth_date() -> None:
    row = rows_of(vf.encode(vf.ohio_lines(VOTERS[:1])))[0]
    assert (row.birth_year, row.extra["birth_date"]) == (VOTERS[0].birth_year, VOTERS[0].iso_birth_date)


def test_ohio_summarises_election_columns() -> None:
    elections = ("GENERAL-11/08/2022", "PRIMARY-03/07/2000", "GENERAL-11/07/2000")
    lines = vf.ohio_lines(VOTERS[:1], "|", elections)
    lines[1] = "|".join([*lines[1].split("|")[: len(vf.OHIO_FIXED)], "", "D", "X"])
    row = rows_of(vf.encode(lines))[0]
    assert (row.extra["elections_voted"], row.extra["last_voted"]) == ("2", "2000-11-07")


def test_ohio_row_may_omit_trailing_election_columns() -> None:
    lines = vf.ohio_lines(VOTERS[:1], "|")
    lines[1] = "|".join(lines[1].split("|")[: len(vf.OHIO_FIXED) + 1])
    assert rows_of(vf.encode(lines))[0].source_voter_id.startswith("OH")


def test_ohio_row_missing_a_fixed_column_is_a_row_error() -> None:
    lines = vf.ohio_lines(VOTERS[:1], "|")
    lines[1] = "|".join(lines[1].split("|")[: len(vf.OHIO_FIXED) - 1])
    (row,) = [row for row, _ in open_reader("ohio_swvf", io.BytesIO(vf.encode(lines)))]
    assert isinstance(row, RowError)
    assert row.reason.startswith("too few fields")
