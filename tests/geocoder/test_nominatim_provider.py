"""NominatimProvider against the loopback Nominatim fake."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from geocoder_fakes import CountingLimiter, FakeControl, FakeService

from cocoa_geocoder.providers import GeocodeQuery, LocalTokenBucket, NominatimProvider, ProviderError

TIMEOUT = 0.3
USER_AGENT = "cocoa-jobs-tests/1.0 (ops@example.org)"

MakeNominatim = Callable[..., NominatimProvider]


@pytest.fixture
async def make_nominatim(nominatim_fake: FakeService) -> AsyncIterator[MakeNominatim]:
    made: list[NominatimProvider] = []

    def make(**overrides: Any) -> NominatimProvider:
        options: dict[str, Any] = {
            "base_url": nominatim_fake.base_url,
            "user_agent": USER_AGENT,
            "timeout": TIMEOUT,
            "retry_after_cap": 0.05,
        }
        options.update(overrides)
        provider = NominatimProvider(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


@pytest.fixture
def control(nominatim_fake: FakeService) -> FakeControl:
    nominatim_fake.control.add_place("100 MAIN ST", 35.7796, -78.6382)
    nominatim_fake.control.add_place("200 OAK AVE", 35.7801, -78.6390, kind="road")
    nominatim_fake.control.add_place("300 ELM ST", 35.7810, -78.6401, kind="city")
    return nominatim_fake.control


def q(ref: str, street: str, zip_code: str = "27601") -> GeocodeQuery:
    return GeocodeQuery(ref=ref, street=street, city="RALEIGH", state="NC", zip_code=zip_code)


async def test_nominatim_sends_configured_user_agent(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert control.requests[0].headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("user_agent", ["", "   "])
def test_nominatim_requires_user_agent(user_agent: str) -> None:
    with pytest.raises(ProviderError):
        NominatimProvider("http://127.0.0.1:1", user_agent=user_agent)


async def test_nominatim_sends_structured_search_params(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    (sent,) = control.requests
    assert sent.path == "/search"
    assert sent.query == {
        "street": "100 MAIN ST",
        "city": "RALEIGH",
        "state": "NC",
        "postalcode": "27601",
        "country": "us",
        "format": "jsonv2",
        "addressdetails": "1",
        "limit": "1",
    }


async def test_nominatim_leaves_out_empty_fields(make_nominatim: MakeNominatim, control: FakeControl) -> None:
    await make_nominatim().geocode_batch([q("a", "100 MAIN ST", zip_code="")])
    assert "postalcode" not in control.requests[0].query


async def test_nominatim_strips_unit_from_street(make_nominatim: MakeNominatim, control: FakeControl) -> None:
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST APT 2B")])
    assert control.requests[0].query["street"] == "100 MAIN ST"
    assert result.status == "match"


async def test_nominatim_parses_string_coordinates(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.ref, result.status, result.provider) == ("a", "match", "nominatim")
    assert (result.latitude, result.longitude) == (35.7796, -78.6382)
    assert result.matched_address is not None
    assert result.matched_address.startswith("100 Main St")


async def test_nominatim_house_number_is_rooftop_precision(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.precision, result.confidence) == ("rooftop", 0.9)


async def test_nominatim_road_result_is_street_precision(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    (result,) = await make_nominatim().geocode_batch([q("b", "200 OAK AVE")])
    assert result.precision == "street"
    assert result.confidence is not None
    assert result.confidence < 0.9


async def test_nominatim_city_result_is_city_precision(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    (result,) = await make_nominatim().geocode_batch([q("c", "300 ELM ST")])
    assert result.precision == "city"


async def test_nominatim_zip_mismatch_lowers_confidence(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST", zip_code="27703")])
    assert result.confidence is not None
    assert result.confidence < 0.9


async def test_nominatim_empty_list_is_no_match(make_nominatim: MakeNominatim, control: FakeControl) -> None:
    (result,) = await make_nominatim().geocode_batch([q("x", "999 NOWHERE RD")])
    assert (result.status, result.error, result.latitude) == ("no_match", "No match", None)


async def test_nominatim_blank_query_is_no_match_without_request(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    (result,) = await make_nominatim().geocode_batch([GeocodeQuery("x", "", "", "NC", "")])
    assert result.status == "no_match"
    assert control.requests == []


async def test_nominatim_batch_is_sequential_through_limiter(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    limiter = CountingLimiter()
    queries = [q("a", "100 MAIN ST"), q("x", "999 NOWHERE RD"), q("b", "200 OAK AVE")]
    results = await make_nominatim(limiter=limiter).geocode_batch(queries)
    assert [r.ref for r in results] == ["a", "x", "b"]
    assert [r.status for r in results] == ["match", "no_match", "match"]
    assert limiter.acquired == 3
    assert [r.query["street"] for r in control.requests] == ["100 MAIN ST", "999 NOWHERE RD", "200 OAK AVE"]


async def test_nominatim_429_is_a_retryable_error(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("429", count=2)  # the provider retries once after Retry-After
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.error, result.retryable) == (
        "error",
        "Rate limited by nominatim (HTTP 429)",
        True,
    )


async def test_nominatim_persistent_429_fails_rest_of_batch_without_requests(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("429", count=2)
    results = await make_nominatim().geocode_batch([q("a", "100 MAIN ST"), q("b", "200 OAK AVE")])
    assert [(r.ref, r.status, r.retryable) for r in results] == [("a", "error", True), ("b", "error", True)]
    assert len(control.requests) == 2


async def test_nominatim_single_429_is_retried_after_retry_after(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("429")
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert result.status == "match"


async def test_nominatim_5xx_is_a_retryable_error(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("503")
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.error, result.retryable) == ("error", "HTTP 503 from nominatim", True)


async def test_nominatim_timeout_is_a_retryable_error(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("hang")
    started = time.monotonic()
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert time.monotonic() - started < 2
    assert (result.status, result.error, result.retryable) == ("error", "Timed out after 0.3s", True)


async def test_nominatim_malformed_body_is_an_error_result_not_an_exception(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("malformed")
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.error, result.retryable) == (
        "error",
        "Malformed response from nominatim",
        True,
    )


async def test_nominatim_json_nested_too_deeply_is_a_malformed_response(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("nested")
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.error, result.retryable) == (
        "error",
        "Malformed response from nominatim",
        True,
    )


async def test_nominatim_dropped_connection_is_a_retryable_error(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    # aiohttp itself retries an idempotent GET once after a dropped connection.
    control.fail_next("drop", count=2)
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.retryable) == ("error", True)
    assert result.error is not None
    assert result.error.startswith("Connection error from nominatim")


async def test_nominatim_blocked_user_agent_is_not_retryable(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    control.fail_next("403")
    (result,) = await make_nominatim().geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.error, result.retryable) == ("error", "HTTP 403 from nominatim", False)


async def test_nominatim_locationiq_style_host_gets_key_param(
    make_nominatim: MakeNominatim, nominatim_fake: FakeService, control: FakeControl
) -> None:
    control.require_key = "secret"
    provider = make_nominatim(
        base_url=f"{nominatim_fake.base_url}/v1", key="secret", provider_id="locationiq"
    )
    (result,) = await provider.geocode_batch([q("a", "100 MAIN ST")])
    assert (result.status, result.provider) == ("match", "locationiq")
    assert control.requests[0].path == "/v1/search"


async def test_nominatim_email_param_is_sent_when_configured(
    make_nominatim: MakeNominatim, control: FakeControl
) -> None:
    await make_nominatim(email="ops@example.org").geocode_batch([q("a", "100 MAIN ST")])
    assert control.requests[0].query["email"] == "ops@example.org"


def test_nominatim_public_host_defaults_to_one_request_per_second() -> None:
    provider = NominatimProvider(user_agent=USER_AGENT)
    assert isinstance(provider.limiter, LocalTokenBucket)
    assert provider.limiter.rate_per_s == 1.0


def test_nominatim_self_hosted_is_unlimited_by_default() -> None:
    assert NominatimProvider("http://127.0.0.1:1", user_agent=USER_AGENT).limiter is None
