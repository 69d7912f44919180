"""Issue 20: Sign in with FusionSolar in a real browser, through the simulator's consent page.

Application credentials (the simulator's client ID and secret) are added through the
websocket API, as Settings → Application credentials would; then the owner walks the
flow: Add integration → Sign in with FusionSolar → host → FusionSolar's login and consent
page (a popup, closed by the integration's callback) → back in Home Assistant, plant
selection → a working entry. The host is a simulator of today's cloud: OAuth exists
nowhere else (the V500R007 reference has none, nor its plant list ``/thirdData/stations``).
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from dev.bootstrap import HomeAssistantApi
from tests.simulator.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_OWNER

from .conftest import Instance, OAuthCloud
from .helpers import entries, shot

POPUP_WAIT_MS = 10_000


def add_credentials(instance: Instance) -> None:
    """The client ID and secret Huawei issued (here: the simulator's)."""
    existing = instance.ws("application_credentials/list")
    if any(item["domain"] == "fusionsolar" for item in existing):
        return
    instance.ws(
        "application_credentials/create",
        domain="fusionsolar",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        name="FusionSolar simulator",
    )


def remove_entry(instance: Instance, entry_id: str) -> None:
    """Delete a config entry, as its menu's Delete does."""

    async def call(api: HomeAssistantApi) -> Any:
        return await api.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")

    instance.api(call)


def owner_grants(cloud: OAuthCloud) -> list[dict[str, Any]]:
    """The simulator's grants of the consent page's owner (admin view, no tokens)."""
    with urllib.request.urlopen(f"{cloud.url}/_sim/oauth", timeout=10) as resp:
        grants: list[dict[str, Any]] = json.load(resp)["grants"]
    return [grant for grant in grants if grant["owner"] == DEFAULT_OWNER[0]]


def test_item20_oauth_sign_in_with_fusionsolar_in_the_browser(
    page: Page, instance: Instance, oauth_cloud: OAuthCloud, screenshots: Path
) -> None:
    add_credentials(instance)
    before = {entry["entry_id"] for entry in entries(instance)}
    page.goto(f"{instance.url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_role("textbox", name="Search for a brand name").fill("FusionSolar")
    page.locator("ha-integration-list-item", has_text="Huawei FusionSolar").click()
    shot(page, screenshots, "oauth-menu.png")
    page.get_by_text("Sign in with FusionSolar (plant owner)").click()

    page.get_by_role("textbox", name="Host").fill(oauth_cloud.url)
    shot(page, screenshots, "oauth-host.png")
    # The frontend opens FusionSolar's page itself; else the "Open website" button does.
    try:
        with page.expect_popup(timeout=POPUP_WAIT_MS) as opened:
            page.get_by_role("button", name="Submit").click()
        consent = opened.value
    except PlaywrightTimeout:  # a blocked window.open: open it by hand
        with page.expect_popup() as opened:
            page.get_by_text("Open website").click()
        consent = opened.value

    consent.wait_for_load_state()
    expect(consent.get_by_text("asks for access to your plants")).to_be_visible()
    consent.locator("#username").fill(DEFAULT_OWNER[0])
    consent.locator("#password").fill(DEFAULT_OWNER[1])
    consent.screenshot(path=screenshots / "oauth-consent.png")
    consent.locator("#authorize").click()  # 302 to Home Assistant's callback, which closes

    expect(page.get_by_text("Choose the plants to add.")).to_be_visible(timeout=30_000)
    expect(page.locator("dialog-data-entry-flow ha-formfield")).to_have_count(oauth_cloud.plants)
    if not consent.is_closed():  # the callback page closes the popup
        consent.wait_for_event("close")
    shot(page, screenshots, "oauth-plants.png")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Created configuration for")).to_be_visible()
    page.get_by_role("button", name="Finish").click()

    added = [entry for entry in entries(instance) if entry["entry_id"] not in before]
    assert len(added) == 1
    assert added[0]["title"].startswith("FusionSolar owner")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = next(e["state"] for e in entries(instance) if e["entry_id"] == added[0]["entry_id"])
        if state == "loaded":
            break
        time.sleep(1)
    assert state == "loaded"

    # Removing the entry revokes the authorization (§3.1.5.2). It also keeps the owner's
    # plants out of the walkthrough: their history import follows the owner's daily
    # budget (hours), the Energy dashboard test waits for every plant's history.
    remove_entry(instance, added[0]["entry_id"])
    assert [grant["revoked"] for grant in owner_grants(oauth_cloud)] == [True]
