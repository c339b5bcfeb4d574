"""The streaming reader every format shares.

It reads binary chunks, splits lines itself and decodes each record on its own, so a bad byte or a
bad line costs at most that row. Only records whose quotes the fast split cannot handle go through
the ``csv`` module. Every non-blank line comes out as exactly one ``VoterRow`` or ``RowError``.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ._base import START, FormatError, HeaderError, Position, RowError, VoterRow
from ._layout import RAW_CHARS, Binding, Columns, Layout, norm

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20
MAX_RECORD_LINES = 100  # a quoted field may span this many lines before its quote counts as unclosed
_KEEP_BYTES = 4 * RAW_CHARS
_BOM = b"\xef\xbb\xbf"

_GARBAGE_START = frozenset("<=>| \t")
_MERGE_MARKER = re.compile(r"(?:<{7}|={7}|>{7}|\|{7})(?: |$)")
_HTML = re.compile(r"\s*<(?:!doctype|\?xml|!--|/?[a-z][a-z0-9]*(?:[\s/>]|$))", re.IGNORECASE)

Line = tuple[int, int, bytes]  # (line number, byte offset just past it, content without the line end)
Record = tuple[int, int, int, bytes]  # (first line, byte offset just past it, next line number, content)
# (first line, content, its double quotes, where the next record starts); content is a ``bytes``
# subclass for a record too long or unclosed to parse.
RawRecord = tuple[int, bytes, int, Position]


class _TooLong(bytes):
    """The first bytes of a line longer than MAX_LINE_BYTES; the rest was skipped unread."""


class _Unclosed(bytes):
    """A line whose quoted field did not close within MAX_RECORD_LINES lines."""


_BAD_RECORD_REASONS: dict[type, str] = {
    _TooLong: f"line longer than {MAX_LINE_BYTES >> 20} MiB without a newline",
    _Unclosed: f"quoted field not closed within {MAX_RECORD_LINES} lines or {MAX_LINE_BYTES >> 20} MiB",
}


class VoterReader:
    """Iterates ``(VoterRow | RowError, Position)`` over one voter file, from its start or a checkpoint.

    ``header`` is the header in force (save it with a checkpoint; ``None`` for headerless files),
    ``delimiter`` the one detected, and ``bytes_read`` the offset just past the last record yielded.
    """

    def __init__(
        self,
        layout: Layout,
        stream: BinaryIO,
        *,
        start: Position | None = None,
        header: list[str] | None = None,
        delimiter: str | None = None,
        prefix: bytes = b"",
        requested_format: str | None = None,
    ) -> None:
        start = start or START
        self.layout = layout
        self.info = layout.info
        self.format_id = layout.info.id
        self.requested_format = requested_format or layout.info.id
        self.bytes_read = start.byte_offset
        self._resumed = start.byte_offset > 0
        self._stream = stream
        if self._resumed and not prefix:
            _seek(stream, start.byte_offset)
        self._pending: deque[Line] = deque()
        self._lines = physical_lines(stream.read, prefix, start.byte_offset, start.line)
        columns, self.delimiter = self._open_header(header, delimiter)
        self.header: list[str] | None = columns.names if columns is not None else None
        self._binding = Binding(layout, columns or Columns(layout.fixed_header))
        self._split_prefix = prefix_splitter(self.delimiter, self._binding.width, self._binding.needed)

    # --- header -------------------------------------------------------------------------------

    def _open_header(self, header: list[str] | None, delimiter: str | None) -> tuple[Columns | None, str]:
        if header is not None:
            return self._given_header(header, delimiter)
        if not self.layout.has_header:
            return self._probe_headerless(delimiter)
        if self._resumed:
            return self._header_from_file_start(delimiter)
        first = self._take_line()
        if first is None:
            raise FormatError(f"{self.format_id}: the file is empty (no header row)")
        return self._parse_header(first[2], delimiter)

    def _given_header(self, header: list[str], delimiter: str | None) -> tuple[Columns | None, str]:
        columns = Columns(header)
        first = self._take_line()
        if first is not None:
            text = decode(first[2]) or ""
            delimiter = delimiter or self._sniff(text, len(header))
            seen = [norm(cell) for cell in split_fields(text, delimiter, -1) or []]
            # The saved header is only re-read from a fresh file; anything else is a data row.
            if self._resumed or seen != [norm(name) for name in columns.names]:
                self._pending.appendleft(first)
        return columns, delimiter or self.layout.delimiters[0]

    def _probe_headerless(self, delimiter: str | None) -> tuple[Columns | None, str]:
        delimiter = delimiter or self.layout.delimiters[0]
        first = None if self._resumed else self._take_line()
        if first is None:
            return None, delimiter
        cells = split_fields(decode(first[2]) or "", delimiter, -1) or []
        known = {norm(name) for name in self.layout.fixed_header}
        # A headerless format that arrives with a header anyway is mapped by that header.
        if sum(norm(cell) in known for cell in cells) >= 3:
            return Columns(cells), delimiter
        self._pending.appendleft(first)
        return None, delimiter

    def _header_from_file_start(self, delimiter: str | None) -> tuple[Columns, str]:
        stream = self._stream
        if not stream.seekable():
            raise FormatError(f"{self.format_id}: resuming mid-file needs header= (the reader.header saved)")
        here = stream.tell()
        stream.seek(0)
        try:
            first = next(_non_blank(physical_lines(stream.read, b"", 0, 1)), None)
        finally:
            stream.seek(here)
        if first is None:
            raise FormatError(f"{self.format_id}: the file is empty (no header row)")
        return self._parse_header(first[2], delimiter)

    def _parse_header(self, data: bytes, delimiter: str | None) -> tuple[Columns, str]:
        text = decode(data)
        if text is None:
            raise HeaderError(f"{self.format_id}: the header row is not text")
        if reason := garbage(text):
            raise HeaderError(f"{self.format_id}: the first line is {reason}, not a header row")
        delimiter = delimiter or self._sniff(text, None)
        return Columns(split_fields(text, delimiter, -1) or []), delimiter

    def _sniff(self, text: str, width: int | None) -> str:
        candidates = self.layout.delimiters
        counts = [len(split_fields(text, d, -1) or ()) for d in candidates]
        if width in counts:
            return candidates[counts.index(width)]
        return candidates[counts.index(max(counts))]

    def _take_line(self) -> Line | None:
        """The next non-blank physical line, honouring lines pushed back."""
        while (line := self._next_line()) is not None:
            if type(line[2]) is not bytes or not _is_blank(line[2]):
                return line
        return None

    def _next_line(self) -> Line | None:
        if self._pending:
            return self._pending.popleft()
        return next(self._lines, None)

    # --- records ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[VoterRow | RowError, Position]]:
        row = self._row
        for first, data, quotes, position in self.records():
            yield row(first, data, quotes), position

    def records(self) -> Iterator[RawRecord]:
        """Each record still undecoded, so a caller can recognise a row it has seen before unparsed."""
        # One loop instead of stacked generators: this runs once per line of multi-GB files.
        pending, lines = self._pending, self._lines
        while True:
            if pending:
                item = pending.popleft()
            elif (item := next(lines, None)) is None:
                return
            first, end, data = item
            next_line, quotes = first + 1, 0
            if type(data) is bytes:
                if not data or data.isspace():
                    continue
                quotes = data.count(b'"')
                if quotes % 2:
                    first, end, next_line, data = self._join_quoted(item)
                    quotes = data.count(b'"')
            self.bytes_read = end
            yield first, data, quotes, Position(end, next_line)

    def parse(self, record: RawRecord) -> VoterRow | RowError:
        """The row of one record from ``records()``."""
        return self._row(record[0], record[1], record[2])

    @property
    def fingerprint(self) -> bytes:
        """What, besides a record's bytes, decides the row it becomes: format, delimiter, header, mapping."""
        layout = self.layout
        mapping = sorted(layout.columns.items()) if layout.info.id == "csv_mapped" else []
        return repr((self.format_id, self.delimiter, self.header, mapping)).encode()

    def _join_quoted(self, first: Line) -> Record:
        """A record whose quoted field runs over the line end, joined with the lines that close it."""
        line_no, end, data = first
        if not ends_inside_quotes(data, self.delimiter):
            return line_no, end, line_no + 1, data  # the odd quote is data, as in NC's "O"NEIL"
        parts, taken = [data], []
        quotes, size = data.count(b'"'), len(data)
        while len(taken) < MAX_RECORD_LINES and (nxt := self._next_line()) is not None:
            taken.append(nxt)
            if type(nxt[2]) is not bytes or size > MAX_LINE_BYTES:
                break
            parts.append(nxt[2])
            quotes += nxt[2].count(b'"')
            size += len(nxt[2]) + 1
            if quotes % 2 == 0:
                return line_no, nxt[1], nxt[0] + 1, b"\n".join(parts)
        # Give the following lines back so each is still read as its own row.
        self._pending.extendleft(reversed(taken))
        return line_no, end, line_no + 1, _Unclosed(data)

    def _row(self, line: int, data: bytes, quotes: int) -> VoterRow | RowError:
        """One record as a row; ``quotes`` counts its double quotes (the same in bytes and text)."""
        if type(data) is not bytes:
            return RowError(line, "", _BAD_RECORD_REASONS[type(data)], raw_text(data))
        text = decode(data)
        if text is None:
            return RowError(line, "", "undecodable bytes: neither UTF-8 nor Windows-1252", raw_text(data))
        if text[0] in _GARBAGE_START and (reason := garbage(text)):
            return RowError(line, "", reason, text[:RAW_CHARS])
        binding = self._binding
        vals = self._split_prefix(text, quotes)
        if vals is None:
            vals = split_fields(text, self.delimiter, binding.width)
            if vals is None:
                return RowError(line, "", "malformed quoting", text[:RAW_CHARS])
            if len(vals) != binding.width and (problem := fit_width(vals, binding.width, binding.min_width)):
                return RowError(line, "", problem, text[:RAW_CHARS])
            del vals[binding.needed :]
        return binding.build(vals, line, text)


