"""Generators for parcel test files: GeoJSON FeatureCollections and delimited text."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Ring = list[list[float]]
BASE_LON, BASE_LAT = -122.1, 37.9  # Contra Costa County


def square(lon: float, lat: float, size: float) -> Ring:
    """A closed counter-clockwise square ring with its south-west corner at (lon, lat)."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def polygon(*rings: Ring) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def multipolygon(*polygons: Sequence[Ring]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": [list(p) for p in polygons]}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def feature(properties: dict[str, Any] | None, geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(features: Iterable[dict[str, Any]], crs_name: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "FeatureCollection"}
    if crs_name:
        document["crs"] = {"type": "name", "properties": {"name": crs_name}}
    document["features"] = list(features)
    return document


def geojson_bytes(document: Any, *, bom: bool = False, indent: int | None = None) -> bytes:
    data = json.dumps(document, indent=indent).encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def county_feature(i: int, vertices: int = 20) -> dict[str, Any]:
    """A realistic county parcel: a polygon of ``vertices`` points and all-string properties."""
    lon = BASE_LON + (i % 500) * 2e-4
    lat = BASE_LAT + (i // 500) * 2e-4
    ring = [
        [
            round(lon + 8e-5 * math.cos(k * 2 * math.pi / vertices), 7),
            round(lat + 8e-5 * math.sin(k * 2 * math.pi / vertices), 7),
        ]
        for k in range(vertices)
    ]
    ring.append(ring[0])
    properties = {
        "APN": f"{i // 1000:03d}-{i % 1000:03d}-{i % 7:03d}",
        "SITUS_ADDR": f"{100 + i % 9000} {('N ', 'S ', '')[i % 3]}MAIN ST"
        + (" APT 2" if i % 10 == 0 else ""),
        "SITUS_CITY": "MARTINEZ",
        "SITUS_ZIP": "94553",
        "OWNER_NAME": f"OWNER NUMBER {i}",
        "LAND_USE": "SINGLE FAMILY RESIDENTIAL",
        "UNITS": str(1 + i % 4),
        "ASSESSED_VALUE": f"{250000 + i}",
        "YEAR_BUILT": "1962",
        "Shape_Area": "1234.5678",
        "Shape_Leng": "140.25",
    }
    return feature(properties, polygon(ring))


def write_county_geojson(path: Path, count: int, vertices: int = 28) -> int:
    """Write a ``count``-feature FeatureCollection feature by feature; returns the file size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type": "FeatureCollection", "name": "parcels",\n"features": [\n')
        for i in range(count):
            out.write(("" if i == 0 else ",\n") + json.dumps(county_feature(i, vertices)))
        out.write("\n]}\n")
    return path.stat().st_size


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> bytes:
    """Delimited text; a field with the delimiter, a quote or a newline is quoted CSV-style."""

    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(cell(v) for v in row) for row in [header, *rows]]
    return ("\n".join(lines) + "\n").encode(encoding)
