"""Database look-ups handlers share."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway import views
from cocoa_gateway.keys import SESSIONS
from cocoa_gateway.repository import GatewayRepository


async def creators(request: web.Request, jobs: Iterable[cpb.Job]) -> dict[str, views.UserRef]:
    """``createdBy`` of each job: user id -> {id, email, name} (missing users are left out)."""
    return await users(request, {j.created_by_id for j in jobs if j.created_by_id})


async def users(request: web.Request, ids: set[str]) -> dict[str, views.UserRef]:
    """User id -> {id, email, name} for each of these users that exists."""
    if not ids:
        return {}
    async with request.app[SESSIONS]() as session:
        users = await GatewayRepository(session).users_by_ids(ids)
    return {user_id: views.user_ref(user) for user_id, user in users.items()}
