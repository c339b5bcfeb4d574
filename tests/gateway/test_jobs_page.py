"""The Jobs web page in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium) against the real gateway, coordinator, PostgreSQL and in-process workers.

Selenium blocks, and the gateway under test runs on this test's event loop, so every browser call
goes through a thread (``JobsPage.call``) while the loop keeps serving the page's requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import (
    GEOCODING_FILTERS,
    ClientFactory,
    Sessions,
    WorkerFactory,
    bearer,
    create_job,
    delayed_job,
    fetch_job,
    household,
    seed_households,
)
from parcel_samples import collection, feature, polygon, square
from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import func, select
from tus_client import create as tus_create
from tus_client import patch as tus_patch
from voterfiles import Voter, encode, sample_voters, simple_csv_lines

from cocoa_common.ids import utcnow
from cocoa_common.models import ResumableUpload
from cocoa_common.models import Voter as VoterRow
from cocoa_common.settings import Settings
from cocoa_gateway.auth import FORBIDDEN, issue_token
from cocoa_gateway.repository import GatewayRepository
from cocoa_geocoder.server import GeocoderApp
from cocoa_importer.server import ImporterApp

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
    # Before any script of each page: note what its Content-Security-Policy refused.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})
    try:
        yield driver
    finally:
        driver.quit()


RECORD_CSP_VIOLATIONS = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    "  (e) => window.cspViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));"
)


def voter_file(folder: Path, voters: list[Voter]) -> Path:
    """A simple_csv voter file of ``voters`` in ``folder``."""
    path = folder / "people.csv"
    path.write_bytes(encode(simple_csv_lines(voters), encoding="utf-8"))
    return path


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
        # Once /me answers, the admin panels appear and the layout below them moves: a click aimed
        # before that can land on whatever moved into its place. Go on once the page knows who is
        # signed in, or has said why not.
        await self.wait_until(
            "return document.getElementById('whoami').textContent"
            " || document.getElementById('login-error').textContent"
        )

    async def script(self, source: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, source, *args)

    async def wait_until(self, source: str, *args: Any) -> Any:
        """The script's first truthy result, polled for at most WAIT_S."""
        wait = WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1)
        return await self.call(wait.until, lambda d: d.execute_script(source, *args))

    async def click(self, css: str) -> None:
        """Click ``css`` once it is clickable. The page re-renders its tables as they refresh, so an
        element replaced between being found and being clicked is found again, and one that a
        moving layout put under another element for a moment is clicked again."""
        wait = WebDriverWait(
            self.driver,
            WAIT_S,
            poll_frequency=0.1,
            ignored_exceptions=(StaleElementReferenceException, ElementClickInterceptedException),
        )
        clickable = expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, css))

        def clicked(driver: WebDriver) -> bool:
            element = clickable(driver)
            if not element:
                return False
            element.click()
            return True

        await self.call(wait.until, clicked)

    async def accept_confirmation(self, answer: str | None = None) -> str:
        """Accept the confirm() or prompt() that opens (typing ``answer`` into a prompt); its text."""
        wait = WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1)
        alert = await self.call(wait.until, expected_conditions.alert_is_present())
        text = alert.text
        if answer is not None:
            await self.call(alert.send_keys, answer)
        await self.call(alert.accept)
        return text

    async def listed(self, count: int) -> list[list[str]]:
        """The job rows (type, status, ...) once there are ``count`` of them."""
        return await self.rows("#jobs", count)

    async def rows(self, table_body: str, count: int) -> list[list[str]]:
        """The cells' text of the rows of ``table_body`` once there are ``count`` of them."""
        rows: list[list[str]] = await self.wait_until(
            "const rows = [...document.querySelectorAll(arguments[0] + ' tr')].map("
            "  (r) => [...r.cells].map((c) => c.textContent));"
            "return rows.length === arguments[1] ? rows : null;",
            table_body,
            count,
        )
        return rows

    async def open_only_job(self, token: str) -> None:
        """Sign in and show the details of the one job listed."""
        await self.sign_in(token)
        await self.listed(1)
        await self.select(0)

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

    async def choose(self, css: str, value: str) -> None:
        element = await self.call(self.driver.find_element, By.CSS_SELECTOR, css)
        await self.call(Select(element).select_by_value, value)

    async def type_into(self, css: str, text: str) -> None:
        element = await self.call(self.driver.find_element, By.CSS_SELECTOR, css)
        await self.call(element.clear)
        await self.call(element.send_keys, text)

    async def fill_geocoding_form(self, token: str, fields: dict[str, str]) -> None:
        """Sign in, open the geocoding form and type ``fields`` (input name -> text) into it."""
        await self.sign_in(token)
        await self.click("#start-geocoding summary")
        for name, text in fields.items():
            await self.type_into(f"#geocode-form input[name={name}]", text)

    async def upload_voters(self, path: Path, voter_format: str) -> None:
        """Fill in and send the voter-file form (opening its panel if it is closed)."""
        await self.script("document.getElementById('start-voters').open = true")
        await self.wait_until("return document.querySelectorAll('#voter-format option').length > 1")
        await self.choose("#voter-format", voter_format)
        await self.type_into("#voter-form input[type=file]", str(path))
        await self.click("#voter-form button[type=submit]")

    async def outcome(self, form: str) -> str:
        """The sentence under a start form once it has one other than a step under way ('Uploading…')."""
        return await self.wait_until(
            "const text = document.querySelector(arguments[0] + ' .outcome').textContent;"
            "return text && !text.endsWith('…') ? text : null;",
            form,
        )

    async def set_time(self, css: str, seconds_from_now: float, step_s: int = 60) -> str:
        """Put a time ``seconds_from_now``, rounded down to ``step_s`` (a form's datetime-local input
        takes whole minutes), into a datetime-local input as the browser's local time; the same time
        in UTC as the API shows it."""
        return await self.script(
            "const step = arguments[2] * 1000;"
            "const t = new Date(Math.floor((Date.now() + arguments[1] * 1000) / step) * step);"
            "const local = new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 19);"
            "document.querySelector(arguments[0]).value = local;"
            "document.querySelector(arguments[0]).dispatchEvent(new Event('change'));"
            "return t.toISOString();",
            css,
            seconds_from_now,
            step_s,
        )

    async def started_job_id(self, form: str) -> str:
        """The id of the job a start form just created, from its sentence "Job <id> created…"."""
        return (await self.outcome(form)).split()[1]

    async def enabled(self, css: str) -> bool:
        return bool(await self.script("return !document.querySelector(arguments[0]).disabled", css))


