"""API tokens seen and revoked by their owners (admins: anyone's), so a leaked or forgotten token can
be killed without a shell on the server.

    GET    /api/v1/tokens[?userId=]     -> the live tokens (never the secret), newest first
    DELETE /api/v1/tokens/{id}          -> revoke one

Tokens are created only with ``cocoa-jobs tokens create``: a token is the only credential, so one
that could mint others would let whoever stole it outlive its expiry and its revocation.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cocoa_common.ids import iso, utcnow
from cocoa_common.models import ApiToken
from cocoa_gateway import params
from cocoa_gateway.audit import REVOKE_TOKEN, record_audit
from cocoa_gateway.auth import FORBIDDEN, Principal, current_user
from cocoa_gateway.errors import ApiError
from cocoa_gateway.keys import AUTHENTICATOR, SESSIONS
from cocoa_gateway.repository import GatewayRepository

routes = web.RouteTableDef()

NOT_FOUND = "Token not found"


def token_json(token: ApiToken, caller: Principal) -> dict[str, Any]:
    return {
        "id": token.id,
        "userId": token.user_id,
        "createdAt": iso(token.created_at),
        "expiresAt": iso(token.expires_at),
        "lastUsedAt": iso(token.last_used_at),
        "current": token.id == caller.token_id,  # the token this request came with
    }


def _whose(request: web.Request, caller: Principal) -> str:
    """The user whose tokens to list: the caller's own, or (admins only) ``userId``'s."""
    user_id = params.text(request.query, "userId")
    if user_id is None or user_id == caller.user_id:
        return caller.user_id
    if not caller.is_admin:
        raise ApiError(403, FORBIDDEN)
    return user_id


@routes.get("/api/v1/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    caller = current_user(request)
    user_id = _whose(request, caller)
    async with request.app[SESSIONS]() as session:
        tokens = await GatewayRepository(session).live_tokens(user_id, utcnow())
    body = {"success": True, "tokens": [token_json(t, caller) for t in tokens], "count": len(tokens)}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.delete("/api/v1/tokens/{token_id}")
async def revoke_token(request: web.Request) -> web.Response:
    """Another user's token is a 404 to a non-admin, as an unknown one is."""
    caller = current_user(request)
    token_id = request.match_info["token_id"]
    async with request.app[SESSIONS].begin() as session:
        repository = GatewayRepository(session)
        token = await repository.token(token_id[:32])
        if token is None or (token.user_id != caller.user_id and not caller.is_admin):
            raise ApiError(404, NOT_FOUND)
        if not await repository.revoke_token_id(token.id):
            raise ApiError(404, NOT_FOUND)  # revoked already
    request.app[AUTHENTICATOR].forget_token_id(token.id)
    await record_audit(
        request, REVOKE_TOKEN, resource="token", resource_id=token.id, details={"userId": token.user_id}
    )
    return web.json_response({"success": True, "message": "Token revoked"})
