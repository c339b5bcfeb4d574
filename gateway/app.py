"""The gateway application: middlewares, routes and the resources they share.

``create_app(settings)`` is all a server (``python -m cocoa_gateway``) or a test needs; the gRPC
channels and the database engine open on startup and close on cleanup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from cocoa_common import db
from cocoa_common.settings import Settings
from cocoa_gateway.auth import TokenAuthenticator, auth_middleware
from cocoa_gateway.backends import open_backends
from cocoa_gateway.errors import error_middleware
from cocoa_gateway.handlers import ROUTE_MODULES, pages, uploads
from cocoa_gateway.keys import (
    AUTHENTICATOR,
    BACKENDS,
    ENGINE,
    METRICS,
    SESSIONS,
    SETTINGS,
    SHUTTING_DOWN,
    TOKEN_TTL,
)
from cocoa_gateway.metrics import Metrics, metrics_middleware
from cocoa_gateway.params import utf8_query_middleware
from cocoa_gateway.request_ids import answer_with_request_id, request_id_middleware

# JSON bodies; uploads stream past this limit (they never call request.read()).
MAX_JSON_BODY = 1024 * 1024
TOKEN_CACHE_TTL_S = 5.0


async def _backends_ctx(app: web.Application) -> AsyncIterator[None]:
    async with open_backends(app[SETTINGS]) as backends:
        app[BACKENDS] = backends
        yield


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = db.create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[SESSIONS] = db.session_factory(engine)
    app[AUTHENTICATOR] = TokenAuthenticator(app[SESSIONS], ttl_s=app[TOKEN_TTL])
    yield
    await engine.dispose()


async def _on_shutdown(app: web.Application) -> None:
    app[SHUTTING_DOWN].set()  # ends open event streams so the server can stop promptly


def create_app(settings: Settings, *, token_cache_ttl_s: float = TOKEN_CACHE_TTL_S) -> web.Application:
    """The gateway for ``settings``; ``token_cache_ttl_s`` bounds how long a revoked token still works."""
    app = web.Application(
        middlewares=[
            request_id_middleware,
            metrics_middleware,
            error_middleware,
            auth_middleware,
            utf8_query_middleware,
        ],
        client_max_size=MAX_JSON_BODY,
    )
    app[METRICS] = Metrics()
    app[SETTINGS] = settings
    app[TOKEN_TTL] = token_cache_ttl_s
    app[SHUTTING_DOWN] = asyncio.Event()
    app.cleanup_ctx.extend([_database_ctx, _backends_ctx])
    app.on_shutdown.append(_on_shutdown)
    app.on_response_prepare.append(answer_with_request_id)
    app.on_response_prepare.append(uploads.answer_as_tus)
    app.on_response_prepare.append(pages.answer_safely)
    for module in ROUTE_MODULES:
        app.add_routes(module.routes)
    return app
