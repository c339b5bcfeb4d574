"""Streaming readers for parcel files (GeoJSON FeatureCollections and delimited text).

``read_parcels`` yields one ``ParcelRecord`` or ``ParcelError`` per feature/line without holding the
file in memory; the importer maps records onto ``cocoa_common.models.Parcel``.
"""

from ._detect import detect_parcel_format
from ._model import ParcelError, ParcelFormatError, ParcelRecord
from ._reader import FORMATS, check_parcels, read_parcels, read_parcels_json_body

__all__ = [
    "FORMATS",
    "ParcelError",
    "ParcelFormatError",
    "ParcelRecord",
    "check_parcels",
    "detect_parcel_format",
    "read_parcels",
    "read_parcels_json_body",
]
