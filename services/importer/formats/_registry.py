"""The format catalogue and ``open_reader``, the one way in."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import BinaryIO

from . import contra_costa, csv_mapped, florida, ncsbe, ohio_swvf, simple_csv, washington_vrdb
from ._base import START, FormatError, FormatInfo, Position, UnknownFormat
from ._detect import DETECT_BYTES, detect_format
from ._layout import Layout
from ._reader import VoterReader

AUTO = FormatInfo(
    id="auto",
    name="Detect automatically",
    description="Recognise NC, FL, OH, WA, Contra Costa or simple CSV files from their first lines.",
    supported_extensions=(".txt", ".tsv", ".csv"),
    supports_incremental=True,
)

LAYOUTS: dict[str, Layout] = {
    module.LAYOUT.info.id: module.LAYOUT
    for module in (ncsbe, florida, ohio_swvf, washington_vrdb, contra_costa, simple_csv)
}

FORMATS: dict[str, FormatInfo] = {
    **{format_id: layout.info for format_id, layout in LAYOUTS.items()},
    csv_mapped.INFO.id: csv_mapped.INFO,
    AUTO.id: AUTO,
}


def open_reader(
    format_id: str,
    stream: BinaryIO,
    *,
    start: Position | None = None,
    mapping: Mapping[str, str] | None = None,
    header: list[str] | None = None,
    delimiter: str | None = None,
) -> VoterReader:
    """A reader of ``stream`` (binary) in ``format_id``, from its start or from checkpoint ``start``.

    To resume, pass the ``Position`` yielded with the last row handled and the ``header`` of the
    reader that yielded it. ``auto`` picks the format from the file's first bytes; the reader's
    ``format_id`` then says which one. ``delimiter`` overrides detection for formats that allow
    several.
    """
    if isinstance(stream, io.TextIOBase):
        raise TypeError("open_reader needs a binary stream: open the file with 'rb'")
    if format_id not in FORMATS:
        raise UnknownFormat(f"unknown format {format_id!r}; known: {', '.join(FORMATS)}")
    if mapping is not None and format_id != csv_mapped.INFO.id:
        raise FormatError(f"a column mapping applies only to csv_mapped, not {format_id}")
    prefix = b""
    chosen = format_id
    if format_id == AUTO.id:
        chosen, prefix = _detect(stream, start or START)
    layout = csv_mapped.layout_for(mapping) if chosen == csv_mapped.INFO.id else LAYOUTS[chosen]
    return VoterReader(
        layout,
        stream,
        start=start,
        header=header,
        delimiter=delimiter,
        prefix=prefix,
        requested_format=format_id,
    )


def _detect(stream: BinaryIO, start: Position) -> tuple[str, bytes]:
    """The detected format, and any bytes read that the reader must still see."""
    if start.byte_offset == 0:
        head = stream.read(DETECT_BYTES)
        return detect_format(head), head
    if not stream.seekable():
        raise FormatError("auto: cannot detect the format when resuming an unseekable stream")
    stream.seek(0)
    head = stream.read(DETECT_BYTES)
    stream.seek(start.byte_offset)
    return detect_format(head), b""
