"""Washington Secretary of State VRDB extract: header row, tab or pipe delimited.

The residence comes already split into parts (number, fraction, directionals, unit); WA registers
no party.
"""

from __future__ import annotations

from ._base import FormatInfo, VoterRow
from ._layout import Columns, Layout, RowHook, iso_date

INFO = FormatInfo(
    id="washington_vrdb",
    name="Washington (VRDB extract)",
    description="VRDB_Extract file: header row, tab or pipe delimited, residence address in parts.",
    supported_extensions=(".txt", ".csv"),
    supports_incremental=True,
)

SIGNATURE = frozenset({"statevoterid", "regstname"})


def _bind_last_voted(columns: Columns) -> RowHook | None:
    def to_iso(row: VoterRow, vals: list[str]) -> None:
        # Other formats report last_voted as YYYY-MM-DD; WA writes MM/DD/YYYY.
        if (day := row.extra.get("last_voted")) and (iso := iso_date(day)):
            row.extra["last_voted"] = iso

    return to_iso if columns.find("LastVoted") is not None else None


LAYOUT = Layout(
    info=INFO,
    delimiters=("\t", "|"),
    columns={
        "source_voter_id": ("StateVoterID",),
        "first_name": ("FName",),
        "middle_name": ("MName",),
        "last_name": ("LName",),
        "name_suffix": ("NameSuffix",),
        "gender": ("Gender",),
        "house_number": ("RegStNum",),
        "house_fraction": ("RegStFrac",),
        "street_name": ("RegStName",),
        "street_suffix": ("RegStType",),
        "unit_type": ("RegUnitType",),
        "predir": ("RegStPreDirection",),
        "postdir": ("RegStPostDirection",),
        "unit": ("RegUnitNum",),
        "city": ("RegCity",),
        "state": ("RegState",),
        "zip_code": ("RegZipCode",),
        "county": ("CountyCode",),
        "precinct": ("PrecinctCode",),
        "registration_date": ("Registrationdate",),
        "status": ("StatusCode",),
    },
    birth=("Birthdate",),
    mailing_lines=("Mail1", "Mail2", "Mail3", "Mail4"),
    mailing_place=("MailCity", "MailState", "MailZip", "MailCountry"),
    extra={"county_voter_id": ("CountyVoterID",), "last_voted": ("LastVoted",)},
    hook=_bind_last_voted,
)
