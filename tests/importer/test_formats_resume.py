"""Checkpoints: a Position plus the reader's header resumes a read exactly where it stopped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import voterfiles as vf

from cocoa_importer.formats import FormatError, Position, RowError, VoterRow, open_reader

Item = tuple[VoterRow | RowError, Position]
VOTERS = vf.sample_voters(8)
MESSY_NC = [
    *vf.ncsbe_lines(VOTERS[:3]),
    "",
    "<<<<<<< HEAD",
    vf.ncsbe_lines(VOTERS[3:4])[1].replace(f'"{VOTERS[3].first}"', f'"{VOTERS[3].first}\r\nJR"', 1),
    "too\tfew",
    '"AA9"\t"NEVER CLOSED',
    *vf.ncsbe_lines(VOTERS[4:])[1:],
]
SAMPLES: dict[str, tuple[str, bytes, dict[str, str] | None]] = {
    "ncsbe": ("ncsbe", vf.encode(vf.ncsbe_lines(VOTERS)), None),
    "ncsbe messy": ("ncsbe", vf.encode(MESSY_NC), None),
    "florida": ("florida", vf.encode(vf.florida_lines(VOTERS)), None),
    "ohio comma": ("ohio_swvf", vf.encode(vf.ohio_lines(VOTERS, ",")), None),
    "ohio pipe": ("ohio_swvf", vf.encode(vf.ohio_lines(VOTERS, "|")), None),
    "washington pipe": ("washington_vrdb", vf.encode(vf.washington_lines(VOTERS, "|")), None),
    "contra costa": (
        "contra_costa",
        vf.encode(vf.contra_costa_lines(VOTERS), encoding="utf-8", bom=True),
        None,
    ),
    "simple csv": ("simple_csv", vf.encode(vf.simple_csv_lines(VOTERS)), None),
    "csv mapped": ("csv_mapped", vf.encode(vf.simple_csv_lines(VOTERS)), {"last_name": "LastName"}),
    "auto": ("auto", vf.encode(vf.ohio_lines(VOTERS, "|")), None),
}


class Unseekable(io.RawIOBase):
    """A pipe-like stream: readable from the start, cannot seek."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def read_from(format_id: str, data: bytes, mapping: dict[str, str] | None, stop: int) -> list[Item]:
    """Read ``stop`` items, then resume from the last checkpoint in a new reader and finish."""
    first = open_reader(format_id, io.BytesIO(data), mapping=mapping)
    taken = [item for _, item in zip(range(stop), first, strict=False)]
    start = taken[-1][1] if taken else None
    rest = open_reader(format_id, io.BytesIO(data), mapping=mapping, start=start, header=first.header)
    return taken + list(rest)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_resume_from_checkpoint_yields_the_same_rows(sample: str) -> None:
    format_id, data, mapping = SAMPLES[sample]
    whole = list(open_reader(format_id, io.BytesIO(data), mapping=mapping))
    for stop in range(len(whole) + 1):
        assert read_from(format_id, data, mapping, stop) == whole, f"stopped after {stop}"


def test_resume_on_an_unseekable_stream_skips_to_the_checkpoint() -> None:
    data = vf.encode(MESSY_NC)
    whole = list(open_reader("ncsbe", io.BytesIO(data)))
    reader = open_reader("ncsbe", io.BytesIO(data))
    start = whole[4][1]
    resumed = list(open_reader("ncsbe", Unseekable(data), start=start, header=reader.header))
    assert resumed == whole[5:]


def test_resume_without_the_header_rereads_it_from_the_file_start(tmp_path: Path) -> None:
    path = vf.write(tmp_path / "ncvoter32.txt", vf.encode(vf.ncsbe_lines(VOTERS, vf.NC_PRE_2022)))
    with path.open("rb") as f:
        whole = list(open_reader("ncsbe", f))
    with path.open("rb") as f:
        resumed = list(open_reader("ncsbe", f, start=whole[2][1]))
    assert resumed == whole[3:]


def test_resume_without_the_header_on_an_unseekable_stream_is_a_format_error() -> None:
    data = vf.encode(vf.ncsbe_lines(VOTERS))
    start = next(iter(open_reader("ncsbe", io.BytesIO(data))))[1]
    with pytest.raises(FormatError, match="needs header="):
        open_reader("ncsbe", Unseekable(data), start=start)


def test_position_after_the_last_row_is_the_end_of_the_file() -> None:
    data = vf.encode(vf.ncsbe_lines(VOTERS))
    *_, (_, end) = open_reader("ncsbe", io.BytesIO(data))
    assert end == Position(len(data), len(VOTERS) + 2)
    assert list(open_reader("ncsbe", io.BytesIO(data), start=end)) == []


def test_bytes_read_is_the_offset_just_past_the_last_row_yielded() -> None:
    reader = open_reader("florida", io.BytesIO(vf.encode(vf.florida_lines(VOTERS))))
    for _, position in reader:
        assert reader.bytes_read == position.byte_offset


def test_header_given_for_a_file_without_one_reads_line_one_as_data() -> None:
    lines = vf.washington_lines(VOTERS[:2])
    rows = list(open_reader("washington_vrdb", io.BytesIO(vf.encode(lines[1:])), header=vf.WASHINGTON))
    assert [(row.line, row.last_name) for row, _ in rows] == [(1, VOTERS[0].last), (2, VOTERS[1].last)]


def test_header_given_for_a_fresh_file_is_not_read_as_data() -> None:
    data = vf.encode(vf.washington_lines(VOTERS[:2]))
    rows = list(open_reader("washington_vrdb", io.BytesIO(data), header=vf.WASHINGTON))
    assert [row.line for row, _ in rows] == [2, 3]
