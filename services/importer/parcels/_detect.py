"""Which parcel reader a file needs, from its first bytes (and name, for the error messages)."""

from __future__ import annotations

import re
from typing import Final

from ._model import ParcelFormatError

_BOM: Final = b"\xef\xbb\xbf"
_HTML: Final = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_ESRI_JSON: Final = re.compile(rb'"(?:geometryType|spatialReference|fieldAliases)"\s*:')
_GEOJSON_NAMES: Final = (".geojson", ".json")


def detect_parcel_format(head: bytes, filename: str = "") -> str:
    """``"geojson"`` or ``"csv"`` from the file's first bytes (a few KiB suffice).

    Raises ``ParcelFormatError`` for empty files, HTML pages saved as data, ZIP/shapefile/binary
    files, KML/XML, Esri JSON and TopoJSON, each with what to do instead.
    """
    text = head.removeprefix(_BOM).lstrip()
    name = filename.lower()
    if not text:
        raise ParcelFormatError("the file is empty")
    if text.startswith(b"PK\x03\x04"):
        raise ParcelFormatError(
            "this is a ZIP archive (a zipped shapefile?): upload the layer as GeoJSON or CSV"
        )
    if b"\x00" in text[:4096]:
        raise ParcelFormatError("this is a binary file (a shapefile or geodatabase?): export GeoJSON or CSV")
    if text.startswith(b"<"):
        raise ParcelFormatError(_markup_message(text))
    if text[:1] in (b"{", b"["):
        _reject_other_json(text)
        return "geojson"
    if name.endswith(_GEOJSON_NAMES):
        raise ParcelFormatError(f"{filename} does not start with '{{' or '[': it is not GeoJSON")
    return "csv"


def _markup_message(text: bytes) -> str:
    if _HTML.search(text[:1024]):
        return "this is an HTML page, not parcel data (an Esri REST query page saved without f=geojson?)"
    if b"<kml" in text[:4096].lower():
        return "KML is not supported: convert it to GeoJSON (ogr2ogr -f GeoJSON out.geojson in.kml)"
    return "this is XML, not GeoJSON or CSV"


def _reject_other_json(text: bytes) -> None:
    if _ESRI_JSON.search(text):
        raise ParcelFormatError("this is Esri JSON, not GeoJSON: re-export the layer with f=geojson")
    if re.search(rb'"type"\s*:\s*"Topology"', text):
        raise ParcelFormatError("TopoJSON is not supported: convert it to a GeoJSON FeatureCollection")
