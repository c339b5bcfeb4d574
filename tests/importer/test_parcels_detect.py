"""Choosing the parcel reader from a file's first bytes."""

from __future__ import annotations

import pytest

from cocoa_importer.parcels import ParcelFormatError, detect_parcel_format


def test_feature_collection_is_geojson() -> None:
    assert detect_parcel_format(b'{"type": "FeatureCollection", "features": [') == "geojson"


def test_byte_order_mark_and_whitespace_before_json_are_skipped() -> None:
    assert detect_parcel_format(b'\xef\xbb\xbf\n  {"type":"FeatureCollection"') == "geojson"


def test_array_of_features_is_geojson() -> None:
    assert detect_parcel_format(b'[{"type": "Feature"') == "geojson"


def test_header_line_is_csv() -> None:
    assert detect_parcel_format(b"APN,SITUS,ZIP\n1,12 Elm St,94553\n", "parcels.csv") == "csv"


def test_html_page_is_rejected_with_advice() -> None:
    with pytest.raises(ParcelFormatError, match="f=geojson"):
        detect_parcel_format(b"<!DOCTYPE html><html><head>", "parcels.geojson")


def test_esri_json_is_rejected() -> None:
    head = b'{"displayFieldName": "", "geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 102100}'
    with pytest.raises(ParcelFormatError, match="Esri JSON"):
        detect_parcel_format(head)


def test_zip_archive_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="ZIP"):
        detect_parcel_format(b"PK\x03\x04\x14\x00\x00\x00", "parcels.zip")


def test_binary_shapefile_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="binary"):
        detect_parcel_format(b"\x00\x00\x27\x0a\x00\x00\x00\x00", "parcels.shp")


def test_empty_file_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="empty"):
        detect_parcel_format(b"  \n")


def test_geojson_name_without_json_content_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="not GeoJSON"):
        detect_parcel_format(b"APN,SITUS\n", "parcels.geojson")
