"""North Carolina State Board of Elections ``ncvoter`` files, current (Feb 2022 on) and earlier layouts.

Both layouts are tab-delimited with a header; they reorder, rename and drop columns, so only header
names are trusted. ``ncid`` is the statewide voter id (``voter_reg_num`` is unique only per county).
"""

from __future__ import annotations

from ._base import FormatInfo
from ._layout import Layout

INFO = FormatInfo(
    id="ncsbe",
    name="North Carolina (NCSBE ncvoter)",
    description="Statewide or county ncvoter file: tab-delimited with a header row, Windows-1252 text.",
    supported_extensions=(".txt", ".tsv"),
    supports_incremental=True,
)

SIGNATURE = frozenset({"ncid", "resstreetaddress"})

LAYOUT = Layout(
    info=INFO,
    delimiters=("\t",),
    columns={
        "source_voter_id": ("ncid",),
        "first_name": ("first_name",),
        "middle_name": ("middle_name", "midl_name"),
        "last_name": ("last_name",),
        "name_suffix": ("name_suffix_lbl", "name_sufx_cd"),
        "gender": ("gender_code",),
        "party": ("party_cd",),
        "status": ("status_cd",),
        "registration_date": ("registr_dt",),
        "phone": ("full_phone_number",),
        "street_line": ("res_street_address",),
        "city": ("res_city_desc",),
        "state": ("state_cd",),
        "zip_code": ("zip_code",),
        "county": ("county_desc",),
        "precinct": ("precinct_abbrv",),
    },
    birth=("birth_year",),
    mailing_lines=("mail_addr1", "mail_addr2", "mail_addr3", "mail_addr4"),
    mailing_place=("mail_city", "mail_state", "mail_zipcode"),
    extra={"voter_reg_num": ("voter_reg_num",), "county_id": ("county_id",)},
    flags={"confidential": ("confidential_ind",)},
)
