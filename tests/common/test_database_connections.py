"""PostgreSQL connections give up on a silent network instead of hanging: libpq's TCP settings, the
server's settings for the session, and a deadline that renews the pool."""

from __future__ import annotations

import asyncio

import pytest
from faultproxy import ProxyStarter, through
from sqlalchemy import text

from cocoa_common import db


async def _show(database_url: str, *names: str) -> dict[str, str]:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {name: await conn.scalar(text(f"SHOW {name}")) for name in names}
    finally:
        await engine.dispose()


async def _libpq_parameters(database_url: str) -> dict[str, str]:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return raw.driver_connection.info.get_parameters()  # type: ignore[union-attr]
    finally:
        await engine.dispose()


async def test_connections_probe_a_silent_server_and_bound_unacknowledged_sends(database_url: str) -> None:
    parameters = await _libpq_parameters(database_url)
    assert {key: parameters[key] for key in db.TCP_SETTINGS} == {
        key: str(value) for key, value in db.TCP_SETTINGS.items()
    }


async def test_a_database_url_keeps_its_own_tcp_setting(database_url: str) -> None:
    parameters = await _libpq_parameters(f"{database_url}?keepalives_idle=7")
    assert (parameters["keepalives_idle"], parameters["keepalives_count"]) == ("7", "3")


async def test_the_server_ends_a_transaction_left_idle_and_probes_a_silent_client(database_url: str) -> None:
    shown = await _show(database_url, "idle_in_transaction_session_timeout", "tcp_keepalives_idle")
    assert shown == {"idle_in_transaction_session_timeout": "1min", "tcp_keepalives_idle": "30"}


async def test_a_database_url_with_its_own_options_replaces_the_server_settings(database_url: str) -> None:
    own = f"{database_url}?options=-c%20application_name%3Dmine"
    shown = await _show(own, "idle_in_transaction_session_timeout", "application_name")
    assert shown == {"idle_in_transaction_session_timeout": "0", "application_name": "mine"}


async def test_work_on_a_silent_connection_times_out_and_the_next_runs_on_a_fresh_one(
    database_url: str, fault_proxy: ProxyStarter
) -> None:
    link = fault_proxy("127.0.0.1:5432")
    engine = db.create_engine(through(database_url, link))

    async def select(value: int) -> int:
        async with engine.connect() as conn:
            return await conn.scalar(text(f"SELECT {value}"))

    try:
        assert await db.within_deadline(engine, 1.0, select(1)) == 1
        link.blackhole()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await db.within_deadline(engine, 0.5, select(2))
        assert loop.time() - started < 15  # the deadline, then psycopg's own bounded cancel
        link.heal()
        assert await db.within_deadline(engine, 5.0, select(3)) == 3
    finally:
        await engine.dispose()
