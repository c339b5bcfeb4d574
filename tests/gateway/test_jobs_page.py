"""The Jobs web page in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium) against the real gateway, coordinator, PostgreSQL and in-process workers.

Selenium blocks, and the gateway under test runs on this test's event loop, so every browser call
goes through a thread (``JobsPage.call``) while the loop keeps serving the page's requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import WorkerFactory, bearer, create_job
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 10.0
T = TypeVar("T")

# The value shown beside a label in the job's details, or null when the label is not shown.
DETAIL_FIELD = """
const dt = [...document.querySelectorAll('#detail-fields dt')].find((d) => d.textContent === arguments[0]);
return dt ? dt.nextElementSibling.textContent : null;
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the module; each test opens its own gateway's page."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: `make test` installs Debian's chromium and chromium-driver"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


class JobsPage:
    def __init__(self, driver: WebDriver, client: TestClient) -> None:
        self.driver = driver
        self.url = str(client.make_url("/jobs"))

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def open(self) -> None:
        """The page with no token remembered."""
        await self.call(self.driver.get, self.url)
        await self.call(self.driver.execute_script, "localStorage.clear()")
        await self.call(self.driver.refresh)

    async def sign_in(self, token: str) -> None:
        await self.open()
        await self.wait_until("return !document.getElementById('login').classList.contains('hidden')")
        field = await self.call(self.driver.find_element, By.ID, "token-input")
        await self.call(field.send_keys, token)
        await self.click("#login-form button[type=submit]")

    async def script(self, source: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, source, *args)

    async def wait_until(self, source: str, *args: Any) -> Any:
        """The script's first truthy result, polled for at most WAIT_S."""
        wait = WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1)
        return await self.call(wait.until, lambda d: d.execute_script(source, *args))

    async def click(self, css: str) -> None:
        wait = WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1)
        element = await self.call(
            wait.until, expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, css))
        )
        await self.call(element.click)

    async def accept_confirmation(self) -> str:
        wait = WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1)
        alert = await self.call(wait.until, expected_conditions.alert_is_present())
        text = alert.text
        await self.call(alert.accept)
        return text

    async def listed(self, count: int) -> list[list[str]]:
        """The job rows (type, status, ...) once there are ``count`` of them."""
        rows: list[list[str]] = await self.wait_until(
            "const rows = [...document.querySelectorAll('#jobs tr')].map("
            "  (r) => [...r.cells].map((c) => c.textContent));"
            "return rows.length === arguments[0] ? rows : null;",
            count,
        )
        return rows

    async def select(self, row: int) -> None:
        await self.click(f"#jobs tr:nth-child({row + 1})")

    async def detail(self, label: str, expected: str) -> str:
        """Wait until the details show ``expected`` beside ``label``."""
        try:
            return await self.wait_until(
                f"const value = (() => {{ {DETAIL_FIELD} }})(); return value === arguments[1] ? value : null;",
                label,
                expected,
            )
        except Exception:
            shown = await self.script(DETAIL_FIELD, label)
            raise AssertionError(f"{label}: shown {shown!r}, expected {expected!r}") from None

    async def enabled(self, css: str) -> bool:
        return bool(await self.script("return !document.querySelector(arguments[0]).disabled", css))


@pytest.fixture
async def page(browser: WebDriver, client: TestClient) -> JobsPage:
    return JobsPage(browser, client)


async def test_without_a_token_the_page_asks_for_one(page: JobsPage) -> None:
    await page.open()
    assert await page.wait_until("return !document.getElementById('login').classList.contains('hidden')")
    assert await page.script("return document.getElementById('app').classList.contains('hidden')")


async def test_signing_in_lists_the_jobs_newest_first(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await create_job(client, admin_token, "geocoding")
    await create_job(client, admin_token, "geocode_households")
    await page.sign_in(admin_token)
    rows = await page.listed(2)
    assert [(row[0], row[1]) for row in rows] == [("geocode_households", "pending"), ("geocoding", "pending")]
    assert await page.wait_until("return document.getElementById('total').textContent") == "2 matching"


async def test_a_rejected_token_returns_to_sign_in_with_the_reason(page: JobsPage) -> None:
    await page.sign_in("cj_not-a-real-token")
    reason = await page.wait_until("return document.getElementById('login-error').textContent")
    assert reason == "Your token was not accepted. Paste a valid one."
    assert await page.script("return localStorage.getItem('cocoa-jobs.token')") is None


async def test_the_status_filter_narrows_the_list(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    kept = await create_job(client, admin_token)
    gone = await create_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{gone['id']}", headers=bearer(admin_token))
    await page.sign_in(admin_token)
    await page.listed(2)
    await page.script(
        "const s = document.getElementById('filter-status'); s.value = 'pending';"
        "s.dispatchEvent(new Event('change'));"
    )
    rows = await page.listed(1)
    assert rows[0][1] == "pending"
    assert kept["status"] == "pending"


async def test_selecting_a_job_shows_its_details_and_input(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await create_job(client, admin_token, items=7)
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.select(0)
    await page.detail("Id", job["id"])
    await page.detail("Status", "pending")
    await page.detail("Created by", "Admin User <admin@example.com>")
    shown = await page.wait_until("return document.getElementById('detail-data').textContent")
    assert json.loads(shown) == json.loads(job["data"])


async def test_pause_and_resume_buttons_move_the_job(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await create_job(client, admin_token)
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.select(0)
    await page.detail("Status", "pending")
    await page.click("[data-action=pause]")
    await page.detail("Status", "paused")
    assert await page.enabled("[data-action=resume]")
    await page.click("[data-action=resume]")
    await page.detail("Status", "pending")
    fetched = await (await client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))).json()
    assert fetched["status"] == "pending"


async def test_cancel_asks_first_and_leaves_only_retry_enabled(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await create_job(client, admin_token)
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.select(0)
    await page.click("[data-action=cancel]")
    assert await page.accept_confirmation() == "Cancel this job?"
    await page.detail("Status", "cancelled")
    for action in ("pause", "resume", "cancel"):
        assert not await page.enabled(f"[data-action={action}]")
    assert await page.enabled("#retry")


async def test_retry_opens_the_new_job_linked_to_the_cancelled_one(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    source = await create_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{source['id']}", headers=bearer(admin_token))
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.select(0)
    await page.detail("Status", "cancelled")
    await page.click("#retry")
    await page.detail("Retry of", source["id"])
    await page.detail("Status", "pending")
    rows = await page.listed(2)
    assert [row[1] for row in rows] == ["pending", "cancelled"]


async def test_a_running_job_updates_live_until_it_completes(
    page: JobsPage, client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    job = await create_job(client, admin_token, items=40, batch=2, delay=0.05)
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.select(0)
    await page.detail("Id", job["id"])
    await start_worker()
    await page.detail("Status", "completed")
    await page.detail("Progress", "100% · 40 processed, 0 failed of 40")


async def test_a_job_s_item_errors_are_listed(
    page: JobsPage, client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=6, batch=3, fail_every=3)
    response = await client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    for _ in range(100):  # bounded: 100 × 0.05 s
        if (await response.json())["status"] == "completed":
            break
        await asyncio.sleep(0.05)
        response = await client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.select(0)
    errors = await page.wait_until(
        "const rows = [...document.querySelectorAll('#detail-errors tr')].map((r) => r.cells[1].textContent);"
        "return rows.length === 2 ? rows : null;"
    )
    assert sorted(errors) == ["item 2 is bad", "item 5 is bad"]
