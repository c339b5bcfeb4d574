"""From a voter row to its normalized residence: each distinct raw address is parsed once per import."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

from cocoa_common.address import AddressRejected, NormalizedAddress, from_parts, parse_street_line
from cocoa_importer.formats import VoterRow

MAX_CACHED_ADDRESSES = 300_000  # ~60 MB; keeps the importer's memory flat on statewide files


@dataclass(frozen=True, slots=True)
class Residence:
    """A voter's household address, or the reason it forms no household."""

    address: NormalizedAddress | None
    flag: str | None = None  # po_box | removed | no_house_number | unparseable | empty
    reason: str | None = None


class AddressBook:
    """Bounded memo of raw address -> residence, so repeated addresses (every household member) parse once."""

    def __init__(self, default_state: str = "") -> None:
        self.default_state = default_state
        self._memo: OrderedDict[tuple[str, ...], Residence] = OrderedDict()
        self.parsed = 0

    def residence(self, row: VoterRow) -> Residence:
        key = _raw_key(row)
        found = self._memo.get(key)
        if found is not None:
            self._memo.move_to_end(key)
            return found
        found = self._parse(row)
        self.parsed += 1
        self._memo[key] = found
        if len(self._memo) > MAX_CACHED_ADDRESSES:
            self._memo.popitem(last=False)
        return found

    def _parse(self, row: VoterRow) -> Residence:
        state = row.state or self.default_state
        try:
            if row.street_line:
                line = f"{row.street_line} {row.street_line2}".strip()
                return Residence(parse_street_line(line, row.city, state, row.zip_code))
            if row.house_number or row.street_name:
                return Residence(
                    from_parts(
                        row.house_number,
                        row.predir,
                        row.street_name,
                        row.street_suffix,
                        row.postdir,
                        row.unit_type,
                        row.unit,
                        row.city,
                        state,
                        row.zip_code,
                        fraction=row.house_fraction,
                    )
                )
            return Residence(None, "empty", "no residential address")
        except AddressRejected as exc:
            return Residence(None, exc.reason, exc.message)


def _raw_key(row: VoterRow) -> tuple[str, ...]:
    return (
        row.street_line,
        row.street_line2,
        row.house_number,
        row.house_fraction,
        row.predir,
        row.street_name,
        row.street_suffix,
        row.postdir,
        row.unit_type,
        row.unit,
        row.city,
        row.state,
        row.zip_code,
    )


def voter_values(row: VoterRow, source: str, residence: Residence, job_id: str) -> dict[str, object]:
    """The voters-table row for a voter (without household_id), with a hash to detect unchanged rows."""
    address = residence.address
    values: dict[str, object] = {
        "source": source,
        "source_voter_id": (row.source_voter_id or _synthetic_id(row))[:64],
        "first_name": row.first_name[:100],
        "middle_name": row.middle_name[:100],
        "last_name": row.last_name[:100],
        "name_suffix": row.name_suffix[:20],
        "birth_year": row.birth_year,
        "gender": row.gender[:20],
        "party": row.party[:40],
        "status": row.status[:40],
        "registration_date": row.registration_date[:20],
        "email": row.email[:320],
        "phone": row.phone[:40],
        "residential_address": (
            address.street_line() if address else f"{row.street_line} {row.street_line2}".strip()
        )[:300],
        "city": (address.city if address else row.city.upper())[:80],
        "state": (address.state if address else row.state.upper())[:2],
        "zip_code": (address.zip5 if address else row.zip_code)[:10],
        "county": row.county.upper()[:80],
        "precinct": row.precinct[:40],
        "mailing_address": row.mailing_address[:300],
        "address_flag": residence.flag,
        "address_flag_reason": (residence.reason or "")[:300] or None,
        "extra": json.dumps(row.extra, separators=(",", ":"), sort_keys=True) if row.extra else "{}",
        "import_job_id": job_id,
    }
    household = address.household_key() if address else ""
    digest = hashlib.md5(usedforsecurity=False)
    for key in sorted(values):
        if key != "import_job_id":
            digest.update(f"{key}={values[key]}\x1f".encode())
    digest.update(household.encode())
    values["row_hash"] = digest.hexdigest()
    return values


def _synthetic_id(row: VoterRow) -> str:
    """Files without voter ids (simple CSV) are keyed by name, birth year and address."""
    parts = (row.first_name, row.last_name, str(row.birth_year or ""), row.street_line)
    raw = "|".join((*parts, row.house_number, row.street_name, row.unit, row.zip_code)).upper()
    return "h:" + hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()


def household_values(address: NormalizedAddress, row: VoterRow) -> dict[str, object]:
    return {
        "household_key": address.household_key()[:300],
        "location_key": address.location_key()[:300],
        "house_number": address.house_number[:20],
        "predir": address.predir,
        "street_name": address.street_name[:120],
        "suffix": address.suffix[:12],
        "postdir": address.postdir,
        "unit_type": address.unit_type[:12],
        "unit": address.unit[:20],
        "city": address.city[:80],
        "state": address.state[:2],
        "zip_code": address.zip5,
        "county": row.county.upper()[:80],
        "precinct": row.precinct[:40],
        "full_address": address.one_line()[:300],
    }