def physical_lines(read: Callable[[int], bytes], buf: bytes, offset: int, line_no: int) -> Iterator[Line]:
    """Split a byte stream into lines; ``buf`` holds bytes already read, starting at ``offset``."""
    if offset == 0:
        buf, offset = _strip_bom(read, buf)
    chunk, buf = buf or read(CHUNK_BYTES), b""
    while chunk:
        buf += chunk
        parts = buf.split(b"\n")
        buf = parts.pop()
        for part in parts:
            offset += len(part) + 1
            if len(part) > MAX_LINE_BYTES:
                part = _TooLong(part[:_KEEP_BYTES])
            elif part.endswith(b"\r"):
                part = part[:-1]
            yield line_no, offset, part
            line_no += 1
        if len(buf) > MAX_LINE_BYTES:
            head = buf[:_KEEP_BYTES]
            skipped, buf = _skip_past_newline(read, len(buf))
            offset += skipped
            yield line_no, offset, _TooLong(head)
            line_no += 1
        chunk = read(CHUNK_BYTES)
    if buf:
        yield line_no, offset + len(buf), buf[:-1] if buf.endswith(b"\r") else buf


def _seek(stream: BinaryIO, offset: int) -> None:
    if stream.seekable():
        stream.seek(offset)
        return
    remaining = offset  # a stream that cannot seek is taken to be at its start
    while remaining > 0 and (chunk := stream.read(min(remaining, CHUNK_BYTES))):
        remaining -= len(chunk)