async def policy_kept(page: JobsPage) -> AsyncIterator[JobsPage]:
    """The page for a test, which then checks that its Content-Security-Policy refused nothing."""
    yield page
    violations = await page.script("return window.cspViolations || []")
    assert violations == [], f"the page's Content-Security-Policy refused {violations}"


@pytest.fixture
async def page(browser: WebDriver, client: TestClient) -> AsyncIterator[JobsPage]:
    async for kept in policy_kept(JobsPage(browser, client)):
        yield kept


@pytest.fixture
async def import_page(browser: WebDriver, import_client: TestClient) -> AsyncIterator[JobsPage]:
    """The page of a gateway whose importer is real."""
    async for kept in policy_kept(JobsPage(browser, import_client)):
        yield kept


@pytest.fixture
async def full_page(
    browser: WebDriver,
    make_client: ClientFactory,
    import_settings: Settings,
    importer_app: ImporterApp,
    geocoder_app: GeocoderApp,
) -> AsyncIterator[JobsPage]:
    """The page of a gateway whose importer and geocoder are both real."""
    client = await make_client(
        import_settings,
        importer_grpc_addr=f"127.0.0.1:{importer_app.port}",
        geocoder_grpc_addr=f"127.0.0.1:{geocoder_app.port}",
    )
    async for kept in policy_kept(JobsPage(browser, client)):
        yield kept


@pytest.fixture
async def geo_page(browser: WebDriver, geo_client: TestClient) -> AsyncIterator[JobsPage]:
    """The page of a gateway whose geocoder is real."""
    async for kept in policy_kept(JobsPage(browser, geo_client)):
        yield kept


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


