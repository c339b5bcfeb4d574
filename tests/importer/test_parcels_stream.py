"""GeoJSON streaming: bounded memory, broken documents, and resuming part-way."""

from __future__ import annotations

import io
import time
import tracemalloc
from pathlib import Path

from parcel_samples import collection, county_feature, geojson_bytes, write_county_geojson

from cocoa_importer.parcels import ParcelError, ParcelRecord, read_parcels

MEMORY_LIMIT_BYTES = 20 * 1024 * 1024  # peaks measure about 3 MB


def read(data: bytes, **kwargs: object) -> list[ParcelRecord | ParcelError]:
    return list(read_parcels("geojson", io.BytesIO(data), **kwargs))  # type: ignore[arg-type]


def items(results: list[ParcelRecord | ParcelError]) -> list[tuple[str, int]]:
    return [(type(r).__name__, r.item) for r in results]


def good_collection_text(count: int) -> str:
    return geojson_bytes(collection(county_feature(i) for i in range(count)), indent=1).decode()


def test_streaming_a_20000_feature_collection_stays_under_20_mb(tmp_path: Path) -> None:
    path = tmp_path / "county.geojson"
    size = write_county_geojson(path, 20_000)
    assert size > MEMORY_LIMIT_BYTES  # so that loading it whole could not pass
    records = errors = 0
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with path.open("rb") as stream:
            for result in read_parcels("geojson", stream, default_state="CA"):
                records += isinstance(result, ParcelRecord)
                errors += isinstance(result, ParcelError)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"\n20,000 features ({size / 1e6:.0f} MB): {records / elapsed:,.0f} features/s under tracemalloc, "
          f"peak {peak / 1e6:.1f} MB")  # fmt: skip
    assert (records, errors) == (20_000, 0)
    assert peak < MEMORY_LIMIT_BYTES  # speed is bench/'s business: this machine may be slow


def test_features_split_across_read_chunks_are_reassembled() -> None:
    # ~1.2 KB features with 1 MiB reads: hundreds of features straddle a chunk boundary.
    data = good_collection_text(3_000).encode()
    assert len(data) > 3 * (1 << 20)
    results = read(data)
    assert all(isinstance(r, ParcelRecord) for r in results)
    assert [r.item for r in results] == list(range(1, 3_001))


def test_malformed_feature_is_reported_and_reading_continues() -> None:
    text = good_collection_text(3)
    second = text.index('"APN": "000-001-001"')
    text = text[:second] + '"APN": "000-001-001", "BAD": tru' + text[second + len('"APN": "000-001-001"') :]
    results = read(text.encode())
    assert items(results) == [("ParcelRecord", 1), ("ParcelError", 2), ("ParcelRecord", 3)]
    error = results[1]
    assert isinstance(error, ParcelError)
    assert error.field == "json"
    assert "malformed JSON in feature 2" in error.reason


def test_truncated_file_yields_good_features_then_one_error() -> None:
    text = good_collection_text(4)
    cut = text.index('"APN": "000-003-003"')
    results = read(text[:cut].encode())
    assert items(results) == [
        ("ParcelRecord", 1),
        ("ParcelRecord", 2),
        ("ParcelRecord", 3),
        ("ParcelError", 4),
    ]
    error = results[-1]
    assert isinstance(error, ParcelError)
    assert "stopped reading" in error.reason
    assert "character" in error.reason


def test_garbage_between_features_stops_with_one_error_saying_where() -> None:
    text = good_collection_text(3)
    first_type = text.index('"type": "Feature"')
    second = text.rindex("{", 0, text.index('"type": "Feature"', first_type + 1))
    broken = text[:second] + "<<<<<<< HEAD\n" + text[second:]
    results = read(broken.encode())
    assert items(results) == [("ParcelRecord", 1), ("ParcelError", 2)]
    error = results[-1]
    assert isinstance(error, ParcelError)
    assert f"character {second}" in error.reason


def test_file_ending_inside_the_features_array_is_reported() -> None:
    text = good_collection_text(2)
    results = read(text[: text.rindex("]")].encode())
    assert items(results) == [("ParcelRecord", 1), ("ParcelRecord", 2), ("ParcelError", 3)]


def test_missing_comma_between_features_is_tolerated() -> None:
    data = b'{"type":"FeatureCollection","features":[{"properties":{"APN":"1"}} {"properties":{"APN":"2"}}]}'
    assert items(read(data)) == [("ParcelRecord", 1), ("ParcelRecord", 2)]


def test_feature_that_is_not_an_object_is_an_error() -> None:
    results = read(b'{"features": [42, {"properties": {"APN": "1"}}]}')
    assert items(results) == [("ParcelError", 1), ("ParcelRecord", 2)]


def test_feature_nested_too_deeply_is_an_error_not_a_crash() -> None:
    deep = b'{"type": "Feature", "properties": {"APN": "1", "x": ' + b"[" * 100_000
    results = read(b'{"features": [' + deep)
    assert items(results) == [("ParcelError", 1)]
    assert "nested too deeply" in results[0].reason  # type: ignore[union-attr]


def test_resume_with_start_item_yields_exactly_the_tail() -> None:
    features = [county_feature(i) for i in range(10)]
    features[7]["properties"]["UNITS"] = "many"  # an error inside the tail stays an error
    data = geojson_bytes(collection(features))
    full = read(data)
    assert read(data, start_item=6) == full[6:]


def test_resume_past_a_broken_point_still_reports_it() -> None:
    text = good_collection_text(3)
    [error] = read(text[: text.index('"APN": "000-002-002"')].encode(), start_item=5)
    assert isinstance(error, ParcelError)
    assert error.item == 3


class _Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a slow pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        end = self._pos + min(self._step, size if size >= 0 else self._step)
        chunk, self._pos = self._data[self._pos : end], end
        return chunk


def test_short_reads_split_tokens_and_utf8_sequences_anywhere() -> None:
    features = [county_feature(i) for i in range(5)]
    features[2]["properties"]["OWNER_NAME"] = "PEÑA 名前"
    features[3]["properties"]["UNITS"] = 12345  # a bare number that a read can cut in half
    data = geojson_bytes(collection(features), bom=True)
    expected = read(data)
    for step in (1, 2, 3, 7):
        assert list(read_parcels("geojson", _Trickle(data, step))) == expected  # type: ignore[arg-type]
