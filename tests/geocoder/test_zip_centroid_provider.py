"""ZipCentroidProvider (offline, zipcodes package)."""

from __future__ import annotations

import pytest
import zipcodes

from cocoa_geocoder.providers import GeocodeQuery, ZipCentroidProvider


def q(ref: str, zip_code: str) -> GeocodeQuery:
    return GeocodeQuery(ref=ref, street="1 MAIN ST", city="RALEIGH", state="NC", zip_code=zip_code)


async def test_zip_centroid_known_zip_is_zip_precision_match() -> None:
    (result,) = await ZipCentroidProvider().geocode_batch([q("a", "27601")])
    assert (result.ref, result.status, result.provider) == ("a", "match", "zip_centroid")
    assert (result.precision, result.confidence) == ("zip", 0.2)
    assert result.latitude == pytest.approx(35.77, abs=0.05)
    assert result.longitude == pytest.approx(-78.63, abs=0.05)
    assert result.matched_address == "RALEIGH, NC 27601"


async def test_zip_centroid_unknown_zip_is_no_match() -> None:
    (result,) = await ZipCentroidProvider().geocode_batch([q("a", "00000")])
    assert (result.status, result.error) == ("no_match", "No match")


@pytest.mark.parametrize("zip_code", ["", "   ", "2760", "ABCDE", "27601-12"])
async def test_zip_centroid_empty_or_invalid_zip_is_no_match(zip_code: str) -> None:
    (result,) = await ZipCentroidProvider().geocode_batch([q("a", zip_code)])
    assert result.status == "no_match"


async def test_zip_centroid_accepts_zip_plus_four() -> None:
    (result,) = await ZipCentroidProvider().geocode_batch([q("a", "27601-1234")])
    assert result.status == "match"


async def test_zip_centroid_keeps_input_order() -> None:
    results = await ZipCentroidProvider().geocode_batch([q("a", "27601"), q("b", ""), q("c", "10003")])
    assert [(r.ref, r.status) for r in results] == [("a", "match"), ("b", "no_match"), ("c", "match")]


async def test_zip_centroid_looks_each_zip_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = zipcodes.matching

    def counting(zip_code: str) -> list[dict[str, object]]:
        calls.append(zip_code)
        return real(zip_code)

    monkeypatch.setattr(zipcodes, "matching", counting)
    provider = ZipCentroidProvider()
    await provider.geocode_batch([q("a", "27601"), q("b", "27601"), q("c", "00000")])
    await provider.geocode_batch([q("d", "27601"), q("e", "00000")])
    assert sorted(calls) == ["00000", "27601"]
