"""The earlier API's JSON body form: {"data": <GeoJSON object | CSV text>, "format"?}."""

from __future__ import annotations

import json

import pytest
from parcel_samples import collection, feature, point

from cocoa_importer.parcels import ParcelError, ParcelFormatError, ParcelRecord, read_parcels_json_body

LON, LAT = -122.1, 37.9


def apns(results: object) -> list[str]:
    return [r.apn for r in results if isinstance(r, ParcelRecord)]  # type: ignore[attr-defined]


def test_feature_collection_object_is_read() -> None:
    body = {"data": collection([feature({"apn": "1"}, point(LON, LAT)), feature({"apn": "2"})])}
    assert apns(read_parcels_json_body(body, None)) == ["1", "2"]


def test_array_of_features_is_read() -> None:
    body = {"data": [feature({"apn": "1"}), feature({"apn": "2"})], "format": "geojson"}
    assert apns(read_parcels_json_body(body, None)) == ["1", "2"]


def test_single_feature_is_read() -> None:
    assert apns(read_parcels_json_body({"data": feature({"apn": "1"})}, None)) == ["1"]


def test_text_data_defaults_to_csv() -> None:
    body = {"data": "apn,address,city,zip\n1,12 Elm St,Concord,94520\n"}
    [record] = read_parcels_json_body(body, None)
    assert isinstance(record, ParcelRecord)
    assert (record.apn, record.item, record.zip_code) == ("1", 2, "94520")


def test_geojson_text_with_format_is_read() -> None:
    body = {"data": json.dumps(collection([feature({"apn": "1"})])), "format": "geojson"}
    assert apns(read_parcels_json_body(body, None)) == ["1"]


def test_format_argument_overrides_the_body() -> None:
    body = {"data": json.dumps(collection([feature({"apn": "1"})])), "format": "csv"}
    assert apns(read_parcels_json_body(body, "geojson")) == ["1"]


def test_body_as_json_text_is_read() -> None:
    body = json.dumps({"data": collection([feature({"apn": "1"})])})
    assert apns(read_parcels_json_body(body, None)) == ["1"]


def test_missing_data_field_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="Missing data field"):
        read_parcels_json_body({"format": "geojson"}, None)


def test_object_data_with_csv_format_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="needs text data"):
        read_parcels_json_body({"data": collection([]), "format": "csv"}, None)


def test_projected_crs_in_the_body_is_rejected_per_feature() -> None:
    data = collection([feature({"apn": "1"}, point(1.0, 2.0))], crs_name="EPSG:2227")
    [error] = read_parcels_json_body({"data": data}, None)
    assert isinstance(error, ParcelError)
    assert "not WGS84 lon/lat" in error.reason


def test_resume_applies_to_the_body_form() -> None:
    body = {"data": [feature({"apn": str(n)}) for n in range(1, 6)]}
    assert apns(read_parcels_json_body(body, None, start_item=3)) == ["4", "5"]
