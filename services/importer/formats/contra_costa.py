"""Contra Costa County (CA) voter file, the format of the earlier implementation.

Tab-delimited with a header: 37 voter columns, then five election slots of 11 columns each
(``ElectionDate_1`` …). The layout comes from a third-party description, so only names are trusted
and trailing election slots may be missing.
"""

from __future__ import annotations

import re

from ._base import FormatInfo, VoterRow
from ._layout import Columns, Layout, RowHook, iso_date

INFO = FormatInfo(
    id="contra_costa",
    name="Contra Costa County",
    description="County voter file: tab-delimited with a header row, 92 columns including 5 elections.",
    supported_extensions=(".txt", ".tsv"),
    supports_incremental=True,
)

SIGNATURE = frozenset({"voterid", "registrationnumber", "unitabbr"})

HISTORY_FIELDS: tuple[str, ...] = (
    "ElectionAbbr",
    "ElectionDesc",
    "ElectionDate",
    "ElectionType",
    "BallotPartyName",
    "BallotPartyAbbr",
    "BallotCounted",
    "VotingMethodDesc",
    "DistrictID",
    "SubDistrict",
    "DistrictName",
)
_HISTORY = re.compile(rf"\s*(?:{'|'.join(HISTORY_FIELDS)})_\d+\s*$", re.IGNORECASE)
_COUNTED = frozenset({"Y", "YES", "TRUE", "T", "1", "X"})


def is_history_column(name: str) -> bool:
    return _HISTORY.match(name) is not None


def _bind_history(columns: Columns) -> RowHook | None:
    slots = [
        (date_i, columns.find(f"BallotCounted_{n}"))
        for n in range(1, 100)
        if (date_i := columns.find(f"ElectionDate_{n}")) is not None
    ]
    if not slots:
        return None

    def summarise(row: VoterRow, vals: list[str]) -> None:
        # Without a BallotCounted column a listed election is taken as voted.
        voted = sorted(
            day
            for date_i, counted_i in slots
            if (day := iso_date(vals[date_i])) and (counted_i is None or vals[counted_i].upper() in _COUNTED)
        )
        if voted:
            row.extra["elections_voted"] = str(len(voted))
            row.extra["last_voted"] = voted[-1]

    return summarise


LAYOUT = Layout(
    info=INFO,
    delimiters=("\t",),
    columns={
        "source_voter_id": ("VoterID",),
        "first_name": ("FirstName",),
        "middle_name": ("MiddleName",),
        "last_name": ("LastName",),
        "name_suffix": ("NameSuffix",),
        "gender": ("Gender",),
        "house_number": ("HouseNumber",),
        "predir": ("PreDirection",),
        "street_name": ("StreetName",),
        "street_suffix": ("StreetSuffix",),
        "postdir": ("PostDirection",),
        "unit_type": ("UnitAbbr",),
        "unit": ("UnitNumber",),
        "city": ("ResidenceCity",),
        "zip_code": ("ResidenceZipCode",),
        "phone": ("PhoneNumber",),
        "email": ("EmailAddress",),
        "registration_date": ("RegistrationDate",),
        "party": ("PartyAbbr",),
        "status": ("StatusReason",),
        "precinct": ("PrecinctID",),
    },
    birth=("BirthDate",),
    mailing_lines=("MailAddress1", "MailAddress2", "MailAddress3", "MailAddress4"),
    mailing_place=("MailCity", "MailState", "MailZip"),
    extra={
        "registration_number": ("RegistrationNumber",),
        "precinct_portion": ("PrecinctPortion",),
        "vbm_status": ("VBMProgramStatus",),
    },
    # The file has no state or county column: every row is in Contra Costa County, California.
    constants={"state": "CA", "county": "CONTRA COSTA"},
    is_tail=is_history_column,
    hook=_bind_history,
)
