"""Column / property-name aliases for parcel sources, and their resolution against a header.

Names are compared after ``norm`` (uppercase, only letters and digits), so ``PARCEL_ID``, ``ParcelID``,
``Parcel Id`` and a shapefile's truncated ``PARCEL_ID_`` all match. Within a field, earlier aliases win
when a source has several (``SITUS_ADDR`` over a generic ``ADDRESS``, which may be the owner's).
Sources: data-formats.md §3.1 (LGIM names), §3.2 (shapefile names), §3.3 (Regrid schema) and the
earlier system's names (``apn|parcel_id``, ``address|fullAddress|street``, ``zip|zipCode``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

FIELD_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "apn": (
        "APN", "PARCEL_ID", "PARCELID", "PARCEL_ID_", "PIN", "PARNO", "PARCEL_NUM", "PARCELNUM", "PARCEL_NO",
        "PARCELNO", "PARCEL_NUMBER", "PARCELNUMB", "ASSESSOR_ID", "ASSESSOR_PARCEL_NUMBER", "AIN", "PARID",
        "LOWPARCELID", "KEYPARCELID", "TAXKEY", "TAX_ID", "TAXID", "PVANUM", "PARCEL", "ACCOUNT_NUMBER",
    ),
    "situs": (
        "SITUS", "SITUS_ADDR", "SITUS_ADDRESS", "SITUSADDR", "SITE_ADDR", "SITE_ADDRESS", "SITEADDRESS",
        "SITEADRESS", "SITEADDR", "PROP_ADDR", "PROP_ADDRESS", "PROPERTY_ADDRESS", "PARCEL_ADDRESS",
        "LOCATION_ADDRESS", "LOC_ADDR", "PADDR", "FULLADDR", "FULL_ADDRESS", "FULLADDRESS", "LL_ADDRESS",
        "ADDRESS", "ADDR", "STREET_ADDRESS", "STREET",
    ),
    "house_number": (
        "SITUS_NUM", "SITUS_HOUSE_NO", "SITUS_NO", "SITUSNUM", "ADDR_NUM", "ADDRNUM", "ADD_NUM", "ADDNUM",
        "ADD_NUMBER", "HOUSE_NO", "HOUSENO", "HOUSE_NUM", "HOUSE_NUMBER", "HOUSENUM", "ST_NUM", "STREET_NUM",
        "STREET_NO", "SADDNO", "NUM1",
    ),
    "fraction": ("SITUS_FRAC", "HOUSE_FRAC", "FRACTION", "ADDR_FRAC"),
    "predir": (
        "SITUS_DIR", "SITUS_PREDIR", "SITUS_PRE_DIR", "PREDIR", "PRE_DIR", "PREFIX_DIR", "ST_DIR",
        "STREET_DIR", "DIR", "SADDPREF",
    ),
    "street_name": (
        "SITUS_STREET", "SITUS_STRE", "SITUS_ST_NAME", "SITUS_NAME", "STREET_NAME", "STREETNAME", "ST_NAME",
        "STNAME", "SADDSTR",
    ),
    "suffix": (
        "SITUS_TYPE", "SITUS_SUFFIX", "SITUS_SUFX", "STREET_TYPE", "ST_TYPE", "STREET_SUFFIX", "SUFFIX",
        "SADDSTTYP",
    ),
    "postdir": ("SITUS_POSTDIR", "SITUS_POST_DIR", "POSTDIR", "POST_DIR", "SUF_DIR", "SUFFIX_DIR", "SADDSTSUF"),
    "unit": (
        "SITUS_UNIT", "SITUS_APT", "UNIT", "UNIT_NO", "UNITNO", "UNIT_NUM", "APT", "APT_NO", "SUITE",
        "SUB_ADDRESS", "SUB_ADDRES", "SUNIT", "LL_ADDR_UNIT", "ADDR_UNIT",
    ),
    "city": (
        "SITUS_CITY", "SITUSCITY", "SITE_CITY", "SITECITY", "PROP_CITY", "SCITY", "CITY", "CITYNAME",
        "CITY_NAME", "MUNICIPALITY", "POSTAL_CITY",
    ),
    "state": ("SITUS_STATE", "SITE_STATE", "PROP_STATE", "STATE", "STATE2", "STATE_CODE"),
    "zip": (
        "SITUS_ZIP", "SITUS_ZIP5", "SITUS_ZIPCODE", "SITE_ZIP", "SITEZIP", "PROP_ZIP", "SZIP", "SZIP5", "ZIP",
        "ZIP5", "ZIPCODE", "ZIP_CODE", "POSTAL_CODE", "POSTALCODE", "POSTCODE",
    ),
    "owner": (
        "OWNER", "OWNER_NAME", "OWNERNAME", "OWNNAME", "OWN_NAME", "OWNERNME1", "OWNER1", "OWNER_1",
        "OWNER_ONE_FULL_NAME",
    ),
    "land_use": (
        "LAND_USE", "LANDUSE", "USE_CODE", "USECODE", "PROPTYPE", "PROP_TYPE", "PROPERTY_TYPE", "USECD",
        "USEDSCRP", "USEDESC", "LANDUSE_CD", "LAND_USE_CLASS_NAME", "PROPCLASS", "CLASSCD", "CLASSDSCRP",
    ),
    "units": (
        "UNITS", "NUM_UNITS", "NUMUNITS", "UNIT_COUNT", "UNITCOUNT", "NO_UNITS", "TOTAL_UNITS", "LIVING_UNITS",
        "DWELLING_UNITS", "RES_UNITS",
    ),
    # CSV only: geometry as GeoJSON, (E)WKT or hex WKB; the cell's content decides which.
    "geometry": ("GEOMETRY", "GEOM", "GEOJSON", "WKT", "WKT_GEOM", "GEOMETRY_WKT", "SHAPE", "THE_GEOM"),
    "latitude": ("LAT", "LATITUDE", "CENTROID_LAT", "CENTROID_LATITUDE", "POINT_Y", "Y"),
    "longitude": ("LON", "LNG", "LONG", "LONGITUDE", "CENTROID_LON", "CENTROID_LONGITUDE", "POINT_X", "X"),
}  # fmt: skip

_NON_ALNUM: Final = re.compile(r"[^A-Z0-9]")


def norm(name: str) -> str:
    """Comparison form of a column name: ``" Parcel_ID "`` -> ``PARCELID``."""
    return _NON_ALNUM.sub("", name.upper())


_FIELD_BY_NORM: Final[dict[str, list[tuple[int, str]]]] = {}
for _field, _aliases in FIELD_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _FIELD_BY_NORM.setdefault(norm(_alias), []).append((_rank, _field))

Columns = dict[str, tuple[str, ...]]  # field -> source keys, best first


def resolve(keys: Iterable[str]) -> Columns:
    """Which source keys feed each field, best alias first (ties keep source order)."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for position, key in enumerate(keys):
        for rank, field in _FIELD_BY_NORM.get(norm(key), ()):
            found.setdefault(field, []).append((rank, position, key))
    return {field: tuple(key for *_, key in sorted(hits)) for field, hits in found.items()}


def first(values: Mapping[str, str], keys: tuple[str, ...] | None) -> str:
    """The first non-blank value among ``keys``, stripped; ``""`` when none."""
    for key in keys or ():
        value = values.get(key)
        if value and (value := value.strip()):
            return value
    return ""


def alias_names(field: str) -> str:
    """A short human list of accepted names, for error messages."""
    return ", ".join(FIELD_ALIASES[field][:6]) + ", ..."
