"""Contra Costa County voter file (the earlier implementation's format)."""

from __future__ import annotations

import io

import voterfiles as vf

from cocoa_importer.formats import RowError, VoterRow, open_reader

VOTERS = vf.sample_voters(3)


def read_all(data: bytes) -> list[VoterRow | RowError]:
    return [row for row, _ in open_reader("contra_costa", io.BytesIO(data))]


def test_contra_costa_reads_the_92_column_layout() -> None:
    assert len(vf.CONTRA_COSTA) == 92
    voter = VOTERS[0]
    row = read_all(vf.encode(vf.contra_costa_lines([voter]), encoding="utf-8"))[0]
    assert isinstance(row, VoterRow)
    assert (row.source_voter_id, row.last_name, row.house_number, row.unit) == (
        voter.voter_id,
        voter.last,
        voter.house_number,
        voter.unit,
    )
    assert (row.party, row.precinct, row.extra["registration_number"]) == (
        voter.party,
        "211100",
        f"R{voter.voter_id}",
    )


def test_contra_costa_rows_are_in_california() -> None:
    row = read_all(vf.encode(vf.contra_costa_lines(VOTERS[:1])))[0]
    assert isinstance(row, VoterRow)
    assert (row.state, row.county) == ("CA", "CONTRA COSTA")


def test_contra_costa_summarises_counted_ballots() -> None:
    row = read_all(vf.encode(vf.contra_costa_lines(VOTERS[:1])))[0]
    assert isinstance(row, VoterRow)
    assert (row.extra["elections_voted"], row.extra["last_voted"]) == ("2", "2022-11-08")


def test_contra_costa_row_may_omit_trailing_election_slots() -> None:
    lines = vf.contra_costa_lines(VOTERS[:1])
    lines[1] = "\t".join(vf.contra_costa_values(VOTERS[0], slots=1))
    row = read_all(vf.encode(lines))[0]
    assert isinstance(row, VoterRow)
    assert row.extra["elections_voted"] == "1"


def test_contra_costa_row_without_voter_id_is_a_row_error() -> None:
    voter = vf.with_changes(VOTERS[0], voter_id="")
    (row,) = read_all(vf.encode(vf.contra_costa_lines([voter])))
    assert isinstance(row, RowError)
    assert (row.line, row.field, row.reason) == (2, "source_voter_id", "missing VoterID")
