"""Declarative column layouts and their binding to one file's header.

A ``Layout`` says which header names feed which ``VoterRow`` attribute. ``Binding`` resolves those
names against the header actually seen once, so turning a row into a ``VoterRow`` is index lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from operator import itemgetter

from ._base import TEXT_FIELDS, FormatInfo, HeaderError, RowError, VoterRow

RAW_CHARS = 200
_BIRTH_AT = list(VoterRow.__dataclass_fields__).index("birth_year") - 1  # its place among TEXT_FIELDS

# Called with the new row and the row's trimmed values, for what a format needs beyond
# one column per attribute (election history, phone parts).
RowHook = Callable[[VoterRow, list[str]], None]

_NORM = re.compile(r"[\s_\-.\"'\ufeff]+")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_DATE_PARTS = re.compile(r"\d+")


def norm(name: str) -> str:
    """A header name as matched: case, BOM, quotes, spaces, ``_``, ``-`` and ``.`` are ignored."""
    return _NORM.sub("", name).lower()


@dataclass(frozen=True, slots=True)
class Layout:
    """How one voter-file format maps onto ``VoterRow``."""

    info: FormatInfo
    delimiters: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]  # VoterRow attribute -> header names that may hold it
    required: tuple[str, ...] = ("source_voter_id", "last_name")
    birth: tuple[str, ...] = ()  # a birth-year or full birth-date column
    zip4: tuple[str, ...] = ()  # a separate ZIP+4 column, appended to zip_code as "-NNNN"
    mailing_lines: tuple[str, ...] = ()
    mailing_place: tuple[str, ...] = ()  # city, state, zip[, country] of the mailing address
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # extra[key] = "Y" only when "Y"
    constants: Mapping[str, str] = field(default_factory=dict)
    fixed_header: tuple[str, ...] = ()  # headerless formats: the column names in file order
    is_tail: Callable[[str], bool] | None = None  # trailing columns a short row may leave out
    hook: Callable[[Columns], RowHook | None] | None = None
    header_must_have_all: bool = False  # True: every named column must exist, not just required ones
    # VoterRow attribute -> (test, what it must be): a non-empty value failing the test rejects the row
    # (a county code that is not one tells a file of another format from this one).
    checks: Mapping[str, tuple[Callable[[str], bool], str]] = field(default_factory=dict)

    @property
    def has_header(self) -> bool:
        return not self.fixed_header


class Columns:
    """A header as seen in the file, searchable by normalised name."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = [name.strip().strip('"').replace("\ufeff", "") for name in names]
        self._index: dict[str, int] = {}
        self._duplicates: set[str] = set()
        for i, name in enumerate(self.names):
            key = norm(name)
            if key in self._index:
                self._duplicates.add(key)
            elif key:
                self._index[key] = i

    def find(self, *aliases: str) -> int | None:
        """Index of the first alias present in the header, or None."""
        for alias in aliases:
            i = self._index.get(norm(alias))
            if i is not None:
                return i
        return None

    def is_duplicated(self, i: int) -> bool:
        return norm(self.names[i]) in self._duplicates


