"""The Data Sources API over real HTTP, against the sandbox provider."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.sandbox.seed import API_KEY_ACCOUNTS, MANAGER_SUB_ACCOUNTS
from relink.status import GrantStatus
from tests.fixtures.app_server import signed_in
from tests.fixtures.data_sources import reload_grant, wait_until
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER_SUBJECT = "sbx-user-1001"
HARBOR = "harbor@sandbox.test"


def _login(url: str, who: str) -> httpx.Client:
    return signed_in(url, f"{who}@demo.relink.test", DEMO_PASSWORD)


def _rows(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/data-sources", params={"limit": 100, **params})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _id_of(client: httpx.Client, client_name: str, **params: str) -> int:
    (row,) = _rows(client, q=client_name, **params)
    return int(row["id"])


def _manager_revoked(sandbox: SandboxServer) -> bool:
    return any(f.revoked for f in sandbox.state.families.values() if f.subject == MANAGER_SUBJECT)


def test_the_list_shows_disconnected_first(app_url: str, sandbox: SandboxServer) -> None:
    admin = _login(app_url, "admin")
    sandbox.add_fault("revoke_grant", grant=HARBOR)
    sweep_now(admin)

    statuses = [r["status"] for r in _rows(admin, sort="status")]

    assert statuses[:3] == ["disconnected"] * 3
    assert set(statuses[3:]) == {"connected"} and len(statuses) == 15


def test_a_row_names_client_provider_account_and_grant(app_url: str) -> None:
    admin = _login(app_url, "admin")

    (row,) = _rows(admin, q="acme")

    assert row["client_name"] == "Acme Dental"
    assert row["provider_name"] == "Sandbox Ads"
    assert row["external_account_name"] == MANAGER_SUB_ACCOUNTS[0].name
    assert row["grant_identity_name"] == "manager@sandbox.test"
    assert row["complete_through"] and row["status"] == "connected"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"auth_kind": "api_key"}, 4),
        ({"provider": "sandbox"}, 11),
        ({"q": "call tracking"}, 4),
        ({"status": "paused"}, 0),
    ],
)
def test_the_list_filters(app_url: str, params: dict[str, str], expected: int) -> None:
    assert len(_rows(_login(app_url, "admin"), **params)) == expected


def test_pages_follow_the_cursor_without_gaps_or_repeats(app_url: str) -> None:
    admin = _login(app_url, "admin")
    everything = [r["id"] for r in _rows(admin, sort="client")]
    seen: list[int] = []
    cursor: str | None = None

    while True:
        params: dict[str, Any] = {"sort": "client", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/api/data-sources", params=params)
        seen += [r["id"] for r in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == everything and len(seen) == 15


def test_limited_staff_see_only_their_clients_and_get_404_elsewhere(app_url: str) -> None:
    admin, limited = _login(app_url, "admin"), _login(app_url, "limited")
    other = _id_of(admin, "Bluebird")

    names = {r["client_name"] for r in _rows(limited)}

    assert names == {"Acme Dental", "Juniper Florist"}
    assert limited.get(f"/api/data-sources/{other}").status_code == 404
    assert (
        limited.post(
            f"/api/data-sources/{other}/disconnect", json={"confirm": "Bluebird Bakery"}
        ).status_code
        == 404
    )


def test_a_client_user_cannot_disconnect(app_url: str) -> None:
    own = _id_of(_login(app_url, "admin"), "Acme Dental")

    answer = _login(app_url, "client").post(
        f"/api/data-sources/{own}/disconnect", json={"confirm": "Acme Dental"}
    )

    assert answer.status_code == 403


def test_a_key_with_a_space_inside_is_refused_with_its_reason(app_url: str) -> None:
    admin = _login(app_url, "admin")
    source = _id_of(admin, "Indigo Spa", auth_kind="api_key")
    key = API_KEY_ACCOUNTS[0].demo_api_key

    answer = admin.post(
        f"/api/data-sources/{source}/credentials", json={"api_key": key[:15] + " " + key[15:]}
    )

    assert answer.status_code == 422
    assert answer.json()["reason"] == "whitespace"
    assert key not in answer.text


def test_a_key_with_spaces_around_is_saved(app_url: str) -> None:
    admin = _login(app_url, "admin")
    source = _id_of(admin, "Indigo Spa", auth_kind="api_key")

    answer = admin.post(
        f"/api/data-sources/{source}/credentials",
        json={"api_key": f"  {API_KEY_ACCOUNTS[0].demo_api_key} "},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "connected"


def test_disconnect_needs_the_client_name_and_restore_brings_it_back(app_url: str) -> None:
    admin = _login(app_url, "admin")
    source = _id_of(admin, "Acme Dental")
    preview = admin.get(f"/api/data-sources/{source}/removal").json()

    wrong = admin.post(f"/api/data-sources/{source}/disconnect", json={"confirm": "Acme"})
    removed = admin.post(f"/api/data-sources/{source}/disconnect", json={"confirm": "acme dental"})
    restored = admin.post(f"/api/data-sources/{source}/restore")

    assert preview["confirm_with"] == "Acme Dental" and preview["days_of_data"] == 90
    assert wrong.status_code == 422 and "Acme Dental" in wrong.json()["detail"]
    assert removed.json()["status"] == "removed" and removed.json()["purge_on"]
    assert restored.json()["status"] == "connected"


def test_pause_resume_and_sync(app_url: str) -> None:
    admin = _login(app_url, "admin")
    source = _id_of(admin, "Golden Gym")

    paused = admin.post(f"/api/data-sources/{source}/pause").json()
    refused = admin.post(f"/api/data-sources/{source}/sync")
    resumed = admin.post(f"/api/data-sources/{source}/resume").json()
    synced = admin.post(f"/api/data-sources/{source}/sync")

    assert paused["status"] == "paused" and resumed["status"] == "connected"
    assert refused.status_code == 422 and "resume it first" in refused.json()["detail"]
    assert synced.status_code == 202


async def test_removing_one_of_eight_keeps_the_grant_and_the_last_one_revokes_it(
    app_url: str, sandbox: SandboxServer, session: AsyncSession, demo: Demo
) -> None:
    admin = _login(app_url, "admin")
    shared = [r for r in _rows(admin, provider="sandbox") if r["grant_id"] == demo.shared_grant_id]
    assert len(shared) == 8
    first, rest = shared[0], shared[1:]

    # One of eight goes: nothing is revoked and the other seven keep importing.
    admin.post(
        f"/api/data-sources/{first['id']}/disconnect", json={"confirm": first["client_name"]}
    ).raise_for_status()
    sweep_now(admin)
    assert not _manager_revoked(sandbox)
    imported = sandbox.state.stats.api_requests_by_account
    assert all(imported[r["external_account_id"]] > 0 for r in rest)
    assert imported[first["external_account_id"]] == 0
    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.ACTIVE

    # The last one goes: the refresh token is revoked at the provider and the grant ends.
    for row in rest:
        admin.post(
            f"/api/data-sources/{row['id']}/disconnect", json={"confirm": row["client_name"]}
        ).raise_for_status()
    wait_until(lambda: _manager_revoked(sandbox), what="the revocation at the sandbox")
    for _ in range(100):
        if (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.REVOKED:
            break
        await asyncio.sleep(0.05)
    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.REVOKED


def test_a_cursor_from_another_sort_is_refused_not_a_server_error(app_url: str) -> None:
    admin = _login(app_url, "admin")
    cursor = admin.get("/api/data-sources", params={"limit": 2}).json()["next_cursor"]

    answer = admin.get("/api/data-sources", params={"sort": "client", "cursor": cursor})

    assert answer.status_code == 422 and "cursor" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "broken"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"client_id": "-3"}, "client_id"),
        ({"auth_kind": "password"}, "auth_kind"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_parameter_to_fix(
    app_url: str, params: dict[str, str], named: str
) -> None:
    admin = _login(app_url, "admin")

    answer = admin.get("/api/data-sources", params=params)

    assert answer.status_code == 422
    assert named in answer.text


@pytest.mark.parametrize("text", ["50% off", "O'Brien", "acme' OR '1'='1", "_%\\"])
def test_a_search_with_quotes_or_wildcards_finds_only_its_own_text(app_url: str, text: str) -> None:
    admin = _login(app_url, "admin")

    assert _rows(admin, q=text) == []
