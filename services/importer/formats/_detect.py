"""Recognise a voter file's format from its first bytes."""

from __future__ import annotations

from . import contra_costa, florida, ncsbe, ohio_swvf, simple_csv, washington_vrdb
from ._base import UnknownFormat
from ._layout import norm
from ._reader import decode, garbage, split_fields

DETECT_BYTES = 64 * 1024

_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("ncsbe", ncsbe.SIGNATURE),
    ("ohio_swvf", ohio_swvf.SIGNATURE),
    ("washington_vrdb", washington_vrdb.SIGNATURE),
    ("contra_costa", contra_costa.SIGNATURE),
)
_DELIMITERS = {"\t": "tabs", "|": "pipes", ",": "commas", ";": "semicolons"}
_FIRST_NAMES = frozenset(map(norm, simple_csv.FIRST_NAME))
_LAST_NAMES = frozenset(map(norm, simple_csv.LAST_NAME))
_FLORIDA_HEADER = frozenset(map(norm, florida.COLUMNS))


def detect_format(head: bytes) -> str:
    """The format id of a voter file, judged from its first ~64 KiB; raises ``UnknownFormat``."""
    head = head[:DETECT_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnknownFormat("the file is UTF-16 text; save it as UTF-8 or Windows-1252 and upload again")
    text = _first_line(head)
    if reason := garbage(text):
        raise UnknownFormat(f"the file starts with {reason}, not voter data")
    cells_by_delimiter = {d: [norm(c) for c in split_fields(text, d, -1) or []] for d in _DELIMITERS}
    for cells in cells_by_delimiter.values():
        names = set(cells)
        for format_id, signature in _SIGNATURES:
            if signature <= names:
                return format_id
        if len(names & _FLORIDA_HEADER) >= 3:
            return "florida"
        if names & _FIRST_NAMES and names & _LAST_NAMES:
            return "simple_csv"
    if _looks_like_florida(cells_by_delimiter["\t"]):
        return "florida"
    raise UnknownFormat(_unrecognised(text, cells_by_delimiter))


def _first_line(head: bytes) -> str:
    lines = head.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if len(head) == DETECT_BYTES and len(lines) > 1:
        lines.pop()  # cut off mid-line
    for line in lines:
        if line.strip():
            text = decode(line.rstrip(b"\r"))
            if text is None:
                raise UnknownFormat("the first line is not text (binary data or an unknown encoding)")
            return text
    raise UnknownFormat("the file is empty")


def _looks_like_florida(cells: list[str]) -> bool:
    # No header: 38 tab-separated fields, a 3-letter county code, then a numeric voter id.
    while len(cells) > len(florida.COLUMNS) and not cells[-1]:
        cells = cells[:-1]
    return (
        len(cells) == len(florida.COLUMNS)
        and len(cells[0]) == 3
        and cells[0].isalpha()
        and cells[1].isdigit()
    )


def _unrecognised(text: str, cells_by_delimiter: dict[str, list[str]]) -> str:
    delimiter = max(cells_by_delimiter, key=lambda d: len(cells_by_delimiter[d]))
    count = len(cells_by_delimiter[delimiter])
    preview = text[:80] + ("…" if len(text) > 80 else "")
    split = f"{count} fields split on {_DELIMITERS[delimiter]}" if count > 1 else "no delimiter"
    return (
        f"unrecognised voter-file layout: the first line has {split} ({preview!r}); "
        "choose the format explicitly, or use csv_mapped with a column mapping"
    )
