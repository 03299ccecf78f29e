"""In Chromium: every main page works under the content security policy, and none can be framed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.fixtures.browser import browser, sign_in  # noqa: F401
from tests.fixtures.demo import Demo

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.relink.test"
# What Chromium writes to the console when the policy blocks something.
CSP_MESSAGE = re.compile(r"Content Security Policy|Refused to (execute|load|apply|connect)", re.I)


def _watch_console(page: Page) -> list[str]:
    """Every console error and every policy refusal, as the page runs."""
    seen: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error" or CSP_MESSAGE.search(message.text):
            seen.append(f"{page.url}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: seen.append(f"{page.url}: {error}"))
    return seen


def _main_pages(demo: Demo) -> list[str]:
    client_id = demo.clients[0].id
    return [
        "/data-sources",
        "/data-sources?status=connected&sort=status",
        "/data-sources/1",
        f"/clients/{client_id}",
        "/clients",
        "/inbox",
        "/connect",
        "/settings/notifications",
        "/settings/webhooks",
        "/settings/webhooks/verify",
        "/settings/providers",
        "/settings/users",
        "/settings/outbox",
        f"/grants/{demo.shared_grant_id}/reconnect",
        "/no-such-page",
    ]


def test_the_main_pages_run_without_a_policy_refusal_or_script_error(
    browser: Browser,  # noqa: F811
    live_url: str,
    demo_seeded: Demo,
) -> None:
    page = sign_in(browser, live_url, ADMIN)
    problems = _watch_console(page)

    for path in _main_pages(demo_seeded):
        page.goto(path)
        page.wait_for_load_state("load")
        # htmx (vendored) ran and was configured from its meta tag, without eval.
        assert page.evaluate("typeof htmx === 'object' && htmx.config.allowEval === false")

    # The 404 page is the only console complaint: the browser notes the 404 itself.
    assert [p for p in problems if "404" not in p] == []


def test_the_bell_and_the_settings_scripts_still_work_under_the_policy(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, ADMIN)
    problems = _watch_console(page)

    # The bell's live stream (EventSource on our own origin) answers.
    page.goto("/data-sources")
    page.get_by_role("button", name="Notifications").click()
    expect(page.locator("#bell-panel")).to_be_visible()

    # The new-user form shows only the chosen role's fields (settings.js, not inline script).
    page.goto("/settings/users")
    page.get_by_role("radio", name=re.compile("^Client")).check()
    expect(page.locator("#new-user [data-for-role='client']").first).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Staff")).check()
    expect(page.locator("#new-user [data-for-role='client']").first).to_be_hidden()

    # Deleting a webhook asks first (data-confirm), and Cancel keeps it.
    page.goto("/settings/webhooks")
    page.get_by_label("Endpoint URL").fill("https://hooks.relink.invalid/kept")
    page.get_by_role("button", name="Add endpoint").click()
    page.get_by_role("link", name="Done").click()
    questions: list[str] = []

    def dismiss(dialog: object) -> None:
        questions.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_role("button", name="Delete endpoint")).to_be_visible()
    assert questions and questions[0].startswith("Delete this endpoint")

    assert problems == []


def test_another_site_cannot_frame_the_reconnect_button(
    browser: Browser,  # noqa: F811
    live_url: str,
    demo_seeded: Demo,
) -> None:
    page = sign_in(browser, live_url, ADMIN)
    target = f"{live_url}/grants/{demo_seeded.shared_grant_id}/reconnect"

    # A page of another origin (about:blank, as an attacker's site would be) frames it.
    page.goto("about:blank")
    page.set_content(f'<iframe id="bait" src="{target}" width="600" height="400"></iframe>')
    page.wait_for_timeout(500)

    # The browser refused to render it: no button to trick anyone into, only its error page.
    expect(page.frame_locator("#bait").get_by_role("button")).to_have_count(0)
    [bait] = [frame for frame in page.frames if frame.name == "bait"]
    assert not bait.url.startswith(live_url)
