"""Delimited parcel files: geometry columns, delimiters, encodings and row errors."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
import shapely
from parcel_samples import csv_bytes, polygon, square

from cocoa_importer.parcels import ParcelError, ParcelFormatError, ParcelRecord, read_parcels

LON, LAT = -122.1, 37.9
SQUARE_WKT = f"POLYGON (({LON} {LAT}, {LON + 0.002} {LAT}, {LON + 0.002} {LAT + 0.002}, {LON} {LAT + 0.002}, {LON} {LAT}))"


def read(data: bytes, **kwargs: Any) -> list[ParcelRecord | ParcelError]:
    return list(read_parcels("csv", io.BytesIO(data), **kwargs))


def read_rows(header: Sequence[str], *rows: Sequence[str], **kwargs: Any) -> list[ParcelRecord | ParcelError]:
    return read(csv_bytes(header, rows, **kwargs))


def only_record(header: Sequence[str], *rows: Sequence[str], **kwargs: Any) -> ParcelRecord:
    [result] = read_rows(header, *rows, **kwargs)
    assert isinstance(result, ParcelRecord), result
    return result


def kinds(results: list[ParcelRecord | ParcelError]) -> list[tuple[str, int]]:
    return [(type(r).__name__, r.item) for r in results]


def test_wkt_column_gives_centroid_and_geometry() -> None:
    record = only_record(["APN", "SITUS", "WKT"], ["1", "12 Elm St", SQUARE_WKT])
    assert record.centroid_longitude == pytest.approx(LON + 0.001, abs=1e-12)
    assert record.centroid_latitude == pytest.approx(LAT + 0.001, abs=1e-12)
    assert json.loads(record.geometry_json or "")["type"] == "Polygon"
    assert record.properties == {"APN": "1", "SITUS": "12 Elm St"}  # the shape is not stored twice


def test_ewkt_with_wgs84_srid_is_accepted() -> None:
    record = only_record(["APN", "THE_GEOM"], ["1", f"SRID=4326;{SQUARE_WKT}"])
    assert record.centroid_latitude == pytest.approx(LAT + 0.001, abs=1e-12)


def test_ewkt_with_projected_srid_is_rejected() -> None:
    [error] = read_rows(["APN", "THE_GEOM"], ["1", f"SRID=2227;{SQUARE_WKT}"])
    assert isinstance(error, ParcelError)
    assert "not WGS84 lon/lat" in error.reason


def test_hex_wkb_column_is_read() -> None:
    wkb = shapely.to_wkb(shapely.from_wkt(SQUARE_WKT), hex=True)
    record = only_record(["APN", "GEOM"], ["1", wkb])
    assert record.centroid_longitude == pytest.approx(LON + 0.001, abs=1e-12)


def test_geojson_column_is_read() -> None:
    geometry = json.dumps(polygon(square(LON, LAT, 0.002)))
    record = only_record(["APN", "GEOMETRY"], ["1", geometry])
    assert record.centroid_latitude == pytest.approx(LAT + 0.001, abs=1e-12)


def test_a_geojson_column_nested_too_deeply_is_a_row_error() -> None:
    results = read_rows(
        ["APN", "GEOMETRY"], ["1", '{"a":' + "[" * 100_000 + "1"], ["2", "POINT (-78.9 35.99)"]
    )
    assert kinds(results) == [("ParcelError", 2), ("ParcelRecord", 3)]
    assert "nested too deeply" in results[0].reason  # type: ignore[union-attr]


def test_lat_lon_columns_give_the_centroid() -> None:
    record = only_record(["APN", "LATITUDE", "LONGITUDE"], ["1", "37.95", "-122.05"])
    assert (record.centroid_latitude, record.centroid_longitude, record.geometry_json) == (
        37.95,
        -122.05,
        None,
    )


def test_projected_x_y_columns_are_rejected() -> None:
    [error] = read_rows(["APN", "X", "Y"], ["1", "6062000.5", "2180000.25"])
    assert isinstance(error, ParcelError)
    assert (error.field, error.item) == ("geometry", 2)
    assert "not WGS84 lon/lat" in error.reason


def test_non_numeric_latitude_is_an_error() -> None:
    [error] = read_rows(["APN", "LAT", "LON"], ["1", "north", "-122"])
    assert isinstance(error, ParcelError)
    assert error.field == "latitude"


def test_bad_wkt_is_an_error() -> None:
    [error] = read_rows(["APN", "WKT"], ["1", "POLYGON ((1 2, 3"])
    assert isinstance(error, ParcelError)
    assert error.field == "geometry"


def test_bare_shape_type_without_coordinates_means_no_geometry() -> None:
    record = only_record(["APN", "SHAPE"], ["1", "Polygon"])
    assert record.centroid_latitude is None


@pytest.mark.parametrize("delimiter", ["\t", "|", ","])
def test_delimiter_is_detected(delimiter: str) -> None:
    record = only_record(["PARCEL_ID", "SITUS_ADDR", "ZIP"], ["7", "12 Elm St", "94553"], delimiter=delimiter)
    assert (record.apn, record.street_name, record.zip_code) == ("7", "ELM", "94553")


def test_header_aliases_are_case_insensitive() -> None:
    header = ["parcel_num", "Situs Address", "situs_city", "ZipCode", "owner_name", "use_code", "Unit_Count"]
    record = only_record(header, ["9", "12 Elm St", "Concord", "94520", "DOE JANE", "R1", "2"])
    assert (record.apn, record.city, record.zip_code, record.owner_name, record.land_use, record.units) == (
        "9",
        "CONCORD",
        "94520",
        "DOE JANE",
        "R1",
        2,
    )


def test_byte_order_mark_does_not_hide_the_first_column() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(["APN", "SITUS"], [["1", "12 Elm St"]])
    [record] = read(data)
    assert isinstance(record, ParcelRecord)
    assert record.apn == "1"


def test_windows_1252_row_is_decoded_on_its_own() -> None:
    data = csv_bytes(["APN", "OWNER"], [["1", "JOSÉ"]]) + "2,PEÑA\n".encode("cp1252")
    results = read(data)
    assert [r.owner_name for r in results if isinstance(r, ParcelRecord)] == ["JOSÉ", "PEÑA"]


def test_quoted_field_may_span_lines() -> None:
    data = b'APN,SITUS,NOTES\n1,12 Elm St,"line one\nline two"\n2,14 Elm St,x\n'
    results = read(data)
    assert kinds(results) == [("ParcelRecord", 2), ("ParcelRecord", 4)]
    first = results[0]
    assert isinstance(first, ParcelRecord)
    assert first.properties["NOTES"] == "line one\nline two"


def test_quote_inside_an_unquoted_field_is_literal() -> None:
    record = only_record(["APN", "LAND_USE"], ["1", 'PIPE 12" MAIN'])
    assert record.land_use == 'PIPE 12" MAIN'


def test_ragged_row_is_an_error_and_reading_continues() -> None:
    data = b"APN,SITUS,ZIP\n1,12 Elm St,94553\n2,14 Elm St\n3,16 Elm St,94553,extra\n4,18 Elm St,94553\n"
    results = read(data)
    assert kinds(results) == [
        ("ParcelRecord", 2),
        ("ParcelError", 3),
        ("ParcelError", 4),
        ("ParcelRecord", 5),
    ]
    error = results[1]
    assert isinstance(error, ParcelError)
    assert (error.field, error.reason[:32]) == ("row", "expected 3 fields as in the head")


def test_trailing_delimiters_are_not_ragged() -> None:
    record = only_record(["APN", "SITUS"], ["1", "12 Elm St", "", ""])
    assert record.apn == "1"


def test_empty_header_names_are_kept_as_columns() -> None:
    data = b"APN,Parcel Address,,\n1,12 Elm St,,\n"
    [record] = read(data)
    assert isinstance(record, ParcelRecord)
    assert record.street_name == "ELM"


def test_garbage_lines_are_errors_and_reading_continues() -> None:
    data = b"APN,SITUS,ZIP\n1,12 Elm St,94553\n<<<<<<< HEAD\n\x00\xff\xfe garbage\n2,14 Elm St,94553\n"
    results = read(data)
    assert kinds(results) == [
        ("ParcelRecord", 2),
        ("ParcelError", 3),
        ("ParcelError", 4),
        ("ParcelRecord", 5),
    ]
    marker = results[1]
    assert isinstance(marker, ParcelError)
    assert "merge-conflict marker" in marker.reason


def test_unclosed_quote_is_reported_and_later_rows_are_read() -> None:
    rows = "".join(f"{n},{n} Elm St,94553\n" for n in range(2, 200))
    data = f'APN,SITUS,ZIP\n1,"12 Elm St,94553\n{rows}'.encode()
    results = read(data)
    assert kinds(results)[0] == ("ParcelError", 2)
    assert isinstance(results[0], ParcelError)
    assert "quoted field not closed" in results[0].reason
    assert [r.item for r in results[1:]] == list(range(3, 201))
    assert all(isinstance(r, ParcelRecord) for r in results[1:])


def test_blank_lines_are_skipped_and_items_are_physical_line_numbers() -> None:
    results = read(b"APN,SITUS\n\n1,12 Elm St\n\r\n2,14 Elm St\r\n")
    assert kinds(results) == [("ParcelRecord", 3), ("ParcelRecord", 5)]


def test_missing_apn_value_is_an_error() -> None:
    [error] = read_rows(["APN", "SITUS"], ["", "12 Elm St"])
    assert isinstance(error, ParcelError)
    assert error.field == "apn"


def test_excel_text_wrapper_is_removed_from_apn() -> None:
    assert only_record(["APN", "SITUS"], ['="0012"', "12 Elm St"]).apn == "0012"


def test_a_repeated_apn_is_read_like_any_other_line_for_the_job_to_judge() -> None:
    results = read_rows(["APN", "SITUS"], ["A", "12 Elm St"], ["A", "14 Elm St"])
    assert kinds(results) == [("ParcelRecord", 2), ("ParcelRecord", 3)]


def test_header_without_apn_column_is_a_format_error() -> None:
    with pytest.raises(ParcelFormatError, match="no APN column"):
        read_rows(["OWNER", "SITUS"], ["DOE", "12 Elm St"])


def test_html_page_is_a_format_error() -> None:
    with pytest.raises(ParcelFormatError, match="HTML"):
        read(b"<!DOCTYPE html>\n<html><body>ArcGIS REST Services Directory</body></html>\n")


def test_resume_skips_lines_up_to_start_item() -> None:
    rows = [[str(n), f"{n} Elm St"] for n in range(1, 8)]
    data = csv_bytes(["APN", "SITUS"], rows)
    full = read(data)
    assert read(data, start_item=5) == full[4:]
    assert [r.item for r in full[4:]] == [6, 7, 8]
