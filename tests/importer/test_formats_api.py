"""The public surface of cocoa_importer.formats: catalogue, errors, reader attributes."""

from __future__ import annotations

import io

import pytest
import voterfiles as vf

from cocoa_importer.formats import FORMATS, FormatError, UnknownFormat, open_reader

FORMAT_IDS = {
    "ncsbe",
    "florida",
    "ohio_swvf",
    "washington_vrdb",
    "contra_costa",
    "simple_csv",
    "csv_mapped",
    "auto",
}


def test_formats_lists_every_format_id() -> None:
    assert set(FORMATS) == FORMAT_IDS


@pytest.mark.parametrize("format_id", sorted(FORMAT_IDS))
def test_format_info_describes_the_format(format_id: str) -> None:
    info = FORMATS[format_id]
    assert info.id == format_id
    assert info.name
    assert info.description
    assert all(ext.startswith(".") for ext in info.supported_extensions)


def test_open_reader_rejects_an_unknown_format_id() -> None:
    with pytest.raises(UnknownFormat, match="unknown format 'texas'"):
        open_reader("texas", io.BytesIO(b""))


def test_mapping_is_refused_by_formats_other_than_csv_mapped() -> None:
    data = vf.encode(vf.simple_csv_lines(vf.sample_voters(1)))
    with pytest.raises(FormatError, match="only to csv_mapped"):
        open_reader("simple_csv", io.BytesIO(data), mapping={"last_name": "LastName"})


def test_open_reader_refuses_a_text_stream() -> None:
    with pytest.raises(TypeError, match="binary"):
        open_reader("ncsbe", io.StringIO("county_id\tncid\n"))


def test_empty_file_is_a_format_error_for_a_format_with_a_header() -> None:
    with pytest.raises(FormatError, match="empty"):
        open_reader("ncsbe", io.BytesIO(b""))


def test_reader_exposes_format_header_and_delimiter() -> None:
    data = vf.encode(vf.washington_lines(vf.sample_voters(1), delimiter="|"))
    reader = open_reader("washington_vrdb", io.BytesIO(data))
    assert reader.format_id == "washington_vrdb"
    assert reader.delimiter == "|"
    assert reader.header == vf.WASHINGTON
