"""Ohio Secretary of State statewide voter file (SWVF).

A header row, comma-delimited with quotes in older files and pipe-delimited in newer ones, so the
delimiter is detected. After the fixed columns comes one column per election (``GENERAL-11/07/2000``),
a list that grows with every election; it is summarised into ``extra``, not kept whole.
"""

from __future__ import annotations

import re

from ._base import FormatInfo, VoterRow
from ._layout import Columns, Layout, RowHook, iso_date

INFO = FormatInfo(
    id="ohio_swvf",
    name="Ohio (SWVF)",
    description="Statewide voter file: header row, comma or pipe delimited, one column per election.",
    supported_extensions=(".txt", ".csv"),
    supports_incremental=True,
)

SIGNATURE = frozenset({"sosvoterid"})

_ELECTION = re.compile(r"\s*[A-Za-z][A-Za-z ]*-(\d{1,2}/\d{1,2}/\d{4})\s*$")


def is_election_column(name: str) -> bool:
    return _ELECTION.match(name) is not None


def _bind_history(columns: Columns) -> RowHook | None:
    elections = sorted(
        (iso_date(match.group(1)), i)
        for i, name in enumerate(columns.names)
        if (match := _ELECTION.match(name))
    )
    if not elections:
        return None

    def summarise(row: VoterRow, vals: list[str]) -> None:
        # Any mark (X, or the party letter of a primary ballot) means the voter voted.
        voted = [day for day, i in elections if vals[i]]
        if voted:
            row.extra["elections_voted"] = str(len(voted))
            row.extra["last_voted"] = voted[-1]

    return summarise


LAYOUT = Layout(
    info=INFO,
    delimiters=("|", ","),
    columns={
        "source_voter_id": ("SOS_VOTERID",),
        "county": ("COUNTY_NUMBER",),
        "last_name": ("LAST_NAME",),
        "first_name": ("FIRST_NAME",),
        "middle_name": ("MIDDLE_NAME",),
        "name_suffix": ("SUFFIX",),
        "registration_date": ("REGISTRATION_DATE",),
        "status": ("VOTER_STATUS",),
        "party": ("PARTY_AFFILIATION",),
        "street_line": ("RESIDENTIAL_ADDRESS1",),
        "street_line2": ("RESIDENTIAL_SECONDARY_ADDR",),
        "city": ("RESIDENTIAL_CITY",),
        "state": ("RESIDENTIAL_STATE",),
        "zip_code": ("RESIDENTIAL_ZIP",),
        "precinct": ("PRECINCT_CODE", "PRECINCT_NAME"),
    },
    birth=("DATE_OF_BIRTH",),
    zip4=("RESIDENTIAL_ZIP_PLUS4",),
    mailing_lines=("MAILING_ADDRESS1", "MAILING_SECONDARY_ADDRESS"),
    mailing_place=("MAILING_CITY", "MAILING_STATE", "MAILING_ZIP", "MAILING_COUNTRY"),
    extra={"county_voter_id": ("COUNTY_ID",)},
    is_tail=is_election_column,
    hook=_bind_history,
)
