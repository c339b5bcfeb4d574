"""Any delimited file with a header, read through a column mapping supplied with the upload.

The mapping is ``{our field: their header name}``; our fields are the text fields of ``VoterRow``
plus ``birth_year`` / ``birth_date``. Every mapped column must be in the header; ``last_name`` must be
mapped, and a mapped voter id is required on every row.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._base import TEXT_FIELDS, FormatError, FormatInfo
from ._layout import Layout

INFO = FormatInfo(
    id="csv_mapped",
    name="Delimited file with a column mapping",
    description="Comma, tab, pipe or semicolon delimited file with a header, plus a mapping of its columns.",
    supported_extensions=(".csv", ".txt", ".tsv"),
    supports_incremental=True,
)

BIRTH_FIELDS = ("birth_date", "birth_year")
MAPPABLE_FIELDS: tuple[str, ...] = (*TEXT_FIELDS, *BIRTH_FIELDS)


def layout_for(mapping: Mapping[str, str] | None) -> Layout:
    """The layout a mapping describes; raises ``FormatError`` for an unusable mapping."""
    if not mapping:
        raise FormatError("csv_mapped needs mapping={our field name: their header name}")
    unknown = sorted(set(mapping) - set(MAPPABLE_FIELDS))
    if unknown:
        raise FormatError(
            f"csv_mapped: unknown field(s) {', '.join(unknown)}; use: {', '.join(MAPPABLE_FIELDS)}"
        )
    columns = {ours: (theirs,) for ours, theirs in mapping.items() if theirs and ours in TEXT_FIELDS}
    if "last_name" not in columns:
        raise FormatError("csv_mapped: the mapping must name the column holding last_name")
    required = ("last_name", "source_voter_id") if "source_voter_id" in columns else ("last_name",)
    birth = next(((mapping[key],) for key in BIRTH_FIELDS if mapping.get(key)), ())
    return Layout(
        info=INFO,
        delimiters=(",", "\t", "|", ";"),
        columns=columns,
        required=required,
        birth=birth,
        header_must_have_all=True,  # a mapped column that is absent is a typo, not an optional field
    )
