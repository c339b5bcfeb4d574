"""Bearer-token authentication and role checks.

Tokens are ``cj_`` + 32 random bytes (URL-safe base64); only their SHA-256 hex is stored. A valid
token is cached in-process for ``ttl_s`` seconds, so a revocation or a disabled user takes effect
within that bound; expiry is checked on every request.

Route handlers call :func:`current_user` (any role) or :func:`require_admin` first thing.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.ids import utcnow
from cocoa_gateway.errors import ApiError
from cocoa_gateway.keys import AUTHENTICATOR, PRINCIPAL
from cocoa_gateway.repository import GatewayRepository

TOKEN_PREFIX = "cj_"
MISSING = "Unauthorized: Missing token"
INVALID = "Unauthorized: Invalid token"
EXPIRED = "Unauthorized: Session expired"
FORBIDDEN = "Insufficient permissions"
PROTECTED_PREFIX = "/api/v1/"
TOUCH_INTERVAL = timedelta(minutes=1)
_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    email: str
    name: str
    role: str
    token_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class _Cached:
    principal: Principal
    expires_at: datetime | None
    fetched: float  # monotonic


def generate_token() -> str:
    """A new random API token, shown once to its owner."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the database stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(repo: GatewayRepository, user_id: str, expires_at: datetime | None = None) -> str:
    """A new token for ``user_id``: its hash is stored, the token itself is returned to show once."""
    token = generate_token()
    await repo.create_token(user_id, hash_token(token), expires_at)
    return token


class TokenAuthenticator:
    """Resolves bearer tokens to principals, with a short in-process cache."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_s: float = 5.0) -> None:
        self.sessions = sessions
        self.ttl_s = ttl_s
        self._cache: dict[str, _Cached] = {}
        self._touched: dict[str, datetime] = {}  # token id -> last_used_at we know of

    async def authenticate(self, token: str) -> Principal:
        """The token's principal, or an ApiError 401 with the contract's sentence."""
        digest = hash_token(token)
        cached = self._cache.get(digest)
        if cached is None or time.monotonic() - cached.fetched > self.ttl_s:
            cached = await self._load(digest)
        now = utcnow()
        if cached.expires_at is not None and cached.expires_at <= now:
            self._cache.pop(digest, None)
            raise ApiError(401, EXPIRED)
        await self._touch(cached.principal.token_id, now)
        return cached.principal

    def forget(self, token: str) -> None:
        """Drop a token from the cache (e.g. right after revoking it in this process)."""
        self._cache.pop(hash_token(token), None)

    def forget_token_id(self, token_id: str) -> None:
        """Drop the token with this id from the cache: it was revoked by id, so its digest is unknown."""
        for digest in [d for d, c in self._cache.items() if c.principal.token_id == token_id]:
            self._cache.pop(digest, None)

    async def _load(self, digest: str) -> _Cached:
        async with self.sessions() as session:
            found = await GatewayRepository(session).token_with_user(digest)
        self._cache.pop(digest, None)
        if found is None:
            raise ApiError(401, INVALID)
        token, user = found
        if token.revoked_at is not None or user.disabled:
            raise ApiError(401, INVALID)
        principal = Principal(user.id, user.email, user.name, user.role, token.id)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()  # crude but bounded; entries are cheap to reload
        cached = _Cached(principal, token.expires_at, time.monotonic())
        self._cache[digest] = cached
        if token.last_used_at is not None:
            known = self._touched.get(token.id)
            self._touched[token.id] = max(known, token.last_used_at) if known else token.last_used_at
        return cached

    async def _touch(self, token_id: str, now: datetime) -> None:
        # At most one write a minute per token, however busy it is.
        last = self._touched.get(token_id)
        if last is not None and now - last < TOUCH_INTERVAL:
            return
        self._touched[token_id] = now
        async with self.sessions.begin() as session:
            await GatewayRepository(session).touch_token(token_id, now)


def bearer_token(request: web.Request) -> str:
    """The token of ``Authorization: Bearer <token>``; 401 when missing or malformed."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise ApiError(401, MISSING)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(401, INVALID)
    token = token.strip()
    if not token:
        raise ApiError(401, MISSING)
    return token


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every ``/api/v1/`` route needs a valid token; unmatched routes fall through to 404/405."""
    if request.path.startswith(PROTECTED_PREFIX) and request.match_info.http_exception is None:
        token = bearer_token(request)
        request[PRINCIPAL] = await request.app[AUTHENTICATOR].authenticate(token)
    return await handler(request)


def current_user(request: web.Request) -> Principal:
    """The caller of an ``/api/v1`` route (any role)."""
    return request[PRINCIPAL]


def require_admin(request: web.Request) -> Principal:
    """The caller, who must be an admin; 403 otherwise."""
    principal = current_user(request)
    if not principal.is_admin:
        raise ApiError(403, FORBIDDEN)
    return principal