class Binding:
    """A layout resolved against one header: builds a ``VoterRow`` from a list of field values.

    Every lookup is an index into the row, fixed once here. Attributes the header lacks read a
    padding value appended to each row: "" or the layout's constant for that attribute.
    """

    __slots__ = (
        "_birth",
        "_checks",
        "_extra",
        "_flags",
        "_head",
        "_hook",
        "_mail_lines",
        "_mail_place",
        "_pad",
        "_required",
        "_tail",
        "_zip4",
        "columns",
        "layout",
        "min_width",
        "needed",
        "width",
    )

    def __init__(self, layout: Layout, columns: Columns) -> None:
        self.layout = layout
        self.columns = columns
        self.width = len(columns.names)
        self.min_width = self._min_width()
        found = self._resolve_text_columns()
        birth = self._find(layout.birth)
        if birth is None and layout.birth and layout.header_must_have_all:
            raise HeaderError(f"{layout.info.id}: header lacks column {layout.birth[0]!r}")
        self._zip4 = self._find(layout.zip4)
        mail_lines = [i for name in layout.mailing_lines if (i := columns.find(name)) is not None]
        mail_place = [columns.find(name) for name in layout.mailing_place]
        self._extra = self._keyed(layout.extra)
        self._flags = self._keyed(layout.flags)
        self._hook = layout.hook(columns) if layout.hook else None
        used = [*found.values(), *mail_lines, *mail_place, birth, self._zip4]
        used += [i for _, i in (*self._extra, *self._flags)]
        self.needed = self._needed([i for i in used if i is not None])
        pad = self.needed
        self._pad = ("", *layout.constants.values())
        constant_at = {attr: pad + 1 + k for k, attr in enumerate(layout.constants)}
        text_at = [found.get(attr, constant_at.get(attr, pad)) for attr in TEXT_FIELDS]
        # VoterRow's positional order: the text fields before birth_year, then those after it.
        self._head = _tuple_getter(tuple(text_at[:_BIRTH_AT]))
        self._tail = _tuple_getter(tuple(text_at[_BIRTH_AT:]))
        self._required = tuple((found[attr], attr, columns.names[found[attr]]) for attr in layout.required)
        self._checks = tuple(
            (found[attr], attr, test, f"{columns.names[found[attr]]} must be {what}")
            for attr, (test, what) in layout.checks.items()
            if attr in found
        )
        self._birth = pad if birth is None else birth
        self._mail_lines = _tuple_getter(tuple(mail_lines)) if mail_lines else None
        self._mail_place = _tuple_getter(tuple(pad if i is None else i for i in mail_place))

    def _resolve_text_columns(self) -> dict[str, int]:
        found: dict[str, int] = {}
        missing: list[str] = []
        for attr, aliases in self.layout.columns.items():
            i = self.columns.find(*aliases)
            if i is None:
                if attr in self.layout.required or self.layout.header_must_have_all:
                    missing.append(" or ".join(aliases[:3]))
                continue
            if self.columns.is_duplicated(i):
                raise HeaderError(f"{self.layout.info.id}: column {self.columns.names[i]!r} appears twice")
            found[attr] = i
        if missing:
            seen = ", ".join(self.columns.names[:8])
            if len(seen) > 160:  # one column holding a whole line: split on the wrong delimiter
                seen = seen[:160] + "…"
            raise HeaderError(
                f"{self.layout.info.id}: header lacks required column(s) {'; '.join(missing)} "
                f"(it starts: {seen})"
            )
        return found

    def _needed(self, used: list[int]) -> int:
        # Rows are split only up to the last column read, plus one part for the unread rest;
        # a hook may read any column, so then rows are split whole.
        return self.width if self._hook else min(self.width, max(used, default=0) + 2)

    def _min_width(self) -> int:
        # Rows may omit trailing columns that are unnamed or, for some formats, election history.
        is_tail = self.layout.is_tail
        last = -1
        for i, name in enumerate(self.columns.names):
            if name and not (is_tail and is_tail(name)):
                last = i
        return last + 1

    def _find(self, aliases: tuple[str, ...]) -> int | None:
        return self.columns.find(*aliases) if aliases else None

    def _keyed(self, wanted: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, int], ...]:
        return tuple((key, i) for key, aliases in wanted.items() if (i := self._find(aliases)) is not None)

    def build(self, vals: list[str], line: int, text: str) -> VoterRow | RowError:
        """Map the first ``needed`` values of a row; a missing required value is a ``RowError``."""
        vals = [*map(str.strip, vals), *self._pad]
        for i, attr, column in self._required:
            if not vals[i]:
                return RowError(line, attr, f"missing {column}", text[:RAW_CHARS])
        for i, attr, test, must in self._checks:
            if (value := vals[i]) and not test(value):
                return RowError(line, attr, f"{must}, not {value[:40]!r}", text[:RAW_CHARS])
        birth = vals[self._birth]
        row = VoterRow(line, *self._head(vals), birth_year(birth) if birth else None, *self._tail(vals))
        extra = row.extra
        if len(birth) > 4:
            extra["birth_date"] = birth
        if self._zip4 is not None and row.zip_code and (plus4 := vals[self._zip4]):
            row.zip_code = f"{row.zip_code}-{plus4}"
        if self._mail_lines is not None and (lines := list(filter(None, self._mail_lines(vals)))):
            row.mailing_address = one_line_address(lines, *self._mail_place(vals))
        for key, i in self._extra:
            if value := vals[i]:
                extra[key] = value
        for key, i in self._flags:
            if vals[i].upper() == "Y":
                extra[key] = "Y"
        if self._hook:
            self._hook(row, vals)
        return row


def _tuple_getter(indices: tuple[int, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    # itemgetter returns a bare value for one index and refuses none.
    if len(indices) == 1:
        only = indices[0]
        return lambda vals: (vals[only],)
    if not indices:
        return lambda vals: ()
    return itemgetter(*indices)


def birth_year(text: str) -> int | None:
    """The year of ``1985``, ``MM/DD/YYYY``, ``YYYY-MM-DD``, ``YYYYMMDD`` or ``MMDDYYYY``; None if implausible."""
    if len(text) == 4 and text.isdigit():
        year = int(text)
    elif len(text) == 8 and text.isdigit():
        year = int(text[:4]) if text[:2] in ("18", "19", "20") else int(text[4:])
    elif match := _YEAR.search(text):
        year = int(match.group())
    else:
        return None
    return year if 1800 <= year <= 2100 else None


@lru_cache(maxsize=4096)  # election and registration dates repeat across millions of rows
def iso_date(text: str) -> str:
    """``MM/DD/YYYY`` or ``YYYY-MM-DD`` as ``YYYY-MM-DD`` (so dates sort as text); "" if unreadable."""
    parts = _DATE_PARTS.findall(text)
    if len(parts) != 3:
        return ""
    if len(parts[0]) == 4:
        year, month, day = parts
    else:
        month, day, year = parts
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def one_line_address(
    lines: Sequence[str], city: str = "", state: str = "", zip_code: str = "", *rest: str
) -> str:
    """``"PO BOX 12, DURHAM, NC 27701"`` from address lines and place parts; "" without a line."""
    if not any(lines):
        return ""
    state_zip = f"{state} {zip_code}" if state and zip_code else state or zip_code
    return ", ".join(filter(None, (*lines, city, state_zip, *rest)))
