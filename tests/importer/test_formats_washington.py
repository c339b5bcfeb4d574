"""Washington VRDB extract."""

from __future__ import annotations

import io

import pytest
import voterfiles as vf

from cocoa_importer.formats import VoterRow, open_reader

VOTERS = vf.sample_voters(12)


def rows_of(data: bytes) -> list[VoterRow]:
    rows = [row for row, _ in open_reader("washington_vrdb", io.BytesIO(data))]
    assert all(isinstance(row, VoterRow) for row in rows), rows
    return rows  # type: ignore[return-value]


@pytest.mark.parametrize("delimiter", ["\t", "|"])
def test_washington_reads_tab_or_pipe_files(delimiter: str) -> None:
    rows = rows_of(vf.encode(vf.washington_lines(VOTERS, delimiter)))
    assert [row.last_name for row in rows] == [v.last for v in VOTERS]


def test_washington_reads_the_address_in_parts() -> None:
    voter = VOTERS[0]
    row = rows_of(vf.encode(vf.washington_lines([voter])))[0]
    assert (row.house_number, row.street_name, row.street_suffix) == (
        voter.house_number,
        voter.street_name,
        voter.street_type,
    )
    assert (row.unit_type, row.unit, row.street_line) == ("APT", voter.unit, "")


def test_washington_keeps_the_house_number_fraction() -> None:
    row = rows_of(vf.encode(vf.washington_lines([VOTERS[1]])))[0]
    assert row.house_fraction == "1/2"


def test_washington_reports_last_voted_as_iso_date() -> None:
    row = rows_of(vf.encode(vf.washington_lines(VOTERS[:1])))[0]
    assert row.extra["last_voted"] == "2022-11-08"


def test_washington_has_no_party() -> None:
    assert {row.party for row in rows_of(vf.encode(vf.washington_lines(VOTERS)))} == {""}
