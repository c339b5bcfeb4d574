"""The public readers: format dispatch, resume, and per-file APN de-duplication."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from cocoa_common import jsontext
from cocoa_importer.first_items import SAMPLE_ITEMS, mostly_failing

from ._csv import read_csv
from ._geojson import GeoJsonParcels, features_of
from ._jsonstream import FeatureStream, StreamBroken
from ._model import ItemProblem, ParcelError, ParcelFormatError, ParcelRecord, Pending

FORMATS = ("geojson", "csv")


def read_parcels(
    fmt: str, stream: BinaryIO, *, default_state: str = "", start_item: int = 0
) -> Iterator[ParcelRecord | ParcelError]:
    """Stream parcels from a GeoJSON or CSV file, in file order, one result per item.

    Items are 1-based feature numbers (GeoJSON) or physical line numbers (CSV). Only items numbered
    above ``start_item`` are yielded: pass the last item a previous run handled to resume it (earlier
    items are scanned but not built). Each item gives one ``ParcelRecord`` or one ``ParcelError``; a
    GeoJSON stream broken beyond repair ends with one error saying where. A repeated APN is yielded
    like any other: the job tells duplicates by the stored parcels. ``ParcelFormatError`` means the
    file as a whole is unusable.
    """
    if fmt == "geojson":
        features = FeatureStream(stream)
        reader = GeoJsonParcels(default_state, lambda: features.crs_note)
        source: Iterable[Pending | ParcelError] = reader.read(features)
    elif fmt == "csv":
        source = read_csv(stream, default_state)
    else:
        raise ParcelFormatError(f"unknown parcel format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return _results(source, start_item)


def check_parcels(path: str, fmt: str, *, default_state: str = "") -> None:
    """Raise ``ParcelFormatError`` when the file at ``path`` cannot be read as parcels in ``fmt``:
    the file as a whole is unusable, or nearly all of its first parcels fail."""
    seen = failed = 0
    first: ParcelError | None = None
    with open(path, "rb") as stream:
        for item in itertools.islice(read_parcels(fmt, stream, default_state=default_state), SAMPLE_ITEMS):
            seen += 1
            if isinstance(item, ParcelError):
                failed += 1
                first = first or item
    if first is not None and mostly_failing(seen, failed):
        raise ParcelFormatError(
            f"{failed} of its first {seen} parcels fail (item {first.item}, {first.field}: {first.reason}),"
            " so nothing was imported"
        )


def read_parcels_json_body(
    body: dict[str, Any] | str,
    fmt: str | None = None,
    *,
    default_state: str = "",
    start_item: int = 0,
) -> Iterator[ParcelRecord | ParcelError]:
    """Parcels from the earlier API's JSON body ``{"data": <GeoJSON object | CSV text>, "format"?}``.

    ``fmt`` (else the body's ``format``) picks the reader; without either, text data is CSV and an
    object or array is GeoJSON (a FeatureCollection, a list of Features, or one Feature).
    """
    if isinstance(body, str):
        try:
            body = jsontext.loads(body)
        except ValueError as exc:
            raise ParcelFormatError(f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("data") is None:
        raise ParcelFormatError("Missing data field")
    data = body["data"]
    chosen = str(fmt or body.get("format") or ("csv" if isinstance(data, str) else "geojson")).lower()
    if isinstance(data, str):
        stream = io.BytesIO(data.encode("utf-8", "surrogatepass"))
        return read_parcels(chosen, stream, default_state=default_state, start_item=start_item)
    if chosen != "geojson":
        raise ParcelFormatError(f"format {chosen!r} needs text data, got a JSON {type(data).__name__}")
    features, crs_note = features_of(data)
    reader = GeoJsonParcels(default_state, lambda: crs_note)
    return _results(reader.read(enumerate(features, start=1)), start_item)


def _results(
    source: Iterable[Pending | ParcelError], start_item: int
) -> Iterator[ParcelRecord | ParcelError]:
    # Duplicate APNs are the job's to find (against the table), so memory does not grow with the file.
    try:
        for entry in source:
            if entry.item <= start_item:
                continue
            if isinstance(entry, ParcelError):
                yield entry
                continue
            try:
                yield entry.build()
            except ItemProblem as problem:
                yield ParcelError(entry.item, problem.field, problem.reason)
    except StreamBroken as broken:
        yield ParcelError(broken.item, "json", broken.reason)  # always: even a resumed run must hear of it
