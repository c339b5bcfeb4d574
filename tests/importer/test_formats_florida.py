"""Florida voter extract: no header, 38 fields by position."""

from __future__ import annotations

import io

import voterfiles as vf

from cocoa_importer.formats import RowError, VoterRow, open_reader

VOTERS = vf.sample_voters(4)


def read_all(data: bytes) -> list[VoterRow | RowError]:
    return [row for row, _ in open_reader("florida", io.BytesIO(data))]


def test_florida_reads_38_fields_by_position() -> None:
    voter = VOTERS[0]
    row = read_all(vf.encode(vf.florida_lines([voter])))[0]
    assert isinstance(row, VoterRow)
    assert (row.line, row.source_voter_id, row.county) == (1, voter.voter_id, "DAD")
    assert (row.last_name, row.first_name, row.name_suffix) == (voter.last, voter.first, voter.suffix)
    assert (row.street_line2, row.state, row.status) == (f"APT {voter.unit}", "FL", "ACT")
    assert (row.birth_year, row.extra["birth_date"], row.email) == (
        voter.birth_year,
        voter.birth_date,
        voter.email,
    )


def test_florida_reader_reports_no_header() -> None:
    reader = open_reader("florida", io.BytesIO(vf.encode(vf.florida_lines(VOTERS))))
    assert reader.header is None


def test_florida_joins_area_code_and_phone_number() -> None:
    row = read_all(vf.encode(vf.florida_lines(VOTERS[:1])))[0]
    assert isinstance(row, VoterRow)
    assert row.phone == VOTERS[0].phone


def test_florida_flags_a_public_records_exemption() -> None:
    values = vf.florida_values(VOTERS[0])
    values[6] = "Y"
    row = read_all(vf.encode([vf.join_fields(values, "\t")]))[0]
    assert isinstance(row, VoterRow)
    assert row.extra["public_records_exemption"] == "Y"


def test_florida_row_with_37_fields_is_a_row_error() -> None:
    line = vf.join_fields(vf.florida_values(VOTERS[0])[:37], "\t")
    assert read_all(vf.encode([line])) == [RowError(1, "", "too few fields: 37, expected 38", line)]


def test_florida_file_that_has_a_header_row_is_mapped_by_it() -> None:
    header = "Voter ID\tName Last\tName First\tResidence City"
    data = vf.encode([header, "123\tSMITH\tANN\tMIAMI"])
    row = read_all(data)[0]
    assert isinstance(row, VoterRow)
    assert (row.line, row.source_voter_id, row.last_name, row.city) == (2, "123", "SMITH", "MIAMI")
