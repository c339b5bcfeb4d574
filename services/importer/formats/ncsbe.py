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

# The current (2022 on) header, in file order; readers map by name, generators write this order.
CURRENT_COLUMNS: tuple[str, ...] = tuple(
    (
        "county_id county_desc voter_reg_num ncid last_name first_name middle_name name_suffix_lbl status_cd "
        "voter_status_desc reason_cd voter_status_reason_desc res_street_address res_city_desc state_cd zip_code "
        "mail_addr1 mail_addr2 mail_addr3 mail_addr4 mail_city mail_state mail_zipcode full_phone_number "
        "confidential_ind registr_dt race_code ethnic_code party_cd gender_code birth_year age_at_year_end "
        "birth_state drivers_lic precinct_abbrv precinct_desc municipality_abbrv municipality_desc ward_abbrv "
        "ward_desc cong_dist_abbrv super_court_abbrv judic_dist_abbrv nc_senate_abbrv nc_house_abbrv "
        "county_commiss_abbrv county_commiss_desc township_abbrv township_desc school_dist_abbrv school_dist_desc "
        "fire_dist_abbrv fire_dist_desc water_dist_abbrv water_dist_desc sewer_dist_abbrv sewer_dist_desc "
        "sanit_dist_abbrv sanit_dist_desc rescue_dist_abbrv rescue_dist_desc munic_dist_abbrv munic_dist_desc "
        "dist_1_abbrv dist_1_desc vtd_abbrv vtd_desc"
    ).split()
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
