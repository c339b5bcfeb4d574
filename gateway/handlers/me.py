"""``GET /api/v1/me``: who the token belongs to, so a client (the Jobs page) can show it and offer
only what the role allows."""

from __future__ import annotations

from aiohttp import web

from cocoa_gateway.auth import current_user

routes = web.RouteTableDef()


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    user = current_user(request)
    body = {
        "success": True,
        "user": {"id": user.user_id, "email": user.email, "name": user.name, "role": user.role},
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})