def _strip_bom(read: Callable[[int], bytes], buf: bytes) -> tuple[bytes, int]:
    while len(buf) < len(_BOM) and (more := read(CHUNK_BYTES)):
        buf += more
    if buf.startswith(_BOM):
        return buf[len(_BOM) :], len(_BOM)
    return buf, 0


def _skip_past_newline(read: Callable[[int], bytes], skipped: int) -> tuple[int, bytes]:
    """Consume bytes up to and including the next newline without keeping them."""
    while chunk := read(CHUNK_BYTES):
        newline = chunk.find(b"\n")
        if newline >= 0:
            return skipped + newline + 1, chunk[newline + 1 :]
        skipped += len(chunk)
    return skipped, b""


def _non_blank(lines: Iterator[Line]) -> Iterator[Line]:
    return (line for line in lines if type(line[2]) is not bytes or not _is_blank(line[2]))


def _is_blank(data: bytes) -> bool:
    return not data or data.isspace()


def decode(data: bytes) -> str | None:
    """UTF-8 when the bytes are valid UTF-8, else Windows-1252; None if neither fits or NULs appear."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return None
    return None if "\x00" in text else text


def raw_text(data: bytes) -> str:
    """The start of a bad line for a ``RowError``, decoded with replacement characters."""
    head = bytes(data[:_KEEP_BYTES])
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the slice is not a reason to switch encodings.
        cut = exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
        text = head[: exc.start].decode("utf-8") if cut else head.decode("cp1252", "replace")
    return text.replace("\x00", "\ufffd")[:RAW_CHARS]


def ends_inside_quotes(data: bytes, delimiter: str) -> bool:
    """Whether a line ends inside a quoted field, so its record continues on the next line."""
    text = decode(data)
    if text is None:
        return False
    try:
        next(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def garbage(text: str) -> str:
    """Why a line is not data at all (merge-conflict marker, HTML), or ""."""
    if _MERGE_MARKER.match(text):
        return "merge-conflict marker"
    if _HTML.match(text):
        return "HTML markup"
    return ""


def prefix_splitter(delimiter: str, width: int, needed: int) -> Callable[[str, int], list[str] | None]:
    """A function giving the first ``needed`` fields of a well-formed ``width``-field row, else None.

    Splitting stops after the last column the layout reads (an NC row has 67 fields, we read 35),
    so the final part holds the unread rest. Rows with stray quotes or another width get None.
    """
    quoted_delimiter = f'"{delimiter}"'
    all_quoted = 2 * width
    maxsplit = needed - 1

    def split(text: str, quotes: int) -> list[str] | None:
        if text.count(delimiter) + 1 != width:
            return None
        if not quotes:
            return text.split(delimiter, maxsplit)
        if quotes == all_quoted and text[0] == '"' and text[-1] == '"':
            return text[1:-1].split(quoted_delimiter, maxsplit)  # every field quoted, as NC writes them
        return None

    return split


def split_fields(text: str, delimiter: str, width: int) -> list[str] | None:
    """Field values of one record expected to have ``width``; None when its quoting is beyond repair."""
    if '"' not in text:
        return text.split(delimiter)
    if len(text) > 1 and text[0] == '"' and text[-1] == '"':
        # Every field quoted, as NC writes them: split on quote-delimiter-quote, no csv module.
        parts = text[1:-1].split(f'"{delimiter}"')
        quotes = text.count('"')
        if quotes == 2 * len(parts):
            return parts
        if len(parts) == text.count(delimiter) + 1:
            return [part.replace('""', '"') for part in parts]
    try:
        fields = next(csv.reader([text], delimiter=delimiter))
    except csv.Error:
        return None
    if len(fields) != width and text.count(delimiter) + 1 == width:
        # Quotes that are data, not quoting (NC is read with escape_double=FALSE).
        return [_unquote(field) for field in text.split(delimiter)]
    return fields


def _unquote(field: str) -> str:
    stripped = field.strip()
    if len(stripped) > 1 and stripped[0] == '"' and stripped[-1] == '"':
        return stripped[1:-1]
    return field


def fit_width(vals: list[str], width: int, min_width: int) -> str:
    """Pad or trim ``vals`` in place to ``width`` where the format allows; else the reason it can't."""
    count = len(vals)
    if count > width:
        if any(not value.isspace() for value in vals[width:] if value):
            return f"too many fields: {count}, expected {width}"
        del vals[width:]
    elif count >= min_width:
        vals.extend([""] * (width - count))
    else:
        return f"too few fields: {count}, expected {width}"
    return ""
