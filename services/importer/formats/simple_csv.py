"""A plain contact list: header row with first and last name, optional email, phone and address.

The header spellings of the earlier implementation (``firstname``, ``first_name``, ``FirstName``)
all match because header names are compared without case, spaces or underscores.
"""

from __future__ import annotations

from ._base import FormatInfo
from ._layout import Layout

INFO = FormatInfo(
    id="simple_csv",
    name="Simple CSV",
    description="Comma-separated list with a header: first and last name, optional email, phone, address.",
    supported_extensions=(".csv",),
    supports_incremental=False,
)

FIRST_NAME = ("firstname", "first_name", "first")
LAST_NAME = ("lastname", "last_name", "last", "surname")

LAYOUT = Layout(
    info=INFO,
    delimiters=(",", "\t", ";", "|"),
    columns={
        "source_voter_id": ("voter_id", "voterid", "id"),
        "first_name": FIRST_NAME,
        "middle_name": ("middlename", "middle_name", "middle"),
        "last_name": LAST_NAME,
        "name_suffix": ("suffix", "name_suffix"),
        "email": ("email", "email_address"),
        "phone": ("phone", "phone_number", "telephone"),
        "street_line": ("address", "street_address", "address1", "street"),
        "street_line2": ("address2", "unit", "apt"),
        "city": ("city",),
        "state": ("state",),
        "zip_code": ("zip", "zipcode", "zip_code", "postal_code"),
        "party": ("party",),
    },
    required=("first_name", "last_name"),
    birth=("birth_year", "birthdate", "date_of_birth", "dob"),
)
