"""GeoJSON parcel reading: geometry, centroids, properties, aliases and per-feature errors."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from parcel_samples import (
    collection,
    feature,
    geojson_bytes,
    multipolygon,
    point,
    polygon,
    square,
)

from cocoa_importer.parcels import ParcelError, ParcelFormatError, ParcelRecord, read_parcels

LON, LAT = -122.1, 37.9


def read(data: bytes, **kwargs: Any) -> list[ParcelRecord | ParcelError]:
    return list(read_parcels("geojson", io.BytesIO(data), **kwargs))


def read_features(*features: dict[str, Any], **kwargs: Any) -> list[ParcelRecord | ParcelError]:
    return read(geojson_bytes(collection(features)), **kwargs)


def only_record(*features: dict[str, Any], **kwargs: Any) -> ParcelRecord:
    [result] = read_features(*features, **kwargs)
    assert isinstance(result, ParcelRecord), result
    return result


def only_error(*features: dict[str, Any]) -> ParcelError:
    [result] = read_features(*features)
    assert isinstance(result, ParcelError), result
    return result


def test_multipolygon_centroid_is_area_weighted() -> None:
    # Part A: 1x1 square at the origin (area 1, centroid 0.5,0.5); part B: 2x2 square at (2,0)
    # (area 4, centroid 3,1). Weighted: x = (0.5*1 + 3*4)/5 = 2.5, y = (0.5*1 + 1*4)/5 = 0.9 (in 0.001°).
    unit = 0.001
    geometry = multipolygon([square(LON, LAT, unit)], [square(LON + 2 * unit, LAT, 2 * unit)])
    record = only_record(feature({"APN": "1"}, geometry))
    assert record.centroid_longitude == pytest.approx(LON + 2.5 * unit, abs=1e-12)
    assert record.centroid_latitude == pytest.approx(LAT + 0.9 * unit, abs=1e-12)


def test_polygon_hole_moves_the_centroid() -> None:
    # 4x4 square minus the 2x2 square in its north-east corner: area 12, centroid 2 - (3-2)*4/12 each way.
    unit = 0.001
    hole = square(LON + 2 * unit, LAT + 2 * unit, 2 * unit)[::-1]
    record = only_record(feature({"APN": "1"}, polygon(square(LON, LAT, 4 * unit), hole)))
    expected = 2 - 4 / 12
    assert record.centroid_longitude == pytest.approx(LON + expected * unit, abs=1e-12)
    assert record.centroid_latitude == pytest.approx(LAT + expected * unit, abs=1e-12)


def test_self_crossing_polygon_is_repaired_before_its_centroid() -> None:
    # The ring (0,0) (3,3) (3,0) (0,1) crosses itself at (0.75,0.75): two triangles of areas 0.375 and
    # 3.375 with centroids (0.25,0.5833) and (2.25,1.25) -> (2.05, 1.18333). Unrepaired GEOS says (2.5, 1.333).
    unit = 0.001
    ring = [[LON + x * unit, LAT + y * unit] for x, y in ((0, 0), (3, 3), (3, 0), (0, 1), (0, 0))]
    record = only_record(feature({"APN": "1"}, polygon(ring)))
    assert record.centroid_longitude == pytest.approx(LON + 2.05 * unit, abs=1e-12)
    assert record.centroid_latitude == pytest.approx(LAT + (4.4375 / 3.75) * unit, abs=1e-12)


def test_point_geometry_is_the_centroid() -> None:
    record = only_record(feature({"APN": "1"}, point(LON, LAT)))
    assert (record.centroid_latitude, record.centroid_longitude) == (LAT, LON)
    assert json.loads(record.geometry_json or "") == {"type": "Point", "coordinates": [LON, LAT]}


def test_geometry_json_is_compact_geojson() -> None:
    record = only_record(feature({"APN": "1"}, polygon(square(LON, LAT, 0.001))))
    assert record.geometry_json is not None
    assert " " not in record.geometry_json
    assert json.loads(record.geometry_json)["type"] == "Polygon"


def test_null_geometry_gives_a_record_without_centroid() -> None:
    record = only_record(feature({"APN": "1"}, None))
    assert (record.centroid_latitude, record.centroid_longitude, record.geometry_json) == (None, None, None)


def test_null_geometry_falls_back_on_lat_lon_properties() -> None:
    record = only_record(feature({"APN": "1", "lat": "37.95", "lon": "-122.05"}, None))
    assert (record.centroid_latitude, record.centroid_longitude) == (37.95, -122.05)


def test_byte_order_mark_is_accepted() -> None:
    data = geojson_bytes(collection([feature({"APN": "1"}, point(LON, LAT))]), bom=True)
    [record] = read(data)
    assert isinstance(record, ParcelRecord)


def test_string_properties_are_parsed() -> None:
    props = {"APN": "1", "SITUS": "12 ELM ST", "SITUS_ZIP": "94553", "UNITS": "4", "Shape_Area": "12.5"}
    record = only_record(feature(props))
    assert (record.units, record.zip_code) == (4, "94553")


def test_numeric_properties_become_text() -> None:
    props = {"APN": 123456, "SITUS": "12 ELM ST", "ZIP": 94553.0, "UNITS": 2.0, "VACANT": False, "X": None}
    record = only_record(feature(props))
    assert record.apn == "123456"
    assert record.zip_code == "94553"
    assert record.units == 2
    assert record.properties == {
        "APN": "123456",
        "SITUS": "12 ELM ST",
        "ZIP": "94553",
        "UNITS": "2",
        "VACANT": "false",
        "X": "",
    }


def test_properties_drop_values_over_one_kib() -> None:
    record = only_record(feature({"APN": "1", "LEGAL": "x" * 2000, "USE": "RES"}))
    assert record.properties == {"APN": "1", "USE": "RES"}


def test_aliases_are_case_and_punctuation_insensitive() -> None:
    props = {
        "parcel_id": "0042",
        "Situs_Addr": "12 Elm St",
        "situs_city": "Martinez",
        "SITUS_ZIP_": "94553",  # a shapefile's 10-character name
        "OwnName": "SMITH JOHN",
        "Land Use": "SFR",
        "num_units": "1",
    }
    record = only_record(feature(props))
    assert (record.apn, record.city, record.zip_code) == ("0042", "MARTINEZ", "94553")
    assert (record.owner_name, record.land_use, record.units) == ("SMITH JOHN", "SFR", 1)


def test_earlier_system_property_names_are_accepted() -> None:
    record = only_record(
        feature({"apn": "7", "fullAddress": "12 Elm St", "city": "Concord", "zipCode": "94520"})
    )
    assert (record.apn, record.street_name, record.zip_code) == ("7", "ELM", "94520")


def test_situs_line_is_normalized_with_unit_and_location_key() -> None:
    props = {
        "APN": "1",
        "SITUS": "123 North Main Street Apt 4",
        "SITUS_CITY": "Martinez",
        "SITUS_ZIP": "94553",
    }
    record = only_record(feature(props), default_state="CA")
    assert (record.house_number, record.predir, record.street_name, record.suffix) == (
        "123",
        "N",
        "MAIN",
        "ST",
    )
    assert record.unit == "APT 4"
    assert record.full_address == "123 N MAIN ST APT 4, MARTINEZ, CA 94553"
    assert record.location_key == "123|N|MAIN|ST||MARTINEZ|CA|94553"  # without the unit
    assert record.address_issue == ""


def test_situs_parts_are_normalized() -> None:
    props = {
        "APN": "1",
        "SITUS_NUM": "55",
        "SITUS_DIR": "West",
        "SITUS_STREET": "Oak",
        "SITUS_TYPE": "Avenue",
        "SITUS_UNIT": "B",
        "SITUS_CITY": "Concord",
        "SITUS_ZIP": "94520-1234",
    }
    record = only_record(feature(props))
    assert (record.house_number, record.predir, record.street_name, record.suffix) == (
        "55",
        "W",
        "OAK",
        "AVE",
    )
    assert (record.unit, record.zip_code) == ("# B", "94520")


def test_one_line_situs_with_city_state_zip_fills_the_place() -> None:
    record = only_record(feature({"APN": "1", "ADDRESS": "12 Elm St, Walnut Creek, CA 94596"}))
    assert (record.city, record.state, record.zip_code) == ("WALNUT CREEK", "CA", "94596")


def test_separate_unit_column_joins_a_situs_line() -> None:
    record = only_record(feature({"APN": "1", "SITUS": "12 Elm St", "UNIT": "3", "ZIP": "94553"}))
    assert record.unit == "# 3"


def test_default_state_fills_a_missing_state() -> None:
    record = only_record(feature({"APN": "1", "SITUS": "12 Elm St", "ZIP": "94553"}), default_state="ca")
    assert record.state == "CA"
    assert record.location_key.endswith("|CA|94553")


def test_unusable_situs_gives_an_unlinkable_record() -> None:
    record = only_record(feature({"APN": "1", "SITUS": "PO Box 12", "ZIP": "94553"}))
    assert record.location_key == ""
    assert record.address_issue.startswith("po_box")
    assert (record.full_address, record.zip_code) == ("PO BOX 12", "94553")


def test_missing_situs_gives_an_unlinkable_record() -> None:
    record = only_record(feature({"APN": "1"}))
    assert (record.location_key, record.address_issue) == ("", "empty: no situs address")


def test_regrid_nested_fields_are_read() -> None:
    fields = {"parcelnumb": "R-1", "address": "12 Elm St", "scity": "Concord", "szip": "94520", "numunits": 3}
    record = only_record(feature({"fields": fields, "ll_uuid": "abc"}))
    assert (record.apn, record.city, record.units) == ("R-1", "CONCORD", 3)
    assert record.properties["ll_uuid"] == "abc"


def test_windows_1252_bytes_in_properties_are_decoded() -> None:
    data = geojson_bytes(collection([feature({"APN": "1", "OWNER": "PEÑA MARIA"})]))
    data = data.replace("PEÑA".encode(), "PEÑA".encode("cp1252"))
    [record] = read(data)
    assert isinstance(record, ParcelRecord)
    assert record.owner_name == "PEÑA MARIA"


def test_top_level_array_of_features_is_read() -> None:
    data = geojson_bytes([feature({"APN": "1"}), feature({"APN": "2"})])
    assert [r.apn for r in read(data) if isinstance(r, ParcelRecord)] == ["1", "2"]


def test_single_feature_document_is_read() -> None:
    [record] = read(geojson_bytes(feature({"APN": "1"}, point(LON, LAT))))
    assert isinstance(record, ParcelRecord)
    assert record.item == 1


def test_feature_without_apn_is_an_error() -> None:
    error = only_error(feature({"SITUS": "12 ELM ST"}))
    assert (error.item, error.field) == (1, "apn")
    assert "no APN" in error.reason


def test_non_numeric_units_is_an_error() -> None:
    error = only_error(feature({"APN": "1", "UNITS": "four"}))
    assert (error.field, error.reason) == ("units", "unit count 'four' is not a number")


def test_fractional_units_is_an_error() -> None:
    assert only_error(feature({"APN": "1", "UNITS": "2.5"})).field == "units"


def test_unparseable_geometry_is_an_error() -> None:
    error = only_error(feature({"APN": "1"}, {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2]]]}))
    assert error.field == "geometry"
    assert "unreadable Polygon" in error.reason


def test_unsupported_geometry_type_is_an_error() -> None:
    error = only_error(
        feature({"APN": "1"}, {"type": "LineString", "coordinates": [[LON, LAT], [LON, LAT + 1]]})
    )
    assert error.field == "geometry"
    assert "LineString" in error.reason


def test_projected_coordinates_are_rejected() -> None:
    # California State Plane zone III, US feet.
    state_plane = square(6_062_000.0, 2_180_000.0, 100.0)
    error = only_error(feature({"APN": "1"}, polygon(state_plane)))
    assert error.field == "geometry"
    assert "not WGS84 lon/lat" in error.reason


def test_projected_crs_member_is_rejected() -> None:
    document = collection([feature({"APN": "1"}, point(1.0, 2.0))], crs_name="urn:ogc:def:crs:EPSG::2227")
    [error] = read(geojson_bytes(document))
    assert isinstance(error, ParcelError)
    assert "EPSG:2227" in error.reason
    assert "not WGS84 lon/lat" in error.reason


def test_crs84_member_is_accepted() -> None:
    document = collection([feature({"APN": "1"}, point(LON, LAT))], crs_name="urn:ogc:def:crs:OGC:1.3:CRS84")
    [record] = read(geojson_bytes(document))
    assert isinstance(record, ParcelRecord)


def test_projected_crs_does_not_fail_features_without_geometry() -> None:
    document = collection([feature({"APN": "1"}, None)], crs_name="EPSG:3857")
    [record] = read(geojson_bytes(document))
    assert isinstance(record, ParcelRecord)


def test_a_repeated_apn_is_read_like_any_other_feature_for_the_job_to_judge() -> None:
    results = read_features(feature({"APN": "A"}), feature({"APN": "B"}), feature({"APN": "A"}))
    assert [type(r).__name__ for r in results] == ["ParcelRecord", "ParcelRecord", "ParcelRecord"]


def test_esri_json_is_rejected() -> None:
    document = {"features": [{"attributes": {"APN": "1"}, "geometry": {"x": 1, "y": 2}}]}
    with pytest.raises(ParcelFormatError, match="Esri JSON"):
        read(geojson_bytes(document))


def test_object_without_features_is_rejected() -> None:
    with pytest.raises(ParcelFormatError, match="not a GeoJSON FeatureCollection"):
        read(b'{"type": "GeometryCollection", "geometries": []}')
