"""Geometry checks and centroids for parcels (shapely 2)."""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cocoa_common import jsontext

from ._model import ItemProblem

Location = tuple[float | None, float | None, str | None]  # (latitude, longitude, GeoJSON geometry text)
NO_LOCATION: Final[Location] = (None, None, None)

ACCEPTED_TYPES: Final = frozenset({"Polygon", "MultiPolygon", "Point"})
# Geographic lon/lat CRSs whose degrees are WGS84 to within metres (NAD83 and its realizations).
_LON_LAT_EPSG: Final = frozenset({4326, 4269, 4152, 4617, 6318, 4759})
_EPSG_RE: Final = re.compile(r"EPSG.*?(\d{4,6})\s*$", re.IGNORECASE)  # EPSG:2227, EPSG::2227, EPSG:6.6:4326
_EWKT_SRID_RE: Final = re.compile(r"SRID=(\d+);", re.IGNORECASE)
_HEX_RE: Final = re.compile(r"[0-9A-Fa-f]+")


def crs_problem(crs: Any) -> str | None:
    """``None`` when a GeoJSON ``crs`` member means lon/lat degrees (or is unreadable), else its name."""
    if not isinstance(crs, dict) or not isinstance(crs.get("properties"), dict):
        return None
    props = crs["properties"]
    name = str(props.get("name") or props.get("code") or "").strip()
    if not name or name.upper().endswith(("CRS84", "CRS83")):
        return None
    match = _EPSG_RE.search(name) or re.fullmatch(r"\s*(\d{4,6})\s*", name)
    if match is None or int(match.group(1)) in _LON_LAT_EPSG:
        return None
    return f"EPSG:{match.group(1)}"


def from_geojson(geometry: Any, crs_note: str | None = None) -> Location:
    """Locate a GeoJSON geometry object; ``None`` (and empty geometries) give no location."""
    if geometry is None:
        return NO_LOCATION
    if not isinstance(geometry, dict):
        raise ItemProblem("geometry", f"geometry is a JSON {type(geometry).__name__}, not an object")
    kind = geometry.get("type")
    _check_type(kind)
    if crs_note:
        raise _not_lon_lat(f"the file declares {crs_note}")
    try:
        geom = _shape(kind, geometry["coordinates"])
    except (ValueError, TypeError, KeyError, IndexError, shapely.errors.ShapelyError) as exc:
        raise ItemProblem("geometry", f"unreadable {kind} coordinates: {exc}") from None
    if geom.is_empty:
        return NO_LOCATION
    return _locate(geom)


def _shape(kind: str, coordinates: Any) -> BaseGeometry:
    """Build straight from coordinate arrays: twice as fast as ``shapely.geometry.shape``."""
    if not coordinates:
        return shapely.Point()  # empty: "coordinates": [] or null
    if kind == "Point":
        return shapely.points(_array(coordinates, 1))
    if kind == "Polygon":
        return _polygon(coordinates)
    return shapely.multipolygons([_polygon(part) for part in coordinates])


def _polygon(rings: Any) -> BaseGeometry:
    holes = [_array(ring, 2) for ring in rings[1:]]
    return shapely.polygons(_array(rings[0], 2), holes=holes or None)


def _array(coordinates: Any, ndim: int) -> np.ndarray:
    """Positions as floats: ``ndim`` 1 for one position, 2 for a ring."""
    array = np.asarray(coordinates, dtype=float)
    if array.ndim != ndim or array.shape[-1] not in (2, 3):
        raise ValueError(
            f"expected {'a position' if ndim == 1 else 'a ring of positions'}, got {coordinates!r:.60}"
        )
    return array


def from_text(text: str) -> Location:
    """Locate a CSV geometry cell holding GeoJSON, WKT, EWKT (``SRID=4326;...``) or hex WKB."""
    text = text.strip()
    if not any(c.isdigit() for c in text):
        return NO_LOCATION  # blank, "POLYGON EMPTY", or an Esri export's bare "Polygon"
    if text.startswith("{"):
        try:
            geometry = jsontext.loads(text)
        except ValueError as exc:
            raise ItemProblem("geometry", f"GeoJSON geometry is not valid JSON: {exc}") from None
        return from_geojson(geometry)
    srid = _EWKT_SRID_RE.match(text)
    if srid is not None:
        if int(srid.group(1)) not in _LON_LAT_EPSG:
            raise _not_lon_lat(f"the geometry declares SRID {srid.group(1)}")
        text = text[srid.end() :]
    try:
        geom = shapely.from_wkb(text) if _HEX_RE.fullmatch(text) else shapely.from_wkt(text)
    except shapely.errors.ShapelyError as exc:
        raise ItemProblem("geometry", f"unreadable WKT/WKB geometry: {exc}") from None
    _check_type(geom.geom_type)
    if geom.is_empty:
        return NO_LOCATION
    return _locate(geom)


def from_lat_lon(latitude: str, longitude: str) -> Location:
    """Locate from latitude/longitude text; both blank means no location."""
    if not latitude and not longitude:
        return NO_LOCATION
    lat = _coordinate("latitude", latitude)
    lon = _coordinate("longitude", longitude)
    _check_lon_lat(lon, lat, lon, lat)
    return lat, lon, None


def _coordinate(field: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ItemProblem(field, f"{field} {text[:40]!r} is not a number") from None


def _check_type(kind: object) -> None:
    if kind not in ACCEPTED_TYPES:
        raise ItemProblem(
            "geometry", f"unsupported geometry type {kind!r} (expected Polygon, MultiPolygon or Point)"
        )


def _locate(geom: BaseGeometry) -> Location:
    _check_lon_lat(*geom.bounds)
    centroid = _centroid(geom)
    return centroid.y, centroid.x, shapely.to_geojson(geom)  # compact, and half the cost of json.dumps


def _centroid(geom: BaseGeometry) -> BaseGeometry:
    """Area-weighted centroid (GEOS weights MultiPolygon parts by area); repairs invalid rings first."""
    if not geom.is_valid:
        # A self-crossing ring's signed areas cancel and fling the naive centroid off the parcel.
        geom = shapely.make_valid(geom)
    point = geom.centroid
    if point.is_empty:
        point = geom.representative_point()
    if point.is_empty:
        raise ItemProblem("geometry", "geometry has no area and no points to place a centroid on")
    return point


def _check_lon_lat(min_x: float, min_y: float, max_x: float, max_y: float) -> None:
    # "not (a <= v <= b)" so that NaN fails too.
    if not (-180.0 <= min_x <= max_x <= 180.0 and -90.0 <= min_y <= max_y <= 90.0):
        raise _not_lon_lat(
            f"x {min_x:.6g}..{max_x:.6g}, y {min_y:.6g}..{max_y:.6g} are outside lon/lat ranges"
        )


def _not_lon_lat(why: str) -> ItemProblem:
    return ItemProblem(
        "geometry",
        f"coordinates are not WGS84 lon/lat degrees ({why}; a projected CRS such as State Plane feet?); "
        "reproject to EPSG:4326, e.g. ogr2ogr -t_srs EPSG:4326",
    )
