"""The Jobs page runs under a Content-Security-Policy that allows only its own inline script and
style, and every gateway answer tells browsers not to sniff types or send referrers."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import bearer


def sha256_source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


async def test_the_page_allows_only_its_own_script_and_style(client: TestClient) -> None:
    response = await client.get("/jobs")
    html = await response.text()
    policy = directives(response.headers["Content-Security-Policy"])
    [script] = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == sha256_source(script)
    assert policy["style-src"] == sha256_source(style)
    assert policy["connect-src"] == "'self'"


async def test_the_page_may_not_be_framed(client: TestClient) -> None:
    response = await client.get("/jobs")
    assert directives(response.headers["Content-Security-Policy"])["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_the_page_has_no_inline_handlers_or_style_attributes(client: TestClient) -> None:
    html = await (await client.get("/jobs")).text()
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL)
    assert not re.search(r"\son[a-z]+\s*=", markup)
    assert " style=" not in markup


@pytest.mark.parametrize("path", ["/jobs", "/healthz", "/api/v1/jobs", "/api/v1/no-such-route"])
async def test_every_answer_says_nosniff_and_no_referrer(
    client: TestClient, admin_token: str, path: str
) -> None:
    response = await client.get(path, headers=bearer(admin_token))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
