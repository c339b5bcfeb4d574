"""simple_csv: a contact list with first and last names."""

from __future__ import annotations

import io

import pytest
import voterfiles as vf

from cocoa_importer.formats import HeaderError, RowError, VoterRow, open_reader

VOTERS = vf.sample_voters(3)


def read_all(data: bytes) -> list[VoterRow | RowError]:
    return [row for row, _ in open_reader("simple_csv", io.BytesIO(data))]


@pytest.mark.parametrize(
    "header", [("firstname", "lastname"), ("first_name", "last_name"), ("FirstName", "LastName")]
)
def test_simple_csv_accepts_each_name_header_spelling(header: tuple[str, str]) -> None:
    rows = read_all(vf.encode(vf.simple_csv_lines(VOTERS, header)))
    assert [(row.first_name, row.last_name) for row in rows if isinstance(row, VoterRow)] == [
        (v.first, v.last) for v in VOTERS
    ]


def test_simple_csv_reads_contact_and_address_columns() -> None:
    voter = VOTERS[0]
    row = read_all(vf.encode(vf.simple_csv_lines([voter])))[0]
    assert isinstance(row, VoterRow)
    assert (row.email, row.phone, row.street_line) == (voter.email, voter.phone, voter.street_line)
    assert (row.city, row.state, row.zip_code) == (voter.city, voter.state, voter.zip_code)


def test_simple_csv_voter_id_is_empty_when_absent() -> None:
    row = read_all(vf.encode(vf.simple_csv_lines(VOTERS[:1])))[0]
    assert isinstance(row, VoterRow)
    assert row.source_voter_id == ""


def test_simple_csv_header_without_last_name_is_a_header_error() -> None:
    with pytest.raises(HeaderError, match="lastname"):
        open_reader("simple_csv", io.BytesIO(b"firstname,email\r\nANN,a@example.org\r\n"))


def test_simple_csv_row_without_first_name_is_a_row_error() -> None:
    (row,) = read_all(b"firstname,lastname\r\n,SMITH\r\n")
    assert row == RowError(2, "first_name", "missing firstname", ",SMITH")
