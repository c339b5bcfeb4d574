"""Callers spread over a service's replicas: the services' channel takes each address a name gives in
turn, and their servers send clients away after a while so that they find replicas added since.
Real gRPC servers made by ``grpc_server.new_server`` on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import grpc

from cocoa_common import grpc_server

PEER = "/test.Replica/Peer"


Handler = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]


@asynccontextmanager
async def serving(handler: Handler, max_connection_age_s: float = 0.0) -> AsyncIterator[int]:
    """A server answering PEER with ``handler`` (bytes in and out: no serializers); its port."""
    server, _ = grpc_server.new_server(max_connection_age_s)
    method = grpc.unary_unary_rpc_method_handler(handler)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Replica", {"Peer": method}),))
    port = grpc_server.bind(server, "127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(0)


@asynccontextmanager
async def replica(name: str, max_connection_age_s: float = 0.0) -> AsyncIterator[tuple[int, list[str]]]:
    """A server answering with its own name; its port, and the peer of each call it served."""
    served: list[str] = []

    async def peer(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        served.append(context.peer())
        return name.encode()

    async with serving(peer, max_connection_age_s) as port:
        yield port, served


def caller(channel: grpc.aio.Channel) -> Callable[[], Awaitable[bytes]]:
    call = channel.unary_unary(PEER)
    return lambda: call(b"", timeout=5)


async def test_calls_to_a_name_with_two_replicas_reach_both() -> None:
    async with replica("a") as (port_a, served_a), replica("b") as (port_b, served_b):
        async with grpc_server.channel(f"ipv4:127.0.0.1:{port_a},127.0.0.1:{port_b}") as channel:
            call = caller(channel)
            answers = [await call() for _ in range(20)]
    assert sorted(set(answers)) == [b"a", b"b"]
    assert len(served_a) + len(served_b) == 20
    assert min(len(served_a), len(served_b)) >= 5


async def test_a_replica_that_is_down_is_skipped() -> None:
    async with replica("a") as (port_a, _):
        async with replica("b") as (port_b, _):
            pass  # b stops: its address refuses connections from here on
        async with grpc_server.channel(f"ipv4:127.0.0.1:{port_a},127.0.0.1:{port_b}") as channel:
            call = caller(channel)
            assert {await call() for _ in range(10)} == {b"a"}


async def test_a_client_is_sent_away_after_the_connection_age_and_comes_back_on_a_new_connection() -> None:
    async with replica("a", max_connection_age_s=0.5) as (port, served):
        async with grpc_server.channel(f"127.0.0.1:{port}") as channel:
            call = caller(channel)
            await call()
            for _ in range(40):  # at most ~4 s
                await asyncio.sleep(0.1)
                await call()
                if served[-1] != served[0]:
                    break
    assert served[-1] != served[0]  # another client port: a new connection, after a new resolution


async def test_a_call_under_way_when_the_connection_ages_out_still_finishes() -> None:
    release = asyncio.Event()

    async def slow(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await release.wait()
        return b"done"

    async with (
        serving(slow, max_connection_age_s=0.3) as port,
        grpc_server.channel(f"127.0.0.1:{port}") as channel,
    ):
        pending = asyncio.ensure_future(caller(channel)())
        await asyncio.sleep(1.0)  # three connection ages
        release.set()
        assert await pending == b"done"
