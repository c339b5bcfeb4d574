"""The Jobs web page at ``/jobs``; ``/`` redirects there. No auth: the page asks for a token."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

routes = web.RouteTableDef()

STATIC = Path(__file__).resolve().parent.parent / "static"


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/jobs")


@routes.get("/jobs")
async def jobs_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "jobs.html", headers={"Cache-Control": "no-cache"})
