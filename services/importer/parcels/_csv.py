"""Delimited parcel files (comma, tab or pipe) -> pending parcels, one physical line at a time.

Each line is decoded on its own (UTF-8, else Windows-1252, else Latin-1), so one county clerk's byte
costs nothing. Quoted fields may span lines; a quote left open for ``MAX_RECORD_LINES`` lines is
reported on its first line and the lines after it are read again as records of their own.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import BinaryIO, Final

from ._aliases import Columns, alias_names, first, resolve
from ._build import apn_of, bounded_properties, build_record
from ._geometry import Location, from_lat_lon, from_text
from ._model import ParcelError, ParcelFormatError, ParcelRecord, Pending

MAX_LINE_BYTES: Final = 64 << 20
MAX_RECORD_LINES: Final = 100
DELIMITERS: Final = ("\t", "|", ",")  # tie-break order: a tab or pipe count beats stray commas
_BOM: Final = b"\xef\xbb\xbf"
_MERGE_MARKER: Final = re.compile(r"(?:<{7}|={7}|>{7})(?: |$)")
_HTML: Final = re.compile(r"\s*<(?:!doctype|html|\?xml|head|body)\b", re.IGNORECASE)


class _TooLong(str):
    """Stands in for a line over ``MAX_LINE_BYTES``; its bytes were skipped unread."""


Line = tuple[int, str]
Record = tuple[int, list[str] | str]  # (first line, fields) or (first line, why it is not a record)


class _Splitter:
    """Splits one record's text on a delimiter, honouring CSV quotes ("" inside quotes is a quote)."""

    def __init__(self, delimiter: str) -> None:
        d = re.escape(delimiter)
        self.delimiter = delimiter
        self._field = re.compile(
            rf'"(?P<quoted>[^"]*(?:""[^"]*)*)"[ \t]*(?P<qend>{d}|\Z)'  # a closed quoted field
            rf'|(?P<open>"[^"]*(?:""[^"]*)*\Z)'  # a quoted field still open at the end of the text
            rf"|(?P<raw>[^{d}]*)(?P<rend>{d}|\Z)",  # anything else, quotes and all, is literal
            re.DOTALL,
        )

    def split(self, text: str) -> list[str] | None:
        """The fields, or None when a quoted field is still open (the record continues)."""
        if '"' not in text:
            return text.split(self.delimiter)
        fields: list[str] = []
        pos, end = 0, len(text)
        while True:
            match = self._field.match(text, pos)
            assert match is not None  # the last alternative always matches
            if match.group("open") is not None:
                return None
            quoted = match.group("quoted")
            if quoted is not None:
                fields.append(quoted.replace('""', '"'))
                separator = match.group("qend")
            else:
                fields.append(match.group("raw"))
                separator = match.group("rend")
            pos = match.end()
            if not separator:
                return fields
            if pos == end:
                fields.append("")  # "a,b," ends with an empty field
                return fields


def read_csv(stream: BinaryIO, default_state: str) -> Iterator[Pending | ParcelError]:
    """One ``Pending`` or ``ParcelError`` per non-blank data line (items are physical line numbers)."""
    lines = _physical_lines(stream)
    header_line = next(((n, t) for n, t in lines if t.strip()), None)
    if header_line is None:
        raise ParcelFormatError("the CSV file is empty")
    splitter = _Splitter(_sniff_delimiter(header_line[1]))
    names, columns = _header(header_line[1], splitter)
    width = len(names)
    for item, fields in _records(lines, splitter):
        if isinstance(fields, str):
            yield ParcelError(item, "row", fields)
        elif (problem := _ragged(fields, width)) is not None:
            yield ParcelError(item, "row", problem)
        else:
            yield _pending(item, dict(zip(names, fields, strict=False)), columns, default_state)


def _pending(item: int, values: dict[str, str], columns: Columns, default_state: str) -> Pending:
    def build() -> ParcelRecord:
        # The geometry cell is already geometry_json; keeping it would store the shape twice.
        properties = bounded_properties(values, exclude=columns.get("geometry", ()))
        return build_record(
            item, values, columns, lambda: _locate(values, columns), default_state, properties
        )

    return Pending(item, apn_of(values, columns), build)


def _locate(values: dict[str, str], columns: Columns) -> Location:
    geometry = first(values, columns.get("geometry"))
    if geometry:
        return from_text(geometry)
    return from_lat_lon(first(values, columns.get("latitude")), first(values, columns.get("longitude")))


# --------------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------------


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # max() keeps the first of equals: tab, pipe, comma
    return best if counts[best] else ","


def _header(text: str, splitter: _Splitter) -> tuple[list[str], Columns]:
    """Unique column names (duplicates get ``_2``...) and the fields they feed; no APN column is fatal."""
    if _HTML.match(text):
        raise ParcelFormatError("this is an HTML page, not CSV (a web page saved under a .csv name?)")
    raw = splitter.split(text) or [text]
    names: list[str] = []
    for position, name in enumerate(raw, start=1):
        name = name.strip() or f"column_{position}"  # "...,Parcel Address,," has empty trailing names
        unique, n = name, 2
        while unique in names:
            unique, n = f"{name}_{n}", n + 1
        names.append(unique)
    columns = resolve(names)
    if "apn" not in columns:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise ParcelFormatError(
            f"no APN column in the header (expected one of {alias_names('apn')}); found: {shown}"
        )
    return names, columns


# --------------------------------------------------------------------------------------------------
# Lines and records
# --------------------------------------------------------------------------------------------------


def _ragged(fields: list[str], width: int) -> str | None:
    if len(fields) == width:
        return None
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        del fields[width:]  # trailing delimiters: "a,b,c,,"
        return None
    text = "".join(fields)[:60]
    if _MERGE_MARKER.match(text):
        return f"merge-conflict marker line {text!r}"
    return f"expected {width} fields as in the header, found {len(fields)}: {text!r}"


def _records(lines: Iterator[Line], splitter: _Splitter) -> Iterator[Record]:
    """Join quoted multi-line fields; report (and re-read past) quotes that never close."""
    pushed_back: deque[Line] = deque()

    def next_line() -> Line | None:
        return pushed_back.popleft() if pushed_back else next(lines, None)

    while (line := next_line()) is not None:
        number, text = line
        if isinstance(text, _TooLong):
            yield number, f"line longer than {MAX_LINE_BYTES >> 20} MiB"
            continue
        if not text.strip():
            continue
        fields = splitter.split(text)
        taken: list[Line] = []
        while fields is None and len(taken) < MAX_RECORD_LINES:
            more = next_line()
            if more is None or isinstance(more[1], _TooLong):
                pushed_back.extend([more] if more else [])
                break
            taken.append(more)
            text = f"{text}\n{more[1]}"
            fields = splitter.split(text)
        if fields is None:
            pushed_back.extendleft(reversed(taken))
            yield number, f"quoted field not closed within {len(taken) + 1} lines"
            continue
        yield number, fields


def _physical_lines(stream: BinaryIO) -> Iterator[Line]:
    """``(line number, text)`` without line endings; the BOM is dropped from line 1."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES):
        number += 1
        if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield number, _TooLong()
            continue
        if number == 1:
            raw = raw.removeprefix(_BOM)
        yield number, _decode(raw.rstrip(b"\r\n"))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # cp1252 leaves 0x81, 0x8D... undefined
