"""Florida Division of Elections voter extract: tab-delimited, no header, 38 fields in a fixed order.

The only format read by position, because the file names no columns. If a file does arrive with a
header row, that header is used instead.
"""

from __future__ import annotations

from ._base import FormatInfo, VoterRow
from ._layout import Columns, Layout, RowHook

INFO = FormatInfo(
    id="florida",
    name="Florida (voter extract)",
    description="County voter extract file: tab-delimited, no header row, 38 fields per voter.",
    supported_extensions=(".txt", ".tsv"),
    supports_incremental=True,
)

COLUMNS: tuple[str, ...] = (
    "County Code",
    "Voter ID",
    "Name Last",
    "Name Suffix",
    "Name First",
    "Name Middle",
    "Requested Public Records Exemption",
    "Residence Address Line 1",
    "Residence Address Line 2",
    "Residence City (USPS)",
    "Residence State",
    "Residence Zipcode",
    "Mailing Address Line 1",
    "Mailing Address Line 2",
    "Mailing Address Line 3",
    "Mailing City",
    "Mailing State",
    "Mailing Zipcode",
    "Mailing Country",
    "Gender",
    "Race",
    "Birth Date",
    "Registration Date",
    "Party Affiliation",
    "Precinct",
    "Precinct Group",
    "Precinct Split",
    "Precinct Suffix",
    "Voter Status",
    "Congressional District",
    "House District",
    "Senate District",
    "County Commission District",
    "School Board District",
    "Daytime Area Code",
    "Daytime Phone Number",
    "Daytime Phone Extension",
    "Email Address",
)


def _bind_phone(columns: Columns) -> RowHook | None:
    area, number, ext = (columns.find(name) for name in COLUMNS[34:37])
    if number is None:
        return None

    def join_phone(row: VoterRow, vals: list[str]) -> None:
        phone = vals[number]
        if phone and area is not None:
            phone = vals[area] + phone
        if phone and ext is not None and (extension := vals[ext]):
            phone = f"{phone} x{extension}"
        row.phone = phone

    return join_phone


def _county_code(value: str) -> bool:
    return len(value) == 3 and value.isascii() and value.isalpha()


LAYOUT = Layout(
    info=INFO,
    delimiters=("\t",),
    fixed_header=COLUMNS,
    columns={
        "county": ("County Code",),
        "source_voter_id": ("Voter ID",),
        "last_name": ("Name Last",),
        "name_suffix": ("Name Suffix",),
        "first_name": ("Name First",),
        "middle_name": ("Name Middle",),
        "street_line": ("Residence Address Line 1",),
        "street_line2": ("Residence Address Line 2",),
        "city": ("Residence City (USPS)", "Residence City"),
        "state": ("Residence State",),
        "zip_code": ("Residence Zipcode",),
        "gender": ("Gender",),
        "registration_date": ("Registration Date",),
        "party": ("Party Affiliation",),
        "precinct": ("Precinct",),
        "status": ("Voter Status",),
        "email": ("Email Address",),
    },
    birth=("Birth Date",),
    mailing_lines=COLUMNS[12:15],
    mailing_place=COLUMNS[15:19],
    flags={"public_records_exemption": ("Requested Public Records Exemption",)},
    hook=_bind_phone,
    checks={"county": (_county_code, "a 3-letter county code (DAD, ORA ...)")},
)
