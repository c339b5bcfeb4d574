"""Result types shared by the parcel readers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class ParcelFormatError(ValueError):
    """The file as a whole cannot be read as parcels (wrong format, HTML page, no APN column...)."""


@dataclass(slots=True)
class ParcelRecord:
    """One parcel, shaped like the ``parcels`` table (``source`` and job ids are the importer's)."""

    item: int  # 1-based feature index (GeoJSON) or physical line number (CSV)
    apn: str
    house_number: str = ""
    predir: str = ""
    street_name: str = ""
    suffix: str = ""
    postdir: str = ""
    unit: str = ""
    full_address: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    location_key: str = ""  # "" when the situs could not be normalized; see address_issue
    address_issue: str = ""
    owner_name: str = ""
    land_use: str = ""
    units: int | None = None
    centroid_latitude: float | None = None
    centroid_longitude: float | None = None
    geometry_json: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParcelError:
    """An item that produced no record: where (item), which field, and why."""

    item: int
    field: str
    reason: str


class ItemProblem(Exception):
    """Raised while building one record; the driver turns it into a ``ParcelError``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class Pending:
    """An item read far enough to know its APN; ``build`` does the costly rest (geometry, address)."""

    item: int
    apn: str
    build: Callable[[], ParcelRecord]
