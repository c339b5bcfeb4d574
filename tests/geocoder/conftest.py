"""Fixtures for provider tests: loopback fake servers and a scratch Redis namespace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from geocoder_fakes import REDIS_URL, FakeControl, FakeService, make_census_app, make_nominatim_app
from geocoder_system import Services, start_services

from cocoa_common.settings import Settings


async def _serve(make_app: Callable[[FakeControl], web.Application]) -> AsyncIterator[FakeService]:
    control = FakeControl()
    server = TestServer(make_app(control), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield FakeService(str(server.make_url("")).rstrip("/"), control)
    finally:
        control.release_hangs()  # let hanging handlers finish so shutdown is quick
        await server.close()


@pytest.fixture
async def census_fake() -> AsyncIterator[FakeService]:
    """A fake Census geocoder on 127.0.0.1:<free port>."""
    async for service in _serve(make_census_app):
        yield service


@pytest.fixture
async def nominatim_fake() -> AsyncIterator[FakeService]:
    """A fake Nominatim (also answers LocationIQ's /v1/search) on 127.0.0.1:<free port>."""
    async for service in _serve(make_nominatim_app):
        yield service


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[aioredis.Redis, str]]:
    """A Redis client on DB 15 and a key prefix unique to this test; only those keys are removed."""
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"test:geocoder:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def services(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Services]:
    """A coordinator and a geocoder (settings overridden by an indirect ``param`` dict, if any)."""
    async for s in start_services(settings, **getattr(request, "param", {})):
        yield s
