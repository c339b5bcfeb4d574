"""The Jobs web page at ``/jobs``; ``/`` redirects there. No auth: the page asks for a token.

The page keeps an API token in the browser and shows text that hostile files put into jobs (file
names, rows quoted in item errors), so it runs under a Content-Security-Policy that allows its own
inline script and style block only (by their sha256), talks only to this origin, and may not be
framed. Every gateway answer also says ``nosniff`` and sends no referrer.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from aiohttp import web

routes = web.RouteTableDef()

STATIC = Path(__file__).resolve().parent.parent / "static"
PAGE = STATIC / "jobs.html"
PAGE_PATH = "/jobs"


def _inline_hashes(html: str, tag: str) -> list[str]:
    """CSP source expressions for each inline ``<tag>`` block, by the sha256 of its text."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    if not blocks:
        raise RuntimeError(f"{PAGE.name} has no inline <{tag}> block")
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks]


def content_security_policy(html: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {' '.join(_inline_hashes(html, 'script'))}",
            f"style-src {' '.join(_inline_hashes(html, 'style'))}",
            "connect-src 'self'",
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


PAGE_POLICY = content_security_policy(PAGE.read_text(encoding="utf-8"))
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": PAGE_POLICY,
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
}


async def answer_safely(request: web.Request, response: web.StreamResponse) -> None:
    """Headers on every answer: browsers take each body as its declared type, and send no referrer."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound(PAGE_PATH)


@routes.get(PAGE_PATH)
async def jobs_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE, headers=PAGE_HEADERS)
