"""Value types shared by every voter-file reader: rows, row errors, checkpoints and errors."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """What the upload form shows about a format."""

    id: str
    name: str
    description: str
    supported_extensions: tuple[str, ...]
    supports_incremental: bool


@dataclass(slots=True)
class VoterRow:
    """One good data row, every value as trimmed text except ``birth_year``.

    The residence comes either as one line (``street_line`` plus ``street_line2`` for a unit or
    second line) or in parts (``house_number`` … ``unit``), whichever the format gives.
    """

    line: int
    source_voter_id: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    name_suffix: str = ""
    birth_year: int | None = None
    gender: str = ""
    party: str = ""
    status: str = ""
    registration_date: str = ""
    email: str = ""
    phone: str = ""
    street_line: str = ""
    street_line2: str = ""
    house_number: str = ""
    house_fraction: str = ""
    predir: str = ""
    street_name: str = ""
    street_suffix: str = ""
    postdir: str = ""
    unit_type: str = ""
    unit: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    county: str = ""
    precinct: str = ""
    mailing_address: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowError:
    """A data line (or quoted multi-line record) that could not become a ``VoterRow``.

    ``field`` names the ``VoterRow`` attribute at fault, or is "" when the whole line is (ragged,
    undecodable, garbage); ``raw`` is the line's start, decoded with replacement characters.
    """

    line: int
    field: str
    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class Position:
    """Checkpoint: where the next record starts. Resume with ``open_reader(..., start=pos)``."""

    byte_offset: int
    line: int


START = Position(0, 1)

# VoterRow attributes a layout may fill straight from one column.
TEXT_FIELDS: tuple[str, ...] = tuple(
    name for name in VoterRow.__dataclass_fields__ if name not in ("line", "birth_year", "extra")
)


class FormatError(ValueError):
    """The file cannot be read in the requested format at all (as opposed to one bad row)."""


class UnknownFormat(FormatError):
    """The format id is unknown, or the file's layout could not be recognised."""


class HeaderError(FormatError):
    """The header row lacks columns the format needs, or repeats one it uses."""
