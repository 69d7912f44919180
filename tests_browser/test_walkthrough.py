"""A homeowner's walk through the integration in a real browser, with screenshots.

In order: add a second account through the config flow, start a forced charge from
Developer tools → Actions, read yesterday on the Energy dashboard (it waits for the
history import), write and save an automation with a FusionSolar action in the
automation editor and trigger it, and look at the plant's device page after a reload.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from dev.bootstrap import async_switch_to_imported

from .conftest import Instance, SecondAccount
from .helpers import entries, shot

DOMAIN = "fusionsolar"
PLANT_MODEL = "FusionSolar plant"
HISTORY_WAIT = 600.0


def settings_row(page: Page, heading: str) -> Locator:
    """The form row of a service field, by its name."""
    rows = page.locator("ha-settings-row")
    for index in range(rows.count()):
        if rows.nth(index).inner_text().splitlines()[0].strip() == heading:
            return rows.nth(index)
    raise AssertionError(f"no field {heading!r}")


def plant_devices(instance: Instance, entry_id: str) -> dict[str, str]:
    """Plant devices of a config entry: name → device id."""
    devices = instance.ws("config/device_registry/list")
    return {
        device["name"]: device["id"]
        for device in devices
        if entry_id in device["config_entries"] and device["model"] == PLANT_MODEL
    }


def test_config_flow_adds_an_account(
    page: Page, instance: Instance, second_account: SecondAccount, screenshots: Path
) -> None:
    """Settings → Add integration → host, credentials → plant selection → done."""
    before = {entry["entry_id"] for entry in entries(instance)}
    page.goto(f"{instance.url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_role("textbox", name="Search for a brand name").fill("FusionSolar")
    page.locator("ha-integration-list-item", has_text="Huawei FusionSolar").click()
    page.get_by_text("Northbound API account (user name and password)").click()

    page.get_by_role("textbox", name="Host").fill(second_account.url)
    page.get_by_role("textbox", name="Username").fill(second_account.username)
    page.get_by_role("textbox", name="Password").fill(second_account.password)
    shot(page, screenshots, "config-flow-account.png")
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_text("Choose the plants to add.")).to_be_visible()
    options = page.locator("dialog-data-entry-flow ha-formfield")
    expect(options).to_have_count(second_account.plants)
    skipped = options.last.inner_text().strip()
    options.last.locator("ha-checkbox").click()
    shot(page, screenshots, "config-flow-plants.png")
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_text("Created configuration for")).to_be_visible()
    shot(page, screenshots, "config-flow-done.png")
    page.get_by_role("button", name="Finish").click()

    added = [entry for entry in entries(instance) if entry["entry_id"] not in before]
    assert len(added) == 1
    # Keep the run short: import 2 days of history instead of 30 (as Configure would).
    instance.api(lambda api: api.set_history_days(added[0]["entry_id"], 2))
    assert added[0]["title"].startswith(second_account.username)
    deadline = time.monotonic() + 60
    names = set(plant_devices(instance, added[0]["entry_id"]))
    while len(names) < second_account.plants - 1 and time.monotonic() < deadline:
        time.sleep(1)
        names = set(plant_devices(instance, added[0]["entry_id"]))
    assert len(names) == second_account.plants - 1
    assert skipped not in names


def wait_until_available(instance: Instance, device_id: str, seconds: float = 180) -> None:
    """Wait until no enabled entity of the device is unavailable (quota retries settle)."""
    registry = instance.ws("config/entity_registry/list")
    ids = {
        entity["entity_id"]
        for entity in registry
        if entity["device_id"] == device_id and not entity["disabled_by"]
    }
    deadline = time.monotonic() + seconds
    while True:
        states = instance.api(lambda api: api.states())
        missing = [
            s["entity_id"] for s in states if s["entity_id"] in ids and s["state"] == "unavailable"
        ]
        if not missing:
            return
        assert time.monotonic() < deadline, f"still unavailable: {missing}"
        time.sleep(5)


def _first_entry(instance: Instance) -> dict[str, Any]:
    return next(entry for entry in entries(instance) if entry["title"].startswith("nbi_user"))


def _sim_calls(url: str, endpoint: str) -> int:
    with urllib.request.urlopen(f"{url}/_sim/calls", timeout=10) as resp:
        summary = json.load(resp)["summary"]["per_endpoint"]
    return int(summary.get(endpoint, 0))


def test_forced_charge_from_developer_tools(
    page: Page, instance: Instance, screenshots: Path
) -> None:
    """Developer tools → Actions → Forced charge of Plant 1 to 90 % at 3 kW."""
    services = instance.api(lambda api: api.request("GET", "/api/services"))
    ours: dict[str, Any] = next(
        (item["services"] for item in services if item["domain"] == DOMAIN), {}
    )
    if "forced_charge" not in ours:
        pytest.skip("fusionsolar.forced_charge is not registered (services not built yet)")
    endpoint = "/rest/openapi/pvms/v1/vpp/chargeAndDischarge"
    calls = _sim_calls(instance.stack.sim_url, endpoint)

    page.set_viewport_size({"width": 1280, "height": 1200})
    try:
        page.goto(f"{instance.url}/developer-tools/action?service={DOMAIN}.forced_charge")
        page.locator("ha-device-picker").first.click()
        page.keyboard.type("Plant 1")
        page.get_by_role("option", name="Plant 1").click()
        soc = settings_row(page, "Target state of charge")
        soc.locator("ha-checkbox").click()
        soc.locator("input[type=number]").fill("90")
        power = settings_row(page, "Power")
        power.locator("ha-checkbox").click()
        power.locator("input[type=number]").fill("3000")
        page.get_by_role("button", name="Perform action").click()
        expect(page.get_by_text("request_id")).to_be_visible()
        shot(page, screenshots, "service-call.png")
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})
    assert _sim_calls(instance.stack.sim_url, endpoint) == calls + 1


def _yesterday_hours(instance: Instance, statistic_id: str) -> int:
    tz = ZoneInfo(instance.ws("get_config")["time_zone"])
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    stats = instance.ws(
        "recorder/statistics_during_period",
        start_time=(today - timedelta(days=1)).isoformat(),
        end_time=today.isoformat(),
        statistic_ids=[statistic_id],
        period="hour",
        types=["change"],
    )
    return len(stats.get(statistic_id, []))


def test_energy_dashboard(page: Page, instance: Instance, screenshots: Path) -> None:
    """Yesterday on the Energy dashboard, from the imported history."""
    switched = instance.api(
        lambda api: async_switch_to_imported(instance.url, instance.token, HISTORY_WAIT)
    )
    assert switched, "the history import did not cover every plant"
    prefs = instance.ws("energy/get_prefs")
    solar = [s["stat_energy_from"] for s in prefs["energy_sources"] if s["type"] == "solar"]
    assert solar
    assert all(stat.startswith(f"{DOMAIN}:") for stat in solar)
    deadline = time.monotonic() + HISTORY_WAIT
    while any(_yesterday_hours(instance, stat) < 24 for stat in solar):
        assert time.monotonic() < deadline, "yesterday's history was not imported"
        time.sleep(5)

    page.goto(f"{instance.url}/energy")
    expect(page.get_by_text("Solar production").first).to_be_visible()
    page.get_by_role("button", name="Previous").first.click()
    expect(page.get_by_text("Energy distribution")).to_be_visible()
    shot(page, screenshots, "energy-dashboard.png")


AUTOMATION_EVENT = "fusionsolar_browser_test"
CHARGE_ENDPOINT = "/rest/openapi/pvms/v1/vpp/chargeAndDischarge"


def automation_yaml(device_id: str) -> str:
    """An automation that starts a forced charge of a plant when an event fires."""
    return "\n".join(
        (
            "alias: Charge Plant 2 on request",
            "description: Written by the browser test",
            "triggers:",
            "  - trigger: event",
            f"    event_type: {AUTOMATION_EVENT}",
            "conditions: []",
            "actions:",
            "  - action: fusionsolar.forced_charge",
            "    data:",
            f"      device_id: {device_id}",
            "      target_soc: 80",
            "      power: 2000",
            "    response_variable: charge",
            "mode: single",
            "",
        )
    )


def _automation_state(instance: Instance, automation_id: str) -> dict[str, Any] | None:
    states = instance.api(lambda api: api.states())
    return next(
        (
            state
            for state in states
            if state["entity_id"].startswith("automation.")
            and state["attributes"].get("id") == automation_id
        ),
        None,
    )


def _wait_for[T](what: str, read: Callable[[], T | None], seconds: float = 120) -> T:
    deadline = time.monotonic() + seconds
    while (value := read()) is None or value is False:
        assert time.monotonic() < deadline, what
        time.sleep(2)
    return value


def test_automation_with_a_fusionsolar_action(
    page: Page, instance: Instance, screenshots: Path
) -> None:
    """Settings → Automations → new, in YAML: save it, fire its trigger, the charge starts."""
    plants = plant_devices(instance, _first_entry(instance)["entry_id"])
    page.goto(f"{instance.url}/config/automation/edit/new")
    editor = page.locator("ha-automation-editor")
    editor.get_by_role("button", name="Menu").first.click()
    page.get_by_text("Edit in YAML").click()
    code = editor.locator("ha-code-editor .cm-content")
    code.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(automation_yaml(plants["Plant 2"]))
    shot(page, screenshots, "automation-editor.png")
    editor.get_by_role("button", name="Save").click()
    page.locator("ha-dialog").get_by_role("button", name=re.compile("^(Save|Rename)$")).click()
    page.wait_for_url(re.compile(r"/config/automation/edit/\d+$"))
    automation_id = page.url.rsplit("/", 1)[-1]
    state = _wait_for(
        "the saved automation was not loaded",
        lambda: _automation_state(instance, automation_id),
        60,
    )
    assert state["state"] == "on"

    calls = _sim_calls(instance.stack.sim_url, CHARGE_ENDPOINT)
    instance.api(lambda api: api.request("POST", f"/api/events/{AUTOMATION_EVENT}", json={}))
    # The control call waits for its quota slot (one a minute) when the slot is taken.
    _wait_for(
        "the automation's forced charge did not reach the cloud",
        lambda: _sim_calls(instance.stack.sim_url, CHARGE_ENDPOINT) > calls,
    )

    def finished_run() -> dict[str, Any] | None:
        runs = instance.ws("trace/list", domain="automation", item_id=automation_id)
        return next((run for run in runs if run.get("state") == "stopped"), None)

    run = _wait_for("the automation did not finish", finished_run, 60)
    assert run["script_execution"] == "finished", run
    assert _automation_state(instance, automation_id)["attributes"]["last_triggered"]


def _reload_entry(instance: Instance, entry_id: str) -> None:
    instance.api(
        lambda api: api.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
    )


def _device_states(instance: Instance, device_id: str) -> dict[str, dict[str, Any]]:
    """The states of a device's enabled entities, by translation key."""
    registry = instance.ws("config/entity_registry/list")
    keys = {
        entity["entity_id"]: entity.get("translation_key") or entity["entity_id"]
        for entity in registry
        if entity["device_id"] == device_id and not entity["disabled_by"]
    }
    states = instance.api(lambda api: api.states())
    return {keys[s["entity_id"]]: s for s in states if s["entity_id"] in keys}


