"""GeoJSON features -> pending parcels."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from ._aliases import Columns, first, resolve
from ._build import apn_of, bounded_properties, build_record
from ._geometry import NO_LOCATION, Location, crs_problem, from_geojson, from_lat_lon
from ._model import ItemProblem, ParcelError, ParcelFormatError, ParcelRecord, Pending

_SURROGATES: Final = re.compile("[\udc80-\udcff]")
_COMPACT: Final = (",", ":")
_MAX_SCHEMAS: Final = 64


class GeoJsonParcels:
    """Turns ``(item, feature)`` pairs into ``Pending`` parcels or ``ParcelError``s."""

    def __init__(self, default_state: str, crs_note: Callable[[], str | None]) -> None:
        self._default_state = default_state
        self._crs_note = crs_note  # a callable: the stream learns the crs while it is being read
        self._schemas: dict[tuple[str, ...], Columns] = {}

    def read(self, features: Iterable[tuple[int, Any]]) -> Iterator[Pending | ParcelError]:
        """One ``Pending`` or ``ParcelError`` per feature, in order."""
        for item, feature in features:
            yield feature if isinstance(feature, ParcelError) else self._pending(item, feature)

    def _pending(self, item: int, feature: Any) -> Pending | ParcelError:
        if not isinstance(feature, dict):
            return ParcelError(item, "feature", f"feature is a JSON {type(feature).__name__}, not an object")
        if "attributes" in feature and "properties" not in feature:
            raise ParcelFormatError("this is Esri JSON, not GeoJSON: re-export the layer with f=geojson")
        raw = feature.get("properties")
        if raw is not None and not isinstance(raw, dict):
            return ParcelError(
                item, "properties", f"properties is a JSON {type(raw).__name__}, not an object"
            )
        values = _as_text(raw or {})
        columns = self._columns(values)
        geometry = feature.get("geometry")

        def build() -> ParcelRecord:
            return build_record(
                item, values, columns, lambda: self._locate(geometry, values, columns),
                self._default_state, bounded_properties(values),
            )  # fmt: skip

        return Pending(item, apn_of(values, columns), build)

    def _columns(self, values: dict[str, str]) -> Columns:
        schema = tuple(values)
        columns = self._schemas.get(schema)
        if columns is None:
            if len(self._schemas) >= _MAX_SCHEMAS:
                self._schemas.clear()  # sparse properties: each feature its own schema
            columns = self._schemas[schema] = resolve(schema)
        return columns

    def _locate(self, geometry: Any, values: dict[str, str], columns: Columns) -> Location:
        location = from_geojson(geometry, self._crs_note())
        if geometry is not None:
            return location
        try:  # no shape: fall back on centroid columns some exports carry (Regrid lat/lon)
            return from_lat_lon(
                first(values, columns.get("latitude")), first(values, columns.get("longitude"))
            )
        except ItemProblem:
            return NO_LOCATION


def features_of(document: Any) -> tuple[list[Any], str | None]:
    """The features and crs note of an in-memory FeatureCollection, Feature list, or single Feature."""
    if isinstance(document, list):
        return document, None
    if not isinstance(document, dict):
        raise ParcelFormatError(f"GeoJSON data is a JSON {type(document).__name__}, not an object or array")
    kind = document.get("type")
    if isinstance(document.get("features"), list):
        return document["features"], crs_problem(document.get("crs"))
    if kind == "Feature":
        return [document], None
    raise ParcelFormatError(
        f"not a GeoJSON FeatureCollection or Feature: no 'features' array in this {kind or 'JSON'} object"
    )


def _as_text(properties: dict[str, Any]) -> dict[str, str]:
    """Every property as text; Regrid's nested ``fields`` object is lifted to the top level."""
    nested = properties.get("fields")
    if isinstance(nested, dict):
        properties = {**{k: v for k, v in properties.items() if k != "fields"}, **nested}
    return {_text(key): _text(value) for key, value in properties.items()}


def _text(value: Any) -> str:
    if isinstance(value, str):
        if value.isascii() or not _SURROGATES.search(value):
            return value
        # Bytes that were not UTF-8: the county wrote Windows-1252.
        return value.encode("utf-8", "surrogateescape").decode("cp1252", "replace")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 94110.0 -> "94110", as the county meant it
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=_COMPACT, ensure_ascii=False)
