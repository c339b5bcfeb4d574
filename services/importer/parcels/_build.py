"""Turn one source row (properties as text, plus its location) into a ``ParcelRecord``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from cocoa_common.address import (
    UNIT_DESIGNATORS,
    AddressRejected,
    NormalizedAddress,
    from_parts,
    normalize_state,
    normalize_zip,
    parse_street_line,
)

from ._aliases import Columns, alias_names, first
from ._geometry import Location
from ._model import ItemProblem, ParcelRecord

MAX_PROPERTY_CHARS: Final = 1024
MAX_PROPERTIES: Final = 300
MAX_UNITS: Final = 100_000
# Widths of the ``parcels`` columns (cocoa_common.models.Parcel); longer text is cut to fit.
_WIDTH: Final = {
    "apn": 64,
    "full_address": 300,
    "city": 80,
    "owner_name": 200,
    "land_use": 80,
    "location_key": 300,
    "unit": 40,
    "street_name": 120,
    "house_number": 20,
}
_EXCEL_TEXT_RE: Final = re.compile(r'="(.*)"')  # Excel's ="0123" keeps leading zeros
# The last comma part of a one-line situs: "[CITY] [ST] ZIP" or "ST".
_PLACE_TAIL_RE: Final = re.compile(
    r"(?:(?P<city>.*?)\s+)??(?:(?P<state>[A-Za-z]{2})\s+)?(?P<zip>\d{5}(?:-?\d{4})?)"
)


def apn_of(values: Mapping[str, str], columns: Columns) -> str:
    """The row's APN, trimmed and without Excel's ``="..."`` wrapper; ``""`` when absent."""
    apn = first(values, columns.get("apn"))
    if apn.startswith("="):
        match = _EXCEL_TEXT_RE.fullmatch(apn)
        apn = match.group(1).strip() if match else apn
    return " ".join(apn.split())


def build_record(
    item: int,
    values: Mapping[str, str],
    columns: Columns,
    locate: Callable[[], Location],
    default_state: str,
    properties: dict[str, str],
) -> ParcelRecord:
    """Assemble the record; raises ``ItemProblem`` for a bad APN, geometry or unit count (in that order)."""
    apn = apn_of(values, columns)
    if not apn:
        raise ItemProblem("apn", f"no APN (looked for {alias_names('apn')})")
    if len(apn) > _WIDTH["apn"]:
        raise ItemProblem("apn", f"APN is longer than {_WIDTH['apn']} characters: {apn[:80]!r}")
    latitude, longitude, geometry_json = locate()
    record = ParcelRecord(
        item=item,
        apn=apn,
        owner_name=_clip(first(values, columns.get("owner")), "owner_name"),
        land_use=_clip(first(values, columns.get("land_use")), "land_use"),
        units=_units(first(values, columns.get("units"))),
        centroid_latitude=latitude,
        centroid_longitude=longitude,
        geometry_json=geometry_json,
        properties=properties,
    )
    _fill_situs(record, values, columns, default_state)
    return record


def bounded_properties(values: Mapping[str, str], exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """All properties as text, minus ``exclude``, values over 1 KiB and keys past ``MAX_PROPERTIES``."""
    kept: dict[str, str] = {}
    for key, value in values.items():
        if len(value) <= MAX_PROPERTY_CHARS and len(key) <= 200 and key not in exclude:
            kept[key] = value
            if len(kept) >= MAX_PROPERTIES:
                break
    return kept


def _units(text: str) -> int | None:
    if not text:
        return None
    cleaned = text.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise ItemProblem("units", f"unit count {text[:40]!r} is not a number") from None
    if not value.is_integer() or not 0 <= value <= MAX_UNITS:
        raise ItemProblem("units", f"unit count {text[:40]!r} is not a whole number from 0 to {MAX_UNITS}")
    return int(value)


def _clip(text: str, column: str) -> str:
    text = " ".join(text.split())
    return text[: _WIDTH[column]]


# --------------------------------------------------------------------------------------------------
# Situs address
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Place:
    city: str
    state: str
    zip_code: str


def _fill_situs(
    record: ParcelRecord, values: Mapping[str, str], columns: Columns, default_state: str
) -> None:
    """Normalize the situs into the record; an unusable one leaves ``location_key`` empty with the reason."""

    def get(field: str) -> str:
        return first(values, columns.get(field))

    line, number, street, unit = get("situs"), get("house_number"), get("street_name"), get("unit")
    default_state = normalize_state(default_state)
    place = _Place(get("city"), normalize_state(get("state")), get("zip"))
    try:
        if street and (number or not line):
            # Split columns are the source's own parse: trust them over re-parsing a line.
            address = from_parts(
                number, get("predir"), street, get("suffix"), get("postdir"), "", unit,
                place.city, place.state, place.zip_code, fraction=get("fraction"),
            )  # fmt: skip
        elif line:
            address = parse_street_line(_with_unit(_split_line(line, place), unit), *_place_args(place))
        else:
            place.state = place.state or default_state
            _unlinkable(record, "", place, "empty: no situs address")
            return
    except AddressRejected as exc:
        place.state = place.state or default_state
        raw = line or " ".join(p for p in (number, get("predir"), street, get("suffix"), unit) if p)
        _unlinkable(record, raw, place, f"{exc.reason}: {exc.message}")
        return
    if not address.state and default_state:
        address = replace(address, state=default_state)  # lowest priority: below the line's own state
    _linkable(record, address)


def _place_args(place: _Place) -> tuple[str, str, str]:
    return place.city, place.state, place.zip_code


def _split_line(line: str, place: _Place) -> str:
    """``123 MAIN ST, SPRINGFIELD, IL 62701`` -> street; fills the place fields the columns lacked."""
    if "," not in line:
        return line
    street, *rest = (part.strip() for part in line.split(","))
    if rest and (tail := _PLACE_TAIL_RE.fullmatch(rest[-1])):
        place.state = place.state or normalize_state(tail.group("state") or "")
        place.zip_code = place.zip_code or tail.group("zip")
        rest[-1] = tail.group("city") or ""
    elif rest and normalize_state(rest[-1]):
        place.state = place.state or normalize_state(rest.pop())
    for part in rest:
        if _is_unit(part):
            street = f"{street} {part}"  # "123 MAIN ST, APT 4, ..."
        elif part and not place.city:
            place.city = part
    return street


def _with_unit(street: str, unit: str) -> str:
    """Append a separate unit column to a single-line situs, unless the line already ends with it."""
    if not unit or re.search(rf"(?:^|[\s#]){re.escape(unit)}$", street, re.IGNORECASE):
        return street
    return f"{street} {unit}" if _is_unit(unit) else f"{street} # {unit}"


def _is_unit(text: str) -> bool:
    head = text.split(maxsplit=1)[0].upper().rstrip(".") if text.strip() else ""
    return head.startswith("#") or head in UNIT_DESIGNATORS


def _linkable(record: ParcelRecord, address: NormalizedAddress) -> None:
    location_key = address.location_key()
    if len(location_key) > _WIDTH["location_key"] or len(address.street_name) > _WIDTH["street_name"]:
        _unlinkable(record, address.street_line(), _Place(address.city, address.state, address.zip5),
                    "unparseable: address is too long to key")  # fmt: skip
        return
    record.house_number = address.house_number[: _WIDTH["house_number"]]
    record.predir = address.predir
    record.street_name = address.street_name
    record.suffix = address.suffix
    record.postdir = address.postdir
    record.unit = _clip(f"{address.unit_type} {address.unit}", "unit")
    record.full_address = _clip(address.one_line(), "full_address")
    record.city = _clip(address.city, "city")
    record.state = address.state
    record.zip_code = address.zip5
    record.location_key = location_key


def _unlinkable(record: ParcelRecord, raw: str, place: _Place, issue: str) -> None:
    record.full_address = _clip(raw.upper(), "full_address")
    record.city = _clip(place.city.upper(), "city")
    record.state = place.state
    record.zip_code = normalize_zip(place.zip_code)
    record.address_issue = issue
