"""csv_mapped: any delimited file plus a column mapping."""

from __future__ import annotations

import io

import pytest

from cocoa_importer.formats import FormatError, HeaderError, RowError, VoterRow, open_reader

FILE = b"Voter No;Surname;Given;Street;Town;DOB\r\nV1;SMITH;ANN;12 ELM ST;CARY;1970-03-04\r\n"
MAPPING = {
    "source_voter_id": "Voter No",
    "last_name": "surname",
    "first_name": "GIVEN",
    "street_line": "Street",
    "city": "Town",
    "birth_date": "DOB",
}


def read_all(data: bytes, mapping: dict[str, str]) -> list[VoterRow | RowError]:
    return [row for row, _ in open_reader("csv_mapped", io.BytesIO(data), mapping=mapping)]


def test_csv_mapped_reads_the_columns_the_mapping_names() -> None:
    (row,) = read_all(FILE, MAPPING)
    assert isinstance(row, VoterRow)
    assert (row.source_voter_id, row.last_name, row.first_name) == ("V1", "SMITH", "ANN")
    assert (row.street_line, row.city, row.birth_year) == ("12 ELM ST", "CARY", 1970)


def test_csv_mapped_detects_the_delimiter() -> None:
    reader = open_reader("csv_mapped", io.BytesIO(FILE), mapping=MAPPING)
    assert reader.delimiter == ";"


def test_csv_mapped_requires_a_mapped_voter_id_on_every_row() -> None:
    (row,) = read_all(FILE.replace(b"V1;", b";"), MAPPING)
    assert isinstance(row, RowError)
    assert (row.field, row.reason) == ("source_voter_id", "missing Voter No")


def test_csv_mapped_rejects_an_unknown_field() -> None:
    with pytest.raises(FormatError, match=r"unknown field.*shoe_size"):
        open_reader("csv_mapped", io.BytesIO(FILE), mapping={**MAPPING, "shoe_size": "Street"})


def test_csv_mapped_needs_last_name_mapped() -> None:
    with pytest.raises(FormatError, match="last_name"):
        open_reader("csv_mapped", io.BytesIO(FILE), mapping={"first_name": "Given"})


def test_csv_mapped_needs_a_mapping() -> None:
    with pytest.raises(FormatError, match="needs mapping"):
        open_reader("csv_mapped", io.BytesIO(FILE))


def test_csv_mapped_column_missing_from_the_header_is_a_header_error() -> None:
    with pytest.raises(HeaderError, match="Family Name"):
        open_reader("csv_mapped", io.BytesIO(FILE), mapping={"last_name": "Family Name"})


def test_csv_mapped_optional_column_missing_from_the_header_is_a_header_error() -> None:
    with pytest.raises(HeaderError, match="E-mail"):
        open_reader("csv_mapped", io.BytesIO(FILE), mapping={"last_name": "Surname", "email": "E-mail"})


def test_csv_mapped_skips_fields_mapped_to_nothing() -> None:
    (row,) = read_all(FILE, {"last_name": "Surname", "email": ""})
    assert isinstance(row, VoterRow)
    assert (row.last_name, row.email, row.source_voter_id) == ("SMITH", "", "")
