"""Streaming readers for voter files: NC, FL, OH, WA, Contra Costa, simple and mapped CSV.

``open_reader(format_id, binary_stream)`` yields ``(VoterRow | RowError, Position)`` for every
non-blank line; a ``Position`` plus ``reader.header`` is a checkpoint to resume from.
"""

from ._base import (
    FormatError,
    FormatInfo,
    HeaderError,
    Position,
    RowError,
    UnknownFormat,
    VoterRow,
)
from ._detect import DETECT_BYTES, detect_format
from ._probe import check_rows
from ._reader import MAX_LINE_BYTES, RawRecord, VoterReader
from ._registry import FORMATS, open_reader
from .csv_mapped import MAPPABLE_FIELDS

__all__ = [
    "DETECT_BYTES",
    "FORMATS",
    "MAPPABLE_FIELDS",
    "MAX_LINE_BYTES",
    "FormatError",
    "FormatInfo",
    "HeaderError",
    "Position",
    "RawRecord",
    "RowError",
    "UnknownFormat",
    "VoterReader",
    "VoterRow",
    "check_rows",
    "detect_format",
    "open_reader",
]