async def test_older_and_newer_page_through_more_than_fifty_jobs(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    for _ in range(53):
        await create_job(client, admin_token)
    await page.sign_in(admin_token)
    await page.listed(50)
    assert await page.script("return document.getElementById('page').textContent") == "1–50 of 53"
    assert not await page.enabled("#newer")
    await page.click("#older")
    await page.listed(3)
    assert await page.script("return document.getElementById('page').textContent") == "51–53 of 53"
    assert not await page.enabled("#older")
    await page.click("#newer")
    await page.listed(50)


async def test_selecting_a_job_shows_its_details_and_input(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await create_job(client, admin_token, items=7)
    await page.open_only_job(admin_token)
    await page.detail("Id", job["id"])
    await page.detail("Status", "pending")
    await page.detail("Created by", "Admin User <admin@example.com>")
    shown = await page.wait_until("return document.getElementById('detail-data').textContent")
    assert json.loads(shown) == json.loads(job["data"])


async def test_the_details_show_the_job_s_attempts_and_time_limit(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, "maxAttempts": 5, "timeoutSeconds": 7200}
    assert (await client.post("/api/v1/jobs", json=body, headers=bearer(admin_token))).status == 201
    await page.open_only_job(admin_token)
    await page.detail("Attempt", "0 of 5")
    await page.detail("Time limit", "2.0 h")


async def test_pause_and_resume_buttons_move_the_job(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await create_job(client, admin_token)
    await page.open_only_job(admin_token)
    await page.detail("Status", "pending")
    await page.click("[data-action=pause]")
    await page.detail("Status", "paused")
    assert await page.enabled("[data-action=resume]")
    await page.click("[data-action=resume]")
    await page.detail("Status", "pending")
    fetched = await fetch_job(client, admin_token, job["id"])
    assert fetched["status"] == "pending"


async def test_the_details_show_the_job_s_history_newest_first(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await create_job(client, admin_token)
    await page.open_only_job(admin_token)
    await page.click("[data-action=pause]")
    await page.detail("Status", "paused")
    rows = await page.rows("#detail-history", 2)
    assert [row[1:] for row in rows] == [["paused", "", "Admin User"], ["created", "", "Admin User"]]


async def test_cancel_asks_first_and_leaves_only_retry_enabled(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await create_job(client, admin_token)
    await page.open_only_job(admin_token)
    await page.click("[data-action=cancel]")
    assert await page.accept_confirmation() == "Cancel this job?"
    await page.detail("Status", "cancelled")
    for css in ("[data-action=pause]", "[data-action=resume]", "[data-action=cancel]", "#set-priority"):
        assert not await page.enabled(css)
    assert await page.enabled("#retry")
    assert not await page.enabled("#retry-resume")  # it never ran: no checkpoint to carry on from


async def test_retry_opens_the_new_job_linked_to_the_cancelled_one(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    source = await create_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{source['id']}", headers=bearer(admin_token))
    await page.open_only_job(admin_token)
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
    await page.open_only_job(admin_token)
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
    await page.open_only_job(admin_token)
    errors = await page.wait_until(
        "const rows = [...document.querySelectorAll('#detail-errors tr')].map((r) => r.cells[1].textContent);"
        "return rows.length === 2 ? rows : null;"
    )
    assert sorted(errors) == ["item 2 is bad", "item 5 is bad"]


# ---- starting jobs from the page ------------------------------------------------------------


async def test_the_voter_form_offers_the_importer_s_formats(import_page: JobsPage, admin_token: str) -> None:
    await import_page.sign_in(admin_token)
    await import_page.click("#start-voters summary")
    formats = await import_page.wait_until(
        "const ids = [...document.querySelectorAll('#voter-format option')].map((o) => o.value);"
        "return ids.length > 1 ? ids : null;"
    )
    assert {"auto", "ncsbe", "florida", "ohio_swvf", "washington_vrdb", "simple_csv", "csv_mapped"} <= set(
        formats
    )
    assert await import_page.script("return document.getElementById('voter-format').value") == "auto"


async def test_uploading_a_voter_file_starts_an_import_and_opens_its_job(
    import_page: JobsPage, admin_token: str, tmp_path: Path
) -> None:
    voters = sample_voters(5, seed=3)
    path = voter_file(tmp_path, voters)
    await import_page.sign_in(admin_token)
    await import_page.upload_voters(path, "simple_csv")
    assert (await import_page.outcome("#voter-form")).startswith("Job ")
    await import_page.detail("Type", "voter_import")
    await import_page.detail("Status", "completed")
    await import_page.detail("Progress", f"100% · {len(voters)} processed, 0 failed of {len(voters)}")


async def test_an_upload_the_gateway_refuses_shows_its_reason_and_starts_nothing(
    import_page: JobsPage, import_client: TestClient, admin_token: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.exe"
    path.write_bytes(b"firstname,lastname\nAda,Lovelace\n")
    await import_page.sign_in(admin_token)
    await import_page.upload_voters(path, "simple_csv")
    assert (await import_page.outcome("#voter-form")).startswith(
        'Invalid file extension for format "simple_csv". Expected: .csv'
    )
    listed = await (await import_client.get("/api/v1/jobs", headers=bearer(admin_token))).json()
    assert listed["total"] == 0


async def test_a_refused_import_keeps_the_file_and_the_corrected_form_does_not_send_it_again(
    import_page: JobsPage, admin_token: str, tmp_path: Path, sessions: Sessions
) -> None:
    path = voter_file(tmp_path, sample_voters(4, seed=5))
    await import_page.sign_in(admin_token)
    await import_page.upload_voters(path, "ncsbe")
    assert await import_page.outcome("#voter-form") == (
        'Invalid file extension for format "ncsbe". Expected: .txt, .tsv'
        " The file stays uploaded: correct the form and start again."
    )
    await import_page.choose("#voter-format", "simple_csv")
    await import_page.click("#voter-form button[type=submit]")
    assert (await import_page.outcome("#voter-form")).startswith("Job ")
    await import_page.detail("Status", "completed")
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(ResumableUpload))).scalar_one() == 1


async def test_an_upload_cut_off_before_a_reload_carries_on_from_the_server_s_offset(
    import_page: JobsPage, import_client: TestClient, admin_token: str, tmp_path: Path, sessions: Sessions
) -> None:
    path = voter_file(tmp_path, sample_voters(50, seed=9))
    data = path.read_bytes()
    # An earlier page sent half of the file before its tab was closed.
    tus = {**bearer(admin_token), "Tus-Resumable": "1.0.0"}
    created = await import_client.post("/api/v1/uploads", headers={**tus, "Upload-Length": str(len(data))})
    location = created.headers["Location"]
    piece = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert (await import_client.patch(location, data=data[: len(data) // 2], headers=piece)).status == 204
    await import_page.sign_in(admin_token)
    await import_page.script("document.getElementById('start-voters').open = true")
    await import_page.wait_until("return document.querySelectorAll('#voter-format option').length > 1")
    await import_page.choose("#voter-format", "simple_csv")
    await import_page.type_into("#voter-form input[type=file]", str(path))
    await import_page.script(
        "const f = document.querySelector('#voter-form input[type=file]').files[0];"
        "const key = [f.name, f.size, f.lastModified].join('/');"
        "localStorage.setItem('cocoa.uploads', JSON.stringify({[key]: arguments[0]}));",
        location,
    )
    await import_page.click("#voter-form button[type=submit]")
    assert (await import_page.outcome("#voter-form")).startswith("Job ")
    await import_page.detail("Progress", "100% · 50 processed, 0 failed of 50")
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(ResumableUpload))).scalar_one() == 1
    assert await import_page.script("return localStorage.getItem('cocoa.uploads')") == "{}"


async def test_unfinished_uploads_are_listed_and_one_can_be_deleted(
    import_page: JobsPage, import_client: TestClient, admin_token: str
) -> None:
    location = await tus_create(import_client, admin_token, 2_000_000, "county.txt")
    await tus_patch(import_client, admin_token, location, 0, b"x" * 500_000)
    await import_page.sign_in(admin_token)
    [row] = await import_page.rows("#uploads", 1)
    assert row[:2] == ["county.txt", "0.5 MB of 2.0 MB (25 %)"]
    assert await import_page.script(
        "return !document.getElementById('uploads-section').classList.contains('hidden')"
    )
    await import_page.click(f"#uploads button[data-delete-upload='{location.rsplit('/', 1)[1]}']")
    assert (
        await import_page.accept_confirmation() == "Delete the upload of county.txt? Its bytes are removed."
    )
    await import_page.wait_until(
        "return document.getElementById('uploads-section').classList.contains('hidden')"
    )
    assert (await import_client.get(location, headers=bearer(admin_token))).status == 404


async def test_the_audit_log_lists_what_admins_did_and_filters_by_action(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await create_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    await page.sign_in(admin_token)
    await page.click("#audit summary")
    rows = await page.rows("#audit-entries", 2)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("admin@example.com", "cancel_job", f"job {job['id']}"),
        ("admin@example.com", "create_job", f"job {job['id']}"),
    ]
    await page.choose("#audit-action", "create_job")
    await page.wait_until("return document.querySelectorAll('#audit-entries tr').length === 1")
    assert (await page.rows("#audit-entries", 1))[0][2] == "create_job"


async def test_the_header_says_who_is_signed_in(page: JobsPage, admin_token: str) -> None:
    await page.sign_in(admin_token)
    who = "return document.getElementById('whoami').textContent"
    assert await page.wait_until(who) == "admin@example.com · admin"
    assert await page.script("return !document.getElementById('audit-section').classList.contains('hidden')")


async def test_a_viewer_sees_no_admin_panels(page: JobsPage, viewer_token: str) -> None:
    await page.sign_in(viewer_token)
    assert await page.wait_until("return document.getElementById('whoami').textContent") == (
        "viewer@example.com · viewer"
    )
    hidden = "return document.getElementById(arguments[0]).classList.contains('hidden')"
    assert await page.script(hidden, "audit-section")
    assert await page.script(hidden, "uploads-section")


async def test_the_households_panel_lists_households_with_their_geocodes(
    geo_page: JobsPage, admin_token: str, sessions: Sessions
) -> None:
    await seed_households(
        sessions,
        [
            household("a", full_address="1 MAIN ST, OAKLAND, CA 94612", geocoded=True, latitude=37.8, longitude=-122.27,
                      geocoding_provider="local", geocode_precision="rooftop"),
            household("b", full_address="2 MAIN ST, OAKLAND, CA 94612", geocode_error="No match"),
        ],
    )  # fmt: skip
    await geo_page.sign_in(admin_token)
    await geo_page.click("#households summary")
    rows = sorted(await geo_page.rows("#households-rows", 2))
    assert rows[0] == [
        "1 MAIN ST, OAKLAND, CA 94612",
        "OAKLAND",
        "94612",
        "0",
        "37.80000, -122.27000",
        "local · rooftop",
    ]
    assert rows[1][4:] == ["—", "No match"]
    assert (
        await geo_page.wait_until("return document.getElementById('households-page').textContent")
        == "1–2 of 2"
    )


async def test_the_households_panel_filters_by_geocoded_and_search(
    geo_page: JobsPage, admin_token: str, sessions: Sessions
) -> None:
    await seed_households(
        sessions,
        [
            household("a", full_address="1 MAIN ST, OAKLAND, CA 94612", geocoded=True, latitude=37.8, longitude=-122.27),
            household("b", full_address="2 OAK AVE, OAKLAND, CA 94612"),
        ],
    )  # fmt: skip
    await geo_page.sign_in(admin_token)
    await geo_page.click("#households summary")
    await geo_page.rows("#households-rows", 2)
    await geo_page.choose("#hh-geocoded", "false")
    assert (await geo_page.rows("#households-rows", 1))[0][0] == "2 OAK AVE, OAKLAND, CA 94612"
    await geo_page.choose("#hh-geocoded", "")
    await geo_page.type_into("#hh-search", "MAIN")
    assert (await geo_page.rows("#households-rows", 1))[0][0] == "1 MAIN ST, OAKLAND, CA 94612"


async def test_the_households_panel_pages_through_more_than_fifty(
    geo_page: JobsPage, admin_token: str, sessions: Sessions
) -> None:
    await seed_households(sessions, [household(f"h-{i:02}", house_number=str(i)) for i in range(55)])
    await geo_page.sign_in(admin_token)
    await geo_page.click("#households summary")
    await geo_page.rows("#households-rows", 50)
    page_text = "return document.getElementById('households-page').textContent"
    assert await geo_page.wait_until(page_text) == "1–50 of 55"
    await geo_page.click("#households-older")
    await geo_page.rows("#households-rows", 5)
    assert await geo_page.wait_until(page_text) == "51–55 of 55"
    assert not await geo_page.enabled("#households-older")


def voter(household_id: int | None, voter_id: str, first: str, **fields: Any) -> VoterRow:
    """A stored voter of an NC import (the importer's own columns)."""
    now = utcnow()
    values: dict[str, Any] = {"source": "ncsbe", "source_voter_id": voter_id, "first_name": first, "last_name": "LEE",
                              "residential_address": "1 MAIN ST", "city": "OAKLAND", "state": "CA", "zip_code": "94612",
                              "household_id": household_id, "created_at": now, "updated_at": now}  # fmt: skip
    values.update(fields)
    return VoterRow(**values)


async def seed(sessions: Sessions, rows: list[Any]) -> list[Any]:
    async with sessions.begin() as session:
        session.add_all(rows)
    return rows


async def test_the_voters_panel_lists_the_voters_whose_address_formed_no_household(
    import_page: JobsPage, admin_token: str, sessions: Sessions
) -> None:
    await seed(sessions, [
        voter(None, "AA1", "ANN", residential_address="PO BOX 5", address_flag="po_box", address_flag_reason="a PO box"),
        voter(None, "AA2", "BEN"),
    ])  # fmt: skip
    await import_page.sign_in(admin_token)
    await import_page.click("#voters summary")
    await import_page.rows("#voters-rows", 2)
    await import_page.choose("#vt-flag", "any")
    [row] = await import_page.rows("#voters-rows", 1)
    assert (row[0], row[1], row[2], row[6]) == ("AA1", "ANN LEE", "PO BOX 5", "po_box a PO box")


async def test_a_households_people_count_opens_its_voters(
    full_page: JobsPage, admin_token: str, sessions: Sessions
) -> None:
    [home, _] = await seed(
        sessions, [household("a", full_address="1 MAIN ST, OAKLAND, CA 94612"), household("b")]
    )
    await seed(
        sessions, [voter(home.id, "AA1", "ANN"), voter(home.id, "AA2", "BEN"), voter(None, "AA3", "CAL")]
    )
    await full_page.sign_in(admin_token)
    await full_page.click("#households summary")
    await full_page.click(f"#households-rows a[data-household='{home.id}']")
    rows = await full_page.rows("#voters-rows", 2)
    assert [(r[0], r[5]) for r in rows] == [("AA1", str(home.id)), ("AA2", str(home.id))]


async def test_a_viewer_sees_counts_but_no_voters(
    geo_page: JobsPage, viewer_token: str, sessions: Sessions
) -> None:
    [home] = await seed(sessions, [household("a")])
    await seed(sessions, [voter(home.id, "AA1", "ANN")])
    await geo_page.sign_in(viewer_token)
    await geo_page.click("#households summary")
    [row] = await geo_page.rows("#households-rows", 1)
    assert row[3] == "1"
    assert await geo_page.script(
        "return document.getElementById('voters-section').classList.contains('hidden')"
    )
    assert not await geo_page.script("return document.querySelector('#households-rows a')")


async def test_a_token_is_revoked_from_the_page(
    page: JobsPage, client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    async with sessions.begin() as session:
        other = await issue_token(GatewayRepository(session), admin[0])
    await page.sign_in(admin[1])
    await page.click("#tokens summary")
    rows = await page.rows("#token-rows", 2)
    assert [r[0].endswith("this page") for r in rows] == [False, True]
    await page.click("#token-rows tr:first-child button")
    assert (await page.accept_confirmation()).endswith("Every client using it stops working.")
    await page.rows("#token-rows", 1)
    assert (await client.get("/api/v1/me", headers=bearer(other))).status == 401


async def test_revoking_the_pages_own_token_signs_it_out(page: JobsPage, admin_token: str) -> None:
    await page.sign_in(admin_token)
    await page.click("#tokens summary")
    await page.rows("#token-rows", 1)
    await page.click("#token-rows button")
    assert (await page.accept_confirmation()).endswith("This page uses it: you will be signed out.")
    reason = await page.wait_until("return document.getElementById('login-error').textContent")
    assert reason == "You revoked the token this page used. Paste another."


async def test_a_file_larger_than_one_piece_is_sent_in_pieces_and_imported(
    import_page: JobsPage, admin_token: str, tmp_path: Path
) -> None:
    voters = sample_voters(3000, seed=8)
    lines = simple_csv_lines(voters)
    notes = "x" * 3000  # ~9 MB in all: more than one 8 MiB piece
    path = tmp_path / "people.csv"
    path.write_bytes(
        encode([lines[0] + ",notes", *(line + "," + notes for line in lines[1:])], encoding="utf-8")
    )
    assert path.stat().st_size > 8 * 1024 * 1024
    await import_page.sign_in(admin_token)
    await import_page.upload_voters(path, "simple_csv")
    assert (await import_page.outcome("#voter-form")).startswith("Job ")
    await import_page.detail("Status", "completed")
    await import_page.detail("Progress", "100% · 3000 processed, 0 failed of 3000")


async def test_uploading_a_parcel_file_starts_a_parcel_import(
    import_page: JobsPage, admin_token: str, tmp_path: Path
) -> None:
    parcels = collection(
        feature(
            {"APN": f"100-{i}", "SITUS": f"{i} MAIN ST"}, polygon(square(-78.6 + i * 0.001, 35.7, 0.0005))
        )
        for i in range(3)
    )
    path = tmp_path / "parcels.geojson"
    path.write_text(json.dumps(parcels))
    await import_page.sign_in(admin_token)
    await import_page.click("#start-parcels summary")
    await import_page.type_into("#parcel-form input[name=source]", "wake")
    await import_page.type_into("#parcel-form input[type=file]", str(path))
    await import_page.click("#parcel-form button[type=submit]")
    assert (await import_page.outcome("#parcel-form")).startswith("Job ")
    await import_page.detail("Type", "parcel_import")
    await import_page.detail("Status", "completed")
    await import_page.detail("Progress", "100% · 3 processed, 0 failed of 3")


async def test_the_parcels_panel_lists_imported_parcels_and_finds_one_by_apn(
    import_page: JobsPage, admin_token: str, tmp_path: Path
) -> None:
    features = (
        feature(
            {"APN": f"100-{i}", "SITUS": f"{i} MAIN ST"}, polygon(square(-78.6 + i * 0.001, 35.7, 0.0005))
        )
        for i in range(3)
    )
    path = tmp_path / "parcels.geojson"
    path.write_text(json.dumps(collection(features)))
    await import_page.sign_in(admin_token)
    await import_page.click("#start-parcels summary")
    await import_page.type_into("#parcel-form input[type=file]", str(path))
    await import_page.click("#parcel-form button[type=submit]")
    await import_page.detail("Status", "completed")
    await import_page.click("#parcels summary")
    await import_page.rows("#parcels-rows", 3)
    await import_page.type_into("#pc-apn", "100-1")
    [row] = await import_page.rows("#parcels-rows", 1)
    assert (row[0], row[1], row[4], row[5]) == ("100-1", "1 MAIN ST", "35.70025, -78.59875", "0")


async def test_the_geocoding_form_starts_a_job_for_the_matching_households(
    geo_page: JobsPage, admin_token: str, sessions: Sessions
) -> None:
    await seed_households(sessions, [household(f"oak-{i}", house_number=str(i)) for i in range(3)])
    await geo_page.fill_geocoding_form(admin_token, {"city": "oakland", "limit": "2"})
    await geo_page.wait_until("return document.querySelectorAll('#geocode-provider option').length > 1")
    await geo_page.choose("#geocode-provider", "local")
    await geo_page.click("#geocode-form button[type=submit]")
    assert (await geo_page.outcome("#geocode-form")).endswith(
        " created for 2 of 3 households; start another for the other 1."
    )
    await geo_page.detail("Type", "geocode_households")
    data = json.loads(await geo_page.wait_until("return document.getElementById('detail-data').textContent"))
    assert (data["filters"], data["limit"], data["skipGeocoded"]) == ({"city": "oakland"}, 2, True)
    assert data["providerId"] == "local"


async def test_the_geocoding_form_offers_the_geocoder_s_providers(
    geo_page: JobsPage, admin_token: str
) -> None:
    await geo_page.sign_in(admin_token)
    await geo_page.click("#start-geocoding summary")
    offered = await geo_page.wait_until(
        "const options = [...document.querySelectorAll('#geocode-provider option')];"
        "return options.length > 1 ? options.map((o) => [o.value, o.textContent]) : null;"
    )
    assert offered[0] == ["", "the configured fallback chain"]
    assert ["local", "local (offline, in the chain)"] in offered
    assert ["census", "census (online, only when chosen)"] in offered


async def test_geocoding_without_a_filter_shows_the_reason(geo_page: JobsPage, admin_token: str) -> None:
    await geo_page.sign_in(admin_token)
    await geo_page.click("#start-geocoding summary")
    await geo_page.click("#geocode-form button[type=submit]")
    assert await geo_page.outcome("#geocode-form") == (
        "At least one filter must be provided (city, state, zipCode, county, precinctNumber)"
    )


async def test_a_viewer_is_told_why_a_job_does_not_start(geo_page: JobsPage, viewer_token: str) -> None:
    await geo_page.fill_geocoding_form(viewer_token, {"state": "CA"})
    await geo_page.click("#geocode-form button[type=submit]")
    assert await geo_page.outcome("#geocode-form") == FORBIDDEN


async def test_geocoding_can_be_scheduled_to_start_later(
    geo_page: JobsPage, geo_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await seed_households(sessions, [household("oak-1")])
    await geo_page.fill_geocoding_form(admin_token, {"city": "oakland"})
    later = await geo_page.set_time("#geocode-form input[name=runAt]", 3 * 3600)
    await geo_page.click("#geocode-form button[type=submit]")
    outcome = await geo_page.outcome("#geocode-form")
    job_id = outcome.split()[1]
    job = await fetch_job(geo_client, admin_token, job_id)
    assert (job["status"], job["notBefore"]) == ("pending", later)
    shown = await geo_page.wait_until(f"return (() => {{ {DETAIL_FIELD} }})()", "Not before")
    assert shown not in (None, "—")
    row = (await geo_page.listed(1))[0]
    assert row[1].startswith("pending not before ")


async def test_a_voter_upload_can_be_scheduled_to_start_later(
    import_page: JobsPage, import_client: TestClient, admin_token: str, tmp_path: Path
) -> None:
    path = voter_file(tmp_path, sample_voters(3, seed=5))
    await import_page.sign_in(admin_token)
    await import_page.click("#start-voters summary")
    later = await import_page.set_time("#voter-form input[name=runAt]", 5 * 3600)
    await import_page.upload_voters(path, "simple_csv")
    job_id = await import_page.started_job_id("#voter-form")
    job = await fetch_job(import_client, admin_token, job_id)
    assert (job["status"], job["notBefore"]) == ("pending", later)


async def test_geocoding_can_wait_for_another_job_and_its_row_says_so(
    geo_page: JobsPage, geo_client: TestClient, admin_token: str
) -> None:
    first = await delayed_job(geo_client, admin_token)
    await geo_page.fill_geocoding_form(admin_token, {"city": "durham", "dependsOn": first["id"]})
    await geo_page.click("#geocode-form button[type=submit]")
    job_id = await geo_page.started_job_id("#geocode-form")
    job = await fetch_job(geo_client, admin_token, job_id)
    assert job["waitingFor"] == [first["id"]]
    await geo_page.detail("Runs after", f"{first['id']} (not completed yet)")
    rows = await geo_page.listed(2)
    assert rows[0][1] == f"pending waiting for {first['id']}"


async def test_a_waiting_job_s_priority_is_set_from_its_details(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await delayed_job(client, admin_token)
    await page.open_only_job(admin_token)
    await page.detail("Priority", "0")
    await page.type_into("#priority-value", "-5")
    await page.click("#set-priority")
    await page.detail("Priority", "-5")
    fetched = await fetch_job(client, admin_token, job["id"])
    assert fetched["priority"] == -5
    # The list refreshes after the details.
    await page.wait_until(
        "return document.querySelector('#jobs tr').cells[1].textContent.endsWith('priority -5')"
    )


async def test_a_priority_being_typed_is_not_undone_when_the_details_are_shown_afresh(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await delayed_job(client, admin_token)
    await page.open_only_job(admin_token)
    await page.detail("Priority", "0")
    typed = await page.script(
        "const input = document.getElementById('priority-value');"
        "input.value = '';"  # cleared, as a user starts typing, and not focused
        "return loadDetail(state.selected).then(() => input.value);"  # the details shown afresh
    )
    assert typed == ""


async def test_a_delayed_job_is_run_now_from_its_details(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await delayed_job(client, admin_token)
    await page.open_only_job(admin_token)
    assert await page.enabled("#promote")
    await page.click("#promote")
    await page.wait_until("return document.getElementById('promote').disabled")
    fetched = await fetch_job(client, admin_token, job["id"])
    assert fetched["notBefore"] is None


async def test_the_geocoding_form_sends_its_priority(
    geo_page: JobsPage, geo_client: TestClient, admin_token: str
) -> None:
    first = await delayed_job(geo_client, admin_token)
    fields = {"city": "durham", "dependsOn": first["id"], "priority": "30"}
    await geo_page.fill_geocoding_form(admin_token, fields)
    await geo_page.click("#geocode-form button[type=submit]")
    job_id = await geo_page.started_job_id("#geocode-form")
    job = await fetch_job(geo_client, admin_token, job_id)
    assert job["priority"] == 30


async def test_the_geocoding_form_sends_its_start_by_time_attempts_time_limit_and_group(
    geo_page: JobsPage, geo_client: TestClient, admin_token: str
) -> None:
    first = await delayed_job(geo_client, admin_token)
    fields = {
        "city": "durham",
        "dependsOn": first["id"],
        "maxAttempts": "2",
        "timeoutMinutes": "90",
        "group": "Durham County",
    }
    await geo_page.fill_geocoding_form(admin_token, fields)
    start_by = await geo_page.set_time("#geocode-form input[name=expiresAt]", 2 * 3600)
    await geo_page.click("#geocode-form button[type=submit]")
    job_id = await geo_page.started_job_id("#geocode-form")
    job = await fetch_job(geo_client, admin_token, job_id)
    assert (job["expiresAt"], job["maxAttempts"], job["timeoutSeconds"]) == (start_by, 2, 5400)
    assert job["group"] == "Durham County"
    await geo_page.detail("Group", "Durham County")


async def test_a_voter_upload_sends_its_attempts_and_time_limit(
    import_page: JobsPage, import_client: TestClient, admin_token: str, tmp_path: Path
) -> None:
    path = voter_file(tmp_path, sample_voters(3, seed=6))
    await import_page.sign_in(admin_token)
    await import_page.click("#start-voters summary")
    await import_page.type_into("#voter-form input[name=maxAttempts]", "4")
    await import_page.type_into("#voter-form input[name=timeoutMinutes]", "15")
    await import_page.upload_voters(path, "simple_csv")
    job_id = await import_page.started_job_id("#voter-form")
    job = await fetch_job(import_client, admin_token, job_id)
    assert (job["maxAttempts"], job["timeoutSeconds"]) == (4, 900)


async def test_the_created_from_filter_narrows_the_list_and_cancel_matching_to_newer_jobs(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    older = await delayed_job(client, admin_token)
    await page.sign_in(admin_token)
    await page.listed(1)
    await asyncio.sleep(1.1)  # the filter's input holds whole seconds
    since = await page.set_time("#filter-from", 0, step_s=1)
    newer = await delayed_job(client, admin_token)
    await page.wait_until("return document.getElementById('total').textContent === '1 matching'")
    await page.click("#bulk-cancel")
    await page.accept_confirmation()
    assert await page.wait_until("return document.getElementById('bulk-outcome').textContent || null") == (
        "Cancelled 1 job."
    )
    assert newer["createdAt"] >= since
    assert [(await fetch_job(client, admin_token, j["id"]))["status"] for j in (older, newer)] == [
        "pending",
        "cancelled",
    ]


async def test_cancel_matching_cancels_the_jobs_the_filter_shows_and_says_how_many(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    for _ in range(2):
        await create_job(client, admin_token)
    await page.sign_in(admin_token)
    await page.listed(2)
    await page.choose("#filter-status", "pending")
    await page.click("#bulk-cancel")
    assert await page.accept_confirmation() == (
        "Cancel the unfinished jobs that match the filter (up to 200 at a time)?"
    )
    assert await page.wait_until("return document.getElementById('bulk-outcome').textContent || null") == (
        "Cancelled 2 jobs."
    )
    await page.choose("#filter-status", "cancelled")
    assert [row[1] for row in await page.listed(2)] == ["cancelled", "cancelled"]


async def test_run_delayed_now_promotes_the_delayed_jobs_the_filter_shows(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    job = await delayed_job(client, admin_token)
    await page.sign_in(admin_token)
    await page.listed(1)
    await page.click("#bulk-promote")
    assert await page.accept_confirmation() == (
        "Run now the delayed jobs that match the filter (up to 200 at a time)?"
    )
    assert await page.wait_until("return document.getElementById('bulk-outcome').textContent || null") == (
        "Promoted 1 job."
    )
    fetched = await fetch_job(client, admin_token, job["id"])
    assert fetched["notBefore"] is None


async def test_the_queues_show_their_jobs_and_a_queue_can_be_paused_and_resumed(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await create_job(client, admin_token, "geocoding")
    await page.sign_in(admin_token)
    geocoding_row = "const row = [...document.querySelectorAll('#queues tr')].find((r) => r.cells[0].textContent === 'geocoding');"
    cells = await page.wait_until(
        geocoding_row + "return row ? [...row.cells].map((c) => c.textContent) : null;"
    )
    assert cells[:3] == ["geocoding", "1", "0"]
    await page.click("#queues button[data-queue=geocoding]")
    assert (await page.accept_confirmation()).startswith("Pause the geocoding queue?")
    paused = await page.wait_until(
        geocoding_row
        + "return row && row.cells[8].textContent.startsWith('paused since') ? row.cells[8].textContent : null;"
    )
    assert paused.endswith("by Admin User Resume")
    queues = await (await client.get("/api/v1/queues", headers=bearer(admin_token))).json()
    assert [q["paused"] for q in queues["queues"] if q["type"] == "geocoding"] == [True]
    await page.click("#queues button[data-queue=geocoding]")
    await page.wait_until(geocoding_row + "return row && row.cells[8].textContent === 'Pause';")


async def test_a_group_is_listed_and_can_be_paused_and_resumed(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, "group": "wake"}
    assert (await client.post("/api/v1/jobs", json=body, headers=bearer(admin_token))).status == 201
    await page.sign_in(admin_token)
    wake_row = "const row = [...document.querySelectorAll('#groups tr')].find((r) => r.cells[0].textContent === 'wake');"
    cells = await page.wait_until(wake_row + "return row ? [...row.cells].map((c) => c.textContent) : null;")
    assert cells == ["wake", "1", "0", "0", "Pause"]
    await page.click("#groups button[data-group=wake]")
    assert (await page.accept_confirmation()).startswith("Pause group wake?")
    paused = await page.wait_until(
        wake_row
        + "return row && row.cells[4].textContent.startsWith('paused since') ? row.cells[4].textContent : null;"
    )
    assert paused.endswith("by Admin User Resume")
    groups = await (await client.get("/api/v1/groups", headers=bearer(admin_token))).json()
    assert [g["paused"] for g in groups["groups"]] == [True]
    await page.click("#groups button[data-group=wake]")
    await page.wait_until(wake_row + "return row && row.cells[4].textContent === 'Pause';")


async def test_the_workers_are_listed_and_one_can_be_drained(
    page: JobsPage, client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    runtime = await start_worker()
    await page.sign_in(admin_token)
    worker_row = f"const row = [...document.querySelectorAll('#workers tr')].find((r) => r.cells[0].textContent === '{runtime.worker_id}');"
    cells = await page.wait_until(
        worker_row + "return row ? [...row.cells].map((c) => c.textContent) : null;"
    )
    assert cells[1:4] == ["test", "geocoding, voter_import", "0 of 2"]
    await page.click(f"#workers button[data-worker='{runtime.worker_id}']")
    assert (await page.accept_confirmation()).startswith(f"Drain worker {runtime.worker_id}?")
    await page.wait_until(
        worker_row + "return row && row.cells[5].textContent === 'draining Take jobs again';"
    )
    workers = await (await client.get("/api/v1/workers", headers=bearer(admin_token))).json()
    assert [w["draining"] for w in workers["workers"]] == [True]


async def test_a_queue_s_concurrency_is_changed_from_the_page(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await page.sign_in(admin_token)
    geocoding_row = "const row = [...document.querySelectorAll('#queues tr')].find((r) => r.cells[0].textContent === 'geocoding');"
    await page.wait_until(geocoding_row + "return row && row.cells[9].textContent === '1 Change';")
    await page.click("#queues button[data-concurrency=geocoding]")
    assert (await page.accept_confirmation("4")).startswith("How many geocoding jobs may run at once")
    await page.wait_until(geocoding_row + "return row && row.cells[9].textContent === '4 (set) Change';")
    queues = await (await client.get("/api/v1/queues", headers=bearer(admin_token))).json()
    assert [q["concurrency"] for q in queues["queues"] if q["type"] == "geocoding"] == [4]


async def test_a_geocoding_schedule_is_created_listed_paused_and_deleted_from_the_page(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await page.sign_in(admin_token)
    await page.click("#new-schedule summary")
    await page.type_into("#schedule-form input[name=name]", "Nightly Durham")
    await page.type_into("#schedule-form input[name=timezone]", "America/New_York")
    await page.type_into("#schedule-form input[name=city]", "Durham")
    await page.click("#schedule-form button[type=submit]")
    assert (await page.outcome("#schedule-form")).startswith("Schedule created; next run ")
    listed = await (await client.get("/api/v1/schedules", headers=bearer(admin_token))).json()
    [schedule] = listed["schedules"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "America/New_York")
    assert json.loads(schedule["data"])["filters"] == {"city": "Durham"}
    row = await page.wait_until(
        "const row = document.querySelector('#schedules tr');"
        "return row ? [...row.cells].map((c) => c.textContent) : null;"
    )
    assert row[:3] == ["Nightly Durham", "0 2 * * * (America/New_York)", 'geocoding {"city":"Durham"}']
    await page.click(f"#schedules button[data-schedule='{schedule['id']}']")
    await page.wait_until("return document.querySelector('#schedules tr').cells[3].textContent === 'paused';")
    await page.click(f"#schedules button[data-delete-schedule='{schedule['id']}']")
    assert await page.accept_confirmation() == "Delete the schedule Nightly Durham? The jobs it created stay."
    await page.wait_until("return document.querySelectorAll('#schedules tr').length === 0;")


async def test_the_schedule_form_sends_its_jobs_priority_limits_start_within_and_group(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    await page.sign_in(admin_token)
    await page.click("#new-schedule summary")
    fields = {
        "name": "Nightly Wake",
        "city": "Raleigh",
        "priority": "5",
        "maxAttempts": "2",
        "timeoutMinutes": "30",
        "startWithinMinutes": "120",
        "group": "wake",
    }
    for name, text in fields.items():
        await page.type_into(f"#schedule-form input[name={name}]", text)
    await page.click("#schedule-form button[type=submit]")
    assert (await page.outcome("#schedule-form")).startswith("Schedule created; next run ")
    [schedule] = (await (await client.get("/api/v1/schedules", headers=bearer(admin_token))).json())[
        "schedules"
    ]
    chosen = ("priority", "maxAttempts", "timeoutSeconds", "expiresAfterSeconds", "group")
    assert [schedule[k] for k in chosen] == [5, 2, 1800, 7200, "wake"]


async def test_the_search_box_narrows_the_list(page: JobsPage, client: TestClient, admin_token: str) -> None:
    await create_job(client, admin_token, "geocoding", filters={"city": "Durham"})
    await create_job(client, admin_token, "geocoding", filters={"city": "Raleigh"})
    await page.sign_in(admin_token)
    await page.listed(2)
    await page.type_into("#filter-search", "raleigh")
    await page.listed(1)
    await page.select(0)
    assert "Raleigh" in await page.wait_until(
        "return document.getElementById('detail-data').textContent || null"
    )


async def test_the_group_filter_narrows_the_list_and_cancel_matching_to_that_group(
    page: JobsPage, client: TestClient, admin_token: str
) -> None:
    for group in ("wake", "wake-county", "durham"):
        body = {"type": "geocoding", "data": GEOCODING_FILTERS, "group": group}
        assert (await client.post("/api/v1/jobs", json=body, headers=bearer(admin_token))).status == 201
    await page.sign_in(admin_token)
    await page.listed(3)
    await page.type_into("#filter-group", "wake")
    await page.listed(1)  # exactly the group, not every group holding the text
    await page.click("#bulk-cancel")
    await page.accept_confirmation()
    assert await page.wait_until("return document.getElementById('bulk-outcome').textContent || null") == (
        "Cancelled 1 job."
    )
    listed = await (await client.get("/api/v1/jobs?status=cancelled", headers=bearer(admin_token))).json()
    assert [job["group"] for job in listed["jobs"]] == ["wake"]


async def test_the_upload_message_says_how_far_how_fast_and_how_long_is_left(
    import_page: JobsPage, admin_token: str
) -> None:
    await import_page.sign_in(admin_token)
    said = await import_page.script(
        "const say = uploadSpeed(1e8); const start = performance.now();"
        "performance.now = () => start + 10000;"  # ten seconds later
        "return say(0.5);"
    )
    assert said == "Uploading 50 % · 5.0 MB/s · about 10 s left…"
