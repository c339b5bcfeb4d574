"""From voter rows to staged voters and households.

Each distinct raw address is parsed once per import: a compact memo maps a 16-byte digest of the raw
address to its household key (or to the reason it forms no household), which keeps the importer's
memory bounded on statewide files (see ``AddressBook``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass

from cocoa_common.address import (
    AddressRejected,
    NormalizedAddress,
    from_parts,
    normalize_zip,
    parse_street_line,
)
from cocoa_importer.formats import VoterRow

_encode_extra = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode

# Part of every row hash: bump it when parsing or normalization changes, so the next import of an
# unchanged file rewrites its voters instead of skipping them.
ROW_HASH_VERSION = b"rows-v2\x1f"
GENERATION = 150_000  # ~35 MB per generation of remembered addresses

# Household staging columns, in order (see repository.HOUSEHOLD_COLUMNS).
HouseholdRow = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Flag:
    """Why an address forms no household: po_box | removed | no_house_number | unparseable | empty."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Residence:
    """The household key for a voter, the staging row if the household is new to this import, or a flag."""

    household_key: str = ""
    new_household: HouseholdRow | None = None
    flag: Flag | None = None


class AddressBook:
    """Memo of raw address -> household key for one import, in two generations so memory stays bounded.

    Up to ``2 * generation`` addresses are remembered; when the young generation fills, the old one is
    dropped. An address seen again within that window is never parsed twice (household members sit
    close together in voter files, which are ordered by county and precinct).
    """

    def __init__(self, generation: int = GENERATION) -> None:
        self.generation = generation
        self._young: dict[bytes, str | Flag] = {}
        self._old: dict[bytes, str | Flag] = {}
        # Household keys already staged: spelling variants of one address stage its household once.
        self._staged_young: set[str] = set()
        self._staged_old: set[str] = set()
        self.parsed = 0

    def _recall(self, digest: bytes) -> str | Flag | None:
        known = self._young.get(digest)
        if known is None:
            known = self._old.get(digest)
            if known is not None:
                self._remember(digest, known)
        return known

    def _remember(self, digest: bytes, value: str | Flag) -> None:
        if len(self._young) >= self.generation:
            self._old, self._young = self._young, {}
            self._staged_old, self._staged_young = self._staged_young, set()
        self._young[digest] = value

    def residence(self, row: VoterRow) -> Residence:
        digest = hashlib.blake2b(_raw_text(row).encode(), digest_size=16).digest()
        known = self._recall(digest)
        if isinstance(known, Flag):
            return Residence(flag=known)
        if known is not None:
            return Residence(household_key=known)
        self.parsed += 1
        try:
            address = _normalize(row)
        except AddressRejected as exc:
            flag = Flag(exc.reason, exc.message)
            self._remember(digest, flag)
            return Residence(flag=flag)
        # Interned: the spelling variants of one address share a single key string.
        key = sys.intern(address.household_key()[:300])
        self._remember(digest, key)
        if key in self._staged_young or key in self._staged_old:
            return Residence(household_key=key)
        self._staged_young.add(key)
        return Residence(household_key=key, new_household=household_row(address, key, row))


def _raw_text(row: VoterRow) -> str:
    # Normalization reads only the ZIP5, so "27601", "27601-1234" and "276011234" share one memo entry.
    return "\x1f".join(
        (row.street_line, row.street_line2, row.house_number, row.house_fraction, row.predir, row.street_name,
         row.street_suffix, row.postdir, row.unit_type, row.unit, row.city, row.state, normalize_zip(row.zip_code))
    )  # fmt: skip


def _normalize(row: VoterRow) -> NormalizedAddress:
    if row.street_line:
        line = f"{row.street_line} {row.street_line2}".strip()
        return parse_street_line(line, row.city, row.state, row.zip_code)
    if row.house_number or row.street_name:
        return from_parts(
            row.house_number,
            row.predir,
            row.street_name,
            row.street_suffix,
            row.postdir,
            row.unit_type,
            row.unit,
            row.city,
            row.state,
            row.zip_code,
            fraction=row.house_fraction,
        )
    raise AddressRejected("empty", "no residential address")


def household_row(address: NormalizedAddress, key: str, row: VoterRow) -> HouseholdRow:
    return (
        key,
        address.location_key()[:300],
        address.house_number[:20],
        address.predir,
        address.street_name[:120],
        address.suffix[:12],
        address.postdir,
        address.unit_type[:12],
        address.unit[:20],
        address.city[:80],
        address.state[:2],
        address.zip5,
        row.county.upper()[:80],
        row.precinct[:40],
        address.one_line()[:300],
    )


def voter_row(
    row: VoterRow, source: str, residence: Residence, job_id: str, row_hash: str
) -> tuple[object, ...]:
    """The staging row (repository.VOTER_COLUMNS + household_key); the raw address is kept as given.

    ``row_hash`` identifies the record the row came from (see ``RecordHasher``), so a re-import
    recognises an unchanged record before parsing it.
    """
    flag = residence.flag
    street = residential_line(row)
    extra = _encode_extra(row.extra) if row.extra else "{}"
    values = [
        source,
        (row.source_voter_id or _synthetic_id(row))[:64],
        row.first_name[:100],
        row.middle_name[:100],
        row.last_name[:100],
        row.name_suffix[:20],
        row.birth_year,
        row.gender[:20],
        row.party[:40],
        row.status[:40],
        row.registration_date[:20],
        row.email[:320],
        row.phone[:40],
        street[:300],
        row.city.upper()[:80],
        row.state.upper()[:2],
        row.zip_code[:10],
        row.county.upper()[:80],
        row.precinct[:40],
        row.mailing_address[:300],
        flag.reason if flag else None,
        flag.message[:300] if flag else None,
        extra,
    ]
    return (*values, row_hash, job_id, residence.household_key)


def residential_line(row: VoterRow) -> str:
    """The residence as the file gave it, on one line (parts joined when it came in parts)."""
    return f"{row.street_line} {row.street_line2}".strip() or " ".join(
        p for p in (row.house_number, row.house_fraction, row.predir, row.street_name, row.street_suffix,
                    row.postdir, row.unit_type, row.unit) if p
    )  # fmt: skip


class RecordHasher:
    """Row hashes of one file's records: a record's bytes, how the reader reads them (its
    ``fingerprint``: format, delimiter, header, mapping) and how this version stores them."""

    def __init__(self, fingerprint: bytes) -> None:
        self._seed = hashlib.blake2b(ROW_HASH_VERSION + fingerprint, digest_size=16).digest()

    def __call__(self, record: bytes) -> str:
        return hashlib.blake2b(self._seed + record, digest_size=16).hexdigest()


def _synthetic_id(row: VoterRow) -> str:
    """Files without voter ids (simple CSV) are keyed by name, birth year and address."""
    parts = (row.first_name, row.last_name, str(row.birth_year or ""), row.street_line)
    raw = "|".join((*parts, row.house_number, row.street_name, row.unit, row.zip_code)).upper()
    return "h:" + hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()
