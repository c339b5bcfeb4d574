"""Import of OpenAddresses-format CSV files into the ``local`` provider's address points."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors
from cocoa_common.address import AddressRejected, parse_street_line
from cocoa_common.models import AddressPoint
from cocoa_geocoder.households import AddressPointRepository
from cocoa_geocoder.local import street_key

REQUIRED = ("LON", "LAT", "NUMBER", "STREET")
OPTIONAL = ("UNIT", "CITY", "DISTRICT", "REGION", "POSTCODE", "ID")
INSERT_CHUNK = 5000
MAX_LINE_BYTES = 64 * 1024
MAX_REPORTED_ERRORS = 100


@dataclass
class ImportReport:
    imported: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(f"line {line}: {reason}")


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, str]]:
    """Decoded lines with 1-based numbers; UTF-8 (BOM tolerated), falling back to Windows-1252 per line."""
    buffer = b""
    number = 0
    async for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            number += 1
            yield number, _decode(raw)
        if len(buffer) > MAX_LINE_BYTES:
            raise errors.InvalidArgument(
                f"line {number + 1} is longer than {MAX_LINE_BYTES} bytes", field="file"
            )
    if buffer.strip():
        yield number + 1, _decode(buffer)


def _decode(raw: bytes) -> str:
    raw = raw.rstrip(b"\r")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _header(line: str) -> dict[str, int]:
    names = [n.strip().upper() for n in next(csv.reader([line]))]
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise errors.InvalidArgument(
            f"not an OpenAddresses CSV: header lacks {', '.join(missing)} "
            "(expected LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID)",
            field="file",
        )
    return {n: names.index(n) for n in (*REQUIRED, *OPTIONAL) if n in names}


def _row(columns: dict[str, int], values: list[str], source: str) -> dict[str, object]:
    def get(name: str) -> str:
        index = columns.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    try:
        lon, lat = float(get("LON")), float(get("LAT"))
    except ValueError:
        raise ValueError("LON/LAT are not numbers") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("LON/LAT out of range")
    address = parse_street_line(
        f"{get('NUMBER')} {get('STREET')}", get("CITY"), get("REGION"), get("POSTCODE")
    )
    return {
        "location_key": address.location_key(),
        "street_key": street_key(address),
        "source": source[:120],
        "source_id": get("ID")[:120],
        "number": address.house_number[:20],
        "street": " ".join(
            p for p in (address.predir, address.street_name, address.suffix, address.postdir) if p
        )[:120],
        "unit": get("UNIT")[:40],
        "city": address.city[:80],
        "region": address.state[:40],
        "postcode": address.zip5,
        "longitude": lon,
        "latitude": lat,
    }


async def import_address_points(
    sessions: async_sessionmaker[AsyncSession], chunks: AsyncIterator[bytes], source: str
) -> ImportReport:
    """Stream a CSV in; every bad row is reported with its line number and the rest still load.

    Importing a source again replaces its earlier points.
    """
    report = ImportReport()
    columns: dict[str, int] | None = None
    pending: list[dict[str, object]] = []
    async with sessions.begin() as session:
        if source:
            await session.execute(delete(AddressPoint).where(AddressPoint.source == source))
        repo = AddressPointRepository(session)
        async for number, line in _lines(chunks):
            if not line.strip():
                continue
            if columns is None:
                columns = _header(line)
                continue
            try:
                values = next(csv.reader(io.StringIO(line)))
                pending.append(_row(columns, values, source))
            except (ValueError, AddressRejected, csv.Error) as exc:
                report.reject(number, getattr(exc, "message", str(exc)))
                continue
            if len(pending) >= INSERT_CHUNK:
                await repo.add_many(pending)
                report.imported += len(pending)
                pending.clear()
        if columns is None:
            raise errors.InvalidArgument("the file is empty", field="file")
        await repo.add_many(pending)
        report.imported += len(pending)
    return report
