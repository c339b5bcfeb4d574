"""detect_format and the ``auto`` format."""

from __future__ import annotations

import io

import pytest
import voterfiles as vf

from cocoa_importer.formats import DETECT_BYTES, UnknownFormat, VoterRow, detect_format, open_reader

VOTERS = vf.sample_voters(3)

SAMPLES = {
    "ncsbe current": ("ncsbe", vf.ncsbe_lines(VOTERS)),
    "ncsbe pre-2022": ("ncsbe", vf.ncsbe_lines(VOTERS, vf.NC_PRE_2022)),
    "ncsbe unquoted": ("ncsbe", vf.ncsbe_lines(VOTERS, quoted=False)),
    "florida": ("florida", vf.florida_lines(VOTERS)),
    "ohio comma": ("ohio_swvf", vf.ohio_lines(VOTERS, ",")),
    "ohio pipe": ("ohio_swvf", vf.ohio_lines(VOTERS, "|")),
    "washington tab": ("washington_vrdb", vf.washington_lines(VOTERS, "\t")),
    "washington pipe": ("washington_vrdb", vf.washington_lines(VOTERS, "|")),
    "contra costa": ("contra_costa", vf.contra_costa_lines(VOTERS)),
    "simple csv": ("simple_csv", vf.simple_csv_lines(VOTERS)),
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_detect_format_names_each_layout(sample: str) -> None:
    expected, lines = SAMPLES[sample]
    assert detect_format(vf.encode(lines)) == expected


def test_detect_format_ignores_a_bom_and_leading_blank_lines() -> None:
    data = b"\r\n" + vf.encode(vf.ncsbe_lines(VOTERS), encoding="utf-8")
    assert detect_format(b"\xef\xbb\xbf" + data) == "ncsbe"


def test_detect_format_reads_only_the_first_64_kib() -> None:
    lines = vf.ncsbe_lines(vf.sample_voters(500))
    data = vf.encode(lines)
    assert len(data) > DETECT_BYTES
    assert detect_format(data) == "ncsbe"


def test_detect_format_explains_an_unrecognised_header() -> None:
    with pytest.raises(UnknownFormat, match=r"unrecognised voter-file layout.*3 fields split on commas"):
        detect_format(b"apn,owner,situs\r\n1,A,B\r\n")


def test_detect_format_rejects_an_html_page() -> None:
    with pytest.raises(UnknownFormat, match="HTML"):
        detect_format(b"<!DOCTYPE html>\n<html><body>Not found</body></html>\n")


def test_detect_format_rejects_an_empty_file() -> None:
    with pytest.raises(UnknownFormat, match="empty"):
        detect_format(b"\r\n\r\n")


def test_detect_format_rejects_utf16() -> None:
    with pytest.raises(UnknownFormat, match="UTF-16"):
        detect_format("county_id\tncid\r\n".encode("utf-16"))


def test_auto_reports_the_chosen_format() -> None:
    reader = open_reader("auto", io.BytesIO(vf.encode(vf.ohio_lines(VOTERS, "|"))))
    assert (reader.requested_format, reader.format_id, reader.delimiter) == ("auto", "ohio_swvf", "|")


def test_auto_reads_every_row_including_those_in_the_detection_sample() -> None:
    data = vf.encode(vf.ncsbe_lines(vf.sample_voters(400)))
    rows = [row for row, _ in open_reader("auto", io.BytesIO(data))]
    assert len(rows) == 400
    assert all(isinstance(row, VoterRow) for row in rows)
