"""A look at a voter file's first rows before anything is imported.

A file read under the wrong format fails nearly every row, and the few rows that happen to fit are
garbage (a North Carolina file read as Florida's fixed 38 fields takes the county name for the
voter id). Such a file is refused at once, with the reason, instead of being logged row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cocoa_importer.first_items import SAMPLE_ITEMS, mostly_failing

from ._base import FormatError, RowError, UnknownFormat
from ._detect import DETECT_BYTES, detect_format
from ._reader import VoterReader
from ._registry import open_reader


@dataclass(frozen=True, slots=True)
class Probe:
    rows: int
    failed: int
    first_error: RowError | None

    @property
    def refused(self) -> bool:
        return mostly_failing(self.rows, self.failed)


def probe(reader: VoterReader, rows: int = SAMPLE_ITEMS) -> Probe:
    """Parse up to ``rows`` records from where ``reader`` starts (its stream is consumed)."""
    seen = failed = 0
    first_error: RowError | None = None
    for record in reader.records():
        row = reader.parse(record)
        seen += 1
        if isinstance(row, RowError):
            failed += 1
            first_error = first_error or row
        if seen >= rows:
            break
    return Probe(seen, failed, first_error)


def check_rows(path: str, format_id: str, mapping: Mapping[str, str] | None = None) -> None:
    """Raise ``FormatError`` when the file at ``path`` cannot be read as ``format_id``: its header
    does not fit the format, nearly all of its first rows fail, or it is a state's file sent as
    simple_csv."""
    with open(path, "rb") as stream:
        head = stream.read(DETECT_BYTES)
        stream.seek(0)
        reader = open_reader(format_id, stream, mapping=mapping)
        result = probe(reader)
    if result.refused:
        raise FormatError(mismatch(result, reader.format_id, head))
    # A state's own file (detection names one of the state formats) read as simple_csv keeps the
    # names but loses the voter ids (rows are keyed by content, so next month's file duplicates every
    # voter who changed) and the address columns.
    if reader.format_id == "simple_csv" and (state := _detected(head)) not in (None, "simple_csv"):
        raise FormatError(
            f"the file is a {state} file: as simple_csv its voter ids and addresses would be lost,"
            f" so nothing was imported. Choose {state}, or auto."
        )


def mismatch(result: Probe, format_id: str, head: bytes) -> str:
    """Why a refused file does not read as ``format_id``, and which format it looks like."""
    error = result.first_error
    assert error is not None
    reason = (
        f"{result.failed} of its first {result.rows} rows fail (line {error.line}: {error.reason}),"
        " so nothing was imported."
    )
    detected = _detected(head)
    if detected and detected != format_id:
        return f"{reason} It looks like {detected}: choose that format, or auto."
    return f"{reason} Check the format chosen and the file."


def _detected(head: bytes) -> str | None:
    try:
        return detect_format(head)
    except UnknownFormat:
        return None
