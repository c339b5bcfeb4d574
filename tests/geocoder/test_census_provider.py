"""CensusProvider against the loopback Census fake."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from geocoder_fakes import CountingLimiter, FakeControl, FakeService

from cocoa_geocoder.providers import CensusProvider, GeocodeQuery, ProviderError
from cocoa_geocoder.providers.census import build_batch_csv

TIMEOUT = 0.3

MakeCensus = Callable[..., CensusProvider]


@pytest.fixture
async def make_census(census_fake: FakeService) -> AsyncIterator[MakeCensus]:
    """Build providers aimed at the fake with test-sized timeouts; all are closed afterwards."""
    made: list[CensusProvider] = []

    def make(**overrides: Any) -> CensusProvider:
        options: dict[str, Any] = {"timeout": TIMEOUT, "batch_timeout": TIMEOUT, "retry_after_cap": 0.05}
        options.update(overrides)
        provider = CensusProvider(census_fake.base_url, **options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


@pytest.fixture
def control(census_fake: FakeService) -> FakeControl:
    census_fake.control.add_place("100 MAIN ST", 35.7796, -78.6382)
    census_fake.control.add_place("200 OAK AVE", 35.7801, -78.6390, match_type="Non_Exact")
    census_fake.control.add_place("300 ELM ST", 35.7810, -78.6401)
    census_fake.control.add_place("400 PINE ST", 35.7820, -78.6412)
    return census_fake.control


def q(ref: str, street: str, zip_code: str = "27601") -> GeocodeQuery:
    return GeocodeQuery(ref=ref, street=street, city="RALEIGH", state="NC", zip_code=zip_code)


KNOWN = [q("a", "100 MAIN ST"), q("b", "200 OAK AVE"), q("c", "300 ELM ST"), q("d", "400 PINE ST")]


async def test_census_batch_sends_headerless_five_field_csv_and_benchmark(
    make_census: MakeCensus, control: FakeControl
) -> None:
    await make_census(benchmark="Public_AR_Census2020").geocode_batch(KNOWN)
    (sent,) = control.paths("/addressbatch")
    assert sent.method == "POST"
    assert sent.form == {"benchmark": "Public_AR_Census2020"}
    assert sent.rows[0] == ["0", "100 MAIN ST", "RALEIGH", "NC", "27601"]
    assert all(len(row) == 5 for row in sent.rows)


async def test_census_batch_joins_out_of_order_rows_on_id(
    make_census: MakeCensus, control: FakeControl
) -> None:
    results = await make_census().geocode_batch(KNOWN)
    assert [r.ref for r in results] == ["a", "b", "c", "d"]
    assert [r.latitude for r in results] == [35.7796, 35.7801, 35.7810, 35.7820]


async def test_census_batch_reads_coordinate_field_longitude_first(
    make_census: MakeCensus, control: FakeControl
) -> None:
    results = await make_census().geocode_batch(KNOWN[:2])
    assert (results[0].latitude, results[0].longitude) == (35.7796, -78.6382)


async def test_census_match_types_are_range_precision_with_graded_confidence(
    make_census: MakeCensus, control: FakeControl
) -> None:
    exact, non_exact = await make_census().geocode_batch(KNOWN[:2])
    assert (exact.status, exact.precision, exact.matched_address) == (
        "match",
        "range",
        "100 MAIN ST, RALEIGH, NC, 27601",
    )
    assert non_exact.precision == "range"
    assert exact.confidence is not None
    assert non_exact.confidence is not None
    assert exact.confidence > non_exact.confidence


async def test_census_no_match_row_is_no_match(make_census: MakeCensus, control: FakeControl) -> None:
    results = await make_census().geocode_batch([KNOWN[0], q("x", "999 NOWHERE RD")])
    assert (results[1].status, results[1].error, results[1].latitude) == ("no_match", "No match", None)


async def test_census_tie_is_reported_as_tie_without_coordinates(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.add_tie("5 TWIN RD")
    results = await make_census().geocode_batch([KNOWN[0], q("t", "5 TWIN RD")])
    tie = results[1]
    assert (tie.status, tie.error, tie.retryable) == ("tie", "Ambiguous (Tie)", False)
    assert tie.latitude is None
    assert tie.longitude is None


async def test_census_batch_tolerates_header_row(make_census: MakeCensus, control: FakeControl) -> None:
    control.census_header_row = True
    results = await make_census().geocode_batch(KNOWN)
    assert [r.status for r in results] == ["match"] * 4


async def test_census_batch_quotes_fields_containing_commas(
    make_census: MakeCensus, control: FakeControl
) -> None:
    tricky = GeocodeQuery(
        ref="r,1", street="100 MAIN ST", city='RALEIGH, "CITY"', state="NC", zip_code="27601"
    )
    results = await make_census().geocode_batch([tricky, KNOWN[1]])
    (sent,) = control.paths("/addressbatch")
    assert sent.rows[0] == ["0", "100 MAIN ST", 'RALEIGH, "CITY"', "NC", "27601"]
    assert (results[0].ref, results[0].status) == ("r,1", "match")


def test_census_batch_csv_puts_each_address_on_one_line() -> None:
    payload = build_batch_csv([GeocodeQuery("a", "1 MAIN ST\nAPT 2", "X", "NC", "")]).decode()
    assert list(csv.reader(io.StringIO(payload))) == [["0", "1 MAIN ST APT 2", "X", "NC", ""]]


async def test_census_rows_missing_from_response_are_retryable_errors(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.omitted.add("300 ELM ST")
    results = await make_census().geocode_batch(KNOWN)
    assert [r.status for r in results] == ["match", "match", "error", "match"]
    assert results[2].retryable
    assert results[2].error == "Missing from census response"


async def test_census_duplicate_refs_keep_input_order(make_census: MakeCensus, control: FakeControl) -> None:
    queries = [q("same", "400 PINE ST"), q("same", "100 MAIN ST")]
    results = await make_census().geocode_batch(queries)
    assert [r.longitude for r in results] == [-78.6412, -78.6382]


async def test_census_batch_5xx_is_bisected_and_retried(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.max_batch_rows = 2
    results = await make_census().geocode_batch(KNOWN * 2)
    assert [r.status for r in results] == ["match"] * 8
    assert [len(r.rows) for r in control.paths("/addressbatch")] == [8, 4, 2, 2, 4, 2, 2]


async def test_census_bisection_depth_is_bounded(make_census: MakeCensus, control: FakeControl) -> None:
    control.fail_next("503", count=100)
    results = await make_census(max_splits=1).geocode_batch(KNOWN)
    assert len(control.requests) == 3  # 4 rows, then two halves of 2
    assert {(r.status, r.error, r.retryable) for r in results} == {("error", "HTTP 503 from census", True)}


async def test_census_timeout_returns_retryable_errors(make_census: MakeCensus, control: FakeControl) -> None:
    control.fail_next("hang")
    started = time.monotonic()
    results = await make_census(max_splits=0).geocode_batch(KNOWN)
    assert time.monotonic() - started < 2
    assert {(r.status, r.error, r.retryable) for r in results} == {("error", "Timed out after 0.3s", True)}


async def test_census_dropped_connection_returns_retryable_errors(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("drop")
    results = await make_census(max_splits=0).geocode_batch(KNOWN)
    assert all(r.status == "error" and r.retryable for r in results)
    assert results[0].error is not None
    assert results[0].error.startswith("Connection error from census")


async def test_census_dropped_connection_is_bisected(make_census: MakeCensus, control: FakeControl) -> None:
    control.fail_next("drop")
    results = await make_census().geocode_batch(KNOWN)
    assert [r.status for r in results] == ["match"] * 4


async def test_census_client_error_is_not_retryable_or_bisected(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("403")
    results = await make_census().geocode_batch(KNOWN)
    assert len(control.requests) == 1
    assert {(r.error, r.retryable) for r in results} == {("HTTP 403 from census", False)}


async def test_census_429_honours_retry_after_once_then_succeeds(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("429")
    results = await make_census().geocode_batch(KNOWN)
    assert [r.status for r in results] == ["match"] * 4
    assert len(control.requests) == 2


async def test_census_repeated_429_is_a_retryable_error_with_bounded_wait(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.retry_after = "30"  # capped by retry_after_cap=0.05
    control.fail_next("429", count=2)
    started = time.monotonic()
    results = await make_census().geocode_batch(KNOWN)
    assert time.monotonic() - started < 2
    assert len(control.requests) == 2
    assert {(r.status, r.error, r.retryable) for r in results} == {
        ("error", "Rate limited by census (HTTP 429)", True)
    }


async def test_malformed_body_is_an_error_result_not_an_exception(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("malformed")
    results = await make_census().geocode_batch(KNOWN)
    assert all(r.status == "error" and r.retryable for r in results)
    assert results[0].error == "Malformed response from census: no result rows"


async def test_census_single_query_uses_one_line_endpoint(
    make_census: MakeCensus, control: FakeControl
) -> None:
    (result,) = await make_census().geocode_batch([q("only", "100 MAIN ST APT 2")])
    (sent,) = control.requests
    assert sent.path == "/geocoder/locations/onelineaddress"
    assert sent.query == {
        "address": "100 MAIN ST APT 2, RALEIGH, NC 27601",
        "benchmark": "Public_AR_Current",
        "format": "json",
    }
    assert result.ref == "only"


async def test_census_one_line_parses_json_coordinates(make_census: MakeCensus, control: FakeControl) -> None:
    (result,) = await make_census().geocode_batch([KNOWN[0]])
    assert (result.status, result.latitude, result.longitude) == ("match", 35.7796, -78.6382)
    assert (result.precision, result.matched_address) == ("range", "100 MAIN ST, RALEIGH, NC, 27601")


async def test_census_one_line_empty_matches_is_no_match(
    make_census: MakeCensus, control: FakeControl
) -> None:
    (result,) = await make_census().geocode_batch([q("x", "999 NOWHERE RD")])
    assert (result.status, result.error) == ("no_match", "No match")


async def test_census_one_line_multiple_matches_take_first_with_lower_confidence(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.add_tie("5 TWIN RD")
    provider = make_census()
    (ambiguous,) = await provider.geocode_batch([q("t", "5 TWIN RD")])
    (single,) = await provider.geocode_batch([KNOWN[0]])
    assert ambiguous.status == "match"
    assert ambiguous.confidence is not None
    assert single.confidence is not None
    assert ambiguous.confidence < single.confidence


async def test_census_one_line_malformed_json_is_retryable_error(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("malformed")
    (result,) = await make_census().geocode_batch([KNOWN[0]])
    assert (result.status, result.error, result.retryable) == (
        "error",
        "Malformed response from census",
        True,
    )


async def test_census_one_line_json_nested_too_deeply_is_a_malformed_response(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("nested")
    (result,) = await make_census().geocode_batch([KNOWN[0]])
    assert (result.status, result.error, result.retryable) == (
        "error",
        "Malformed response from census",
        True,
    )


async def test_census_one_line_timeout_is_retryable_error(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.fail_next("hang")
    (result,) = await make_census().geocode_batch([KNOWN[0]])
    assert (result.status, result.error, result.retryable) == ("error", "Timed out after 0.3s", True)


async def test_census_input_larger_than_max_batch_is_chunked(
    make_census: MakeCensus, control: FakeControl
) -> None:
    results = await make_census(max_batch=3).geocode_batch(KNOWN * 2)
    assert [len(r.rows) for r in control.paths("/addressbatch")] == [3, 3, 2]
    assert [r.ref for r in results] == ["a", "b", "c", "d"] * 2


async def test_census_empty_input_makes_no_request(make_census: MakeCensus, control: FakeControl) -> None:
    assert await make_census().geocode_batch([]) == []
    assert control.requests == []


async def test_census_acquires_limiter_for_every_request(
    make_census: MakeCensus, control: FakeControl
) -> None:
    control.max_batch_rows = 2
    limiter = CountingLimiter()
    await make_census(limiter=limiter).geocode_batch(KNOWN)
    assert limiter.acquired == len(control.requests) == 3


@pytest.mark.parametrize(
    "options", [{"max_batch": 0}, {"max_batch": 10_001}, {"timeout": 0}, {"benchmark": ""}]
)
def test_census_rejects_invalid_configuration(options: dict[str, Any]) -> None:
    with pytest.raises(ProviderError):
        CensusProvider("http://127.0.0.1:1", **options)
