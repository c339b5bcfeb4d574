"""GET /api/v1/voters: the voters an import stored, by name or voter id, by household, or those whose
address formed no household. A real NC file imported through the gateway, the real importer and
coordinator, PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import bearer, upload_form, wait_for_status
from voterfiles import encode, ncsbe_lines, sample_voters, with_changes

VOTERS = sample_voters(6, seed=4)
PO_BOX = with_changes(
    VOTERS[0],
    voter_id="900001",
    house_number="",
    predir="",
    street_name="PO BOX 55",
    street_type="",
    unit="",
    unit_type="",
)
RENAMED = with_changes(VOTERS[1], first="HARRIET", last="TUBMAN")
NC_FILE = encode(ncsbe_lines([PO_BOX, RENAMED, *VOTERS[2:]]))


def ncid(voter_id: str) -> str:
    """The voter id an NC file gives (its ncid column)."""
    return f"AA{voter_id}"


@pytest.fixture
async def imported(import_client: TestClient, admin_token: str) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe"})
    response = await import_client.post("/api/v1/voters/import", data=form, headers=bearer(admin_token))
    job_id = (await response.json())["jobId"]
    await wait_for_status(import_client, admin_token, job_id, "completed", timeout=30)


async def voters(client: TestClient, token: str, **query: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/voters", params=query, headers=bearer(token))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_every_imported_voter_is_listed_in_import_order(
    import_client: TestClient, admin_token: str, imported: None
) -> None:
    body = await voters(import_client, admin_token)
    assert [v["voterId"] for v in body["voters"]] == [ncid(v.voter_id) for v in (PO_BOX, *VOTERS[1:])]
    assert (body["total"], body["pagination"]) == (6, {"limit": 50, "offset": 0, "remaining": 0})


async def test_a_name_is_found_in_any_case(
    import_client: TestClient, admin_token: str, imported: None
) -> None:
    body = await voters(import_client, admin_token, search="harriet tub")
    [voter] = body["voters"]
    assert (voter["firstName"], voter["lastName"], voter["voterId"]) == (
        "HARRIET",
        "TUBMAN",
        ncid(RENAMED.voter_id),
    )
    assert voter["householdId"] is not None


async def test_a_voter_id_is_found_exactly(
    import_client: TestClient, admin_token: str, imported: None
) -> None:
    body = await voters(import_client, admin_token, search=ncid(VOTERS[3].voter_id))
    assert [v["voterId"] for v in body["voters"]] == [ncid(VOTERS[3].voter_id)]


async def test_a_households_voters_are_listed(
    import_client: TestClient, admin_token: str, imported: None
) -> None:
    household_id = (await voters(import_client, admin_token, search="harriet"))["voters"][0]["householdId"]
    body = await voters(import_client, admin_token, householdId=household_id)
    assert ncid(RENAMED.voter_id) in [v["voterId"] for v in body["voters"]]
    assert {v["householdId"] for v in body["voters"]} == {household_id}


async def test_voters_whose_address_formed_no_household_are_listed_with_the_reason(
    import_client: TestClient, admin_token: str, imported: None
) -> None:
    for flag in ("any", "po_box"):
        [voter] = (await voters(import_client, admin_token, addressFlag=flag))["voters"]
        assert (voter["voterId"], voter["addressFlag"], voter["householdId"]) == (
            ncid("900001"),
            "po_box",
            None,
        )
        assert voter["addressFlagReason"]
    assert (await voters(import_client, admin_token, addressFlag="removed"))["voters"] == []


async def test_a_zip_code_filter_takes_its_characters_literally(
    import_client: TestClient, admin_token: str, imported: None
) -> None:
    zip_code = VOTERS[2].zip_code
    found = (await voters(import_client, admin_token, zipCode=zip_code))["voters"]
    assert found
    assert {v["zipCode"][:5] for v in found} == {zip_code}
    assert (await voters(import_client, admin_token, zipCode="%"))["voters"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"addressFlag": "bad"}, "addressFlag"),
        ({"householdId": "abc"}, "householdId"),
        ({"limit": "501"}, "limit"),
        ({"search": "x" * 201}, "search"),
    ],
)
async def test_a_bad_filter_is_a_400_naming_it(
    import_client: TestClient, admin_token: str, query: dict[str, str], field: str
) -> None:
    response = await import_client.get("/api/v1/voters", params=query, headers=bearer(admin_token))
    body = await response.json()
    assert (response.status, body["field"]) == (400, field), body


async def test_a_viewer_cannot_list_voters(import_client: TestClient, viewer_token: str) -> None:
    assert (await import_client.get("/api/v1/voters", headers=bearer(viewer_token))).status == 403