ALARM_AND_DISPATCH_KEYS = ("alarms", "active_alarms", "major_alarms", "dispatch_status")


def test_device_page(page: Page, instance: Instance, screenshots: Path) -> None:
    """A plant's device page after a reload: power flow, energy, alarms and dispatch state.

    An alarm raised at the simulator just before the reload is reported as an event; no
    alarm or dispatch entity shows unknown or unavailable afterwards.
    """
    entry_id = _first_entry(instance)["entry_id"]
    plants = plant_devices(instance, entry_id)
    request = urllib.request.Request(
        f"{instance.stack.sim_url}/_sim/alarms",
        data=json.dumps({"plantCode": 0, "alarmId": 2032}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert json.load(resp)
    _reload_entry(instance, entry_id)

    def alarm_reported() -> dict[str, dict[str, Any]] | None:
        states = _device_states(instance, plants["Plant 1"])
        event = states.get("alarms", {})
        return states if event.get("attributes", {}).get("alarm_name") else None

    states = _wait_for("the raised alarm was not reported after the reload", alarm_reported)
    shown = {key: states[key]["state"] for key in ALARM_AND_DISPATCH_KEYS if key in states}
    assert set(shown) == set(ALARM_AND_DISPATCH_KEYS), shown
    assert not {"unknown", "unavailable"} & set(shown.values()), shown
    assert shown["active_alarms"] == "on"
    wait_until_available(instance, plants["Plant 1"])
    page.set_viewport_size({"width": 1280, "height": 1500})
    try:
        page.goto(f"{instance.url}/config/devices/device/{plants['Plant 1']}")
        expect(page.get_by_text("PV power").first).to_be_visible()
        for name in ("Battery state of charge", "Grid power", "Total energy"):
            expect(page.get_by_text(name).first).to_be_visible()
        shot(page, screenshots, "device-page.png")
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})
