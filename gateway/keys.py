"""Every typed key the gateway keeps on the application and on requests, in one place.

The types are imported only for annotations so that any module may import these keys without
import cycles.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from cocoa_common.settings import Settings
    from cocoa_gateway.auth import Principal, TokenAuthenticator
    from cocoa_gateway.backends import Backends
    from cocoa_gateway.metrics import Metrics

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
BACKENDS: web.AppKey[Backends] = web.AppKey("backends")
ENGINE: web.AppKey[AsyncEngine] = web.AppKey("engine")
SESSIONS: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessions")
AUTHENTICATOR: web.AppKey[TokenAuthenticator] = web.AppKey("authenticator")
# How long a looked-up token is trusted before the database is asked again.
TOKEN_TTL: web.AppKey[float] = web.AppKey("token_cache_ttl_s")
# Set when the server begins to stop, so long-lived streams (SSE) end instead of holding it up.
SHUTTING_DOWN: web.AppKey[asyncio.Event] = web.AppKey("shutting_down")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")

PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
