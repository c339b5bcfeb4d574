"""A loopback TCP proxy in front of one real server (PostgreSQL, Redis, a gRPC service), whose faults a
test switches on and off: the network failures a production job system must survive.

It runs on its own thread and event loop, so a fault stays a fault even while the code under test
blocks the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

CHUNK = 64 * 1024


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream twin."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    silent: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a crashed host or a dropped NAT entry answers."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """``port`` forwards to ``upstream_port`` until a fault is switched on.

    - :meth:`blackhole`: every open connection goes silent (bytes are swallowed both ways, the
      sockets stay open, as across a dead switch), and so does any new one, until :meth:`heal`
      resets them.
    - :meth:`sever`: every open connection is reset at once (a restarted server, a dropped route).
    - :meth:`refuse`: new connections are reset as they arrive (the server is down) until :meth:`heal`.
    """

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._links: set[_Link] = set()
        self._blackholed = False
        self._refusing = False
        self._server: asyncio.Server | None = None
        self.port = 0

    def start(self) -> FaultProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return self._call(self._count())

    def blackhole(self) -> None:
        self._call(self._set(blackholed=True, silence_open=True))

    def sever(self) -> None:
        self._call(self._reset_all())

    def refuse(self) -> None:
        self._call(self._set(refusing=True))

    def heal(self, *, reset_silent: bool = True) -> None:
        """New connections pass again. Connections that went silent are reset, as a route that comes
        back without the old connections' state (a failover, a NAT that forgot them) answers them;
        with ``reset_silent=False`` they stay silent, as behind a middlebox that drops them unsaid."""
        self._call(self._set(blackholed=False, refusing=False, reset_silent=reset_silent))

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _count(self) -> int:
        return len(self._links)

    async def _set(
        self,
        *,
        blackholed: bool | None = None,
        refusing: bool | None = None,
        silence_open: bool = False,
        reset_silent: bool = False,
    ) -> None:
        if blackholed is not None:
            self._blackholed = blackholed
        if refusing is not None:
            self._refusing = refusing
        if silence_open:
            for link in self._links:
                link.silent = True
        if reset_silent:
            for link in [link for link in self._links if link.silent]:
                link.reset()

    async def _reset_all(self) -> None:
        for link in list(self._links):
            link.reset()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._reset_all()
        tasks = [task for link in self._links for task in link.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        if self._refusing:
            _reset(client)
            return
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self._upstream)
        except OSError:
            _reset(client)
            return
        link = _Link(client, upstream, silent=self._blackholed)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pipe(link, client_reader, upstream)),
            asyncio.create_task(self._pipe(link, upstream_reader, client)),
        ]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        self._links.discard(link)
        link.reset()

    async def _pipe(self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until either side closes; a silent link reads and drops."""
        while data := await reader.read(CHUNK):
            if link.silent:
                continue
            writer.write(data)
            await writer.drain()
        if not link.silent:
            link.reset()


ProxyStarter = Callable[[str], FaultProxy]


def through(url: str, proxy: FaultProxy) -> str:
    """A database or Redis ``url`` reaching its server through ``proxy``."""
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
