"""Hostile input, seeded: parcel files with random damage never make a reader raise, and every
feature or line before a break gets exactly one record or error, in order."""

from __future__ import annotations

import io
import random

import pytest
from parcel_samples import collection, county_feature, csv_bytes, geojson_bytes
from voterfiles import damaged

from cocoa_importer.parcels import ParcelError, ParcelFormatError, ParcelRecord, read_parcels

FEATURES = 30
GEOJSON = geojson_bytes(collection(county_feature(i) for i in range(FEATURES)), indent=1)
CSV_HEADER = ["APN", "SITUS_ADDRESS", "CITY", "ZIP", "OWNER", "LAT", "LON"]
CSV = csv_bytes(
    CSV_HEADER,
    [
        [f"100-{i:03d}", f"{10 + i} MAIN ST", "DURHAM", "27701", f"OWNER {i}", "35.99", "-78.9"]
        for i in range(40)
    ],
)


def results(fmt: str, data: bytes) -> list[ParcelRecord | ParcelError]:
    return list(read_parcels(fmt, io.BytesIO(data)))


@pytest.mark.parametrize("seed", range(60))
def test_a_damaged_geojson_file_yields_each_feature_once_in_order_until_a_break(seed: int) -> None:
    data = damaged(GEOJSON, 2, random.Random(seed))  # the first lines open the collection
    try:
        out = results("geojson", data)
    except ParcelFormatError:
        return  # the damage reached what makes it a FeatureCollection: refused as a whole, with a reason
    assert [r.item for r in out] == list(range(1, len(out) + 1))
    assert all(r.reason for r in out if isinstance(r, ParcelError))
    stops = [i for i, r in enumerate(out) if isinstance(r, ParcelError) and "stopped reading" in r.reason]
    assert stops in ([], [len(out) - 1]), "reading stops only once, at the end"


def non_blank_lines(data: bytes) -> set[int]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return {n for n, line in enumerate(lines, 1) if n > 1 and line.strip()}


@pytest.mark.parametrize("seed", range(60))
def test_a_damaged_parcel_csv_yields_one_record_or_error_per_line(seed: int) -> None:
    data = damaged(CSV, 1, random.Random(seed))
    out = results("csv", data)
    starts = [r.item for r in out]
    assert starts == sorted(set(starts)), "lines are read once, in order"
    assert all(r.reason for r in out if isinstance(r, ParcelError))
    lines = data.split(b"\n")
    for line in non_blank_lines(data) - set(starts):
        # Not a record of its own: only a quoted field opened on an earlier record's line may carry it.
        opener = max((s for s in starts if s < line), default=None)
        assert opener is not None, f"line {line} was dropped"
        assert lines[opener - 1].count(b'"') % 2 == 1, f"line {line} was dropped"
