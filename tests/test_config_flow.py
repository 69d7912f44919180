"""Config flow: user, plants, reauth, reconfigure and options, against the simulator."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.fusionsolar.account import async_get_registry
from custom_components.fusionsolar.api import FusionSolarClient
from custom_components.fusionsolar.const import (
    CONF_HISTORY_DAYS,
    CONF_LEGACY_URL,
    CONF_PLANTS,
    CONF_POLL_ALARMS,
    CONF_POLL_DEVICES,
    CONF_V7_URL,
    DOMAIN,
)
from tests.conftest import PLANT, entry_for
from tests.conftest import setup_integration as setup_entry
from tests.simulator import Account, Simulator

LEGACY_LOGIN = "/thirdData/login"
V7_LOGIN = "/rest/openapi/pvms/v1/login"
ALARMS = "/thirdData/getAlarmList"


#: A second account of the simulator, and the user step's fields that sign in with it.
SECOND = Account(username="second", password="pw2")
SECOND_LOGIN = {CONF_USERNAME: SECOND.username, CONF_PASSWORD: SECOND.password}


def user_input(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    """The user step's form as a user fills it in for the simulator."""
    return {
        CONF_HOST: sim.url,
        CONF_USERNAME: sim.username,
        CONF_PASSWORD: sim.password,
        "advanced": {CONF_VERIFY_SSL: False},
        **overrides,
    }


async def start_user_flow(hass: HomeAssistant) -> str:
    """Choose "API account" in the first step's menu (issue 20 added the menu)."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["account", "oauth"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "account"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "account"
    return str(result["flow_id"])


async def submit_unreachable_host(hass: HomeAssistant, flow_id: str) -> dict[str, str]:
    """Fill in the user step with a host nothing listens on; return the form's errors."""
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_HOST: "http://127.0.0.1:9",
            CONF_USERNAME: "user",
            CONF_PASSWORD: "pass",
            "advanced": {},
        },
    )
    return dict(result["errors"])


async def test_user_flow_creates_entry(hass: HomeAssistant, simulator_factory: Any) -> None:
    sim: Simulator = await simulator_factory(plants=3)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(sim))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "plants"

    chosen = [sim.plants[0].code, sim.plants[2].code]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PLANTS: chosen})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_HOST: sim.url,
        CONF_USERNAME: sim.username,
        CONF_PASSWORD: sim.password,
        CONF_VERIFY_SSL: False,
    }
    assert result["options"][CONF_PLANTS] == chosen
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    # The flow's login and plant list are reused by the setup: one login per family.
    assert sim.calls.count(endpoint=LEGACY_LOGIN) == 1
    assert sim.calls.count(endpoint=V7_LOGIN) == 1
    assert sim.calls.count(endpoint="/rest/openapi/pvms/v1/plants") == 1
    assert sim.calls.count(fail_code=407) == 0


async def test_user_flow_keeps_advanced_urls(hass: HomeAssistant, simulator: Simulator) -> None:
    flow_id = await start_user_flow(hass)
    form = user_input(simulator)
    form["advanced"][CONF_V7_URL] = f"  {simulator.url}  "
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PLANTS: [simulator.plants[0].code]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_V7_URL] == simulator.url


@pytest.mark.parametrize(
    ("endpoint", "kind", "options", "error"),
    [
        (LEGACY_LOGIN, "fail_code", {"fail_code": 20001}, "invalid_auth"),
        (LEGACY_LOGIN, "fail_code", {"fail_code": 407}, "quota_exceeded"),
        (LEGACY_LOGIN, "quota_403", {}, "quota_exceeded"),
        (LEGACY_LOGIN, "fail_code", {"fail_code": 401}, "no_permission"),
        # A portal host answers HTML or 404 on every path.
        (None, "html", {}, "not_nbi_host"),
        (None, "http_status", {"status": 404}, "not_nbi_host"),
        (None, "malformed_json", {}, "cannot_connect"),
    ],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    endpoint: str | None,
    kind: str,
    options: dict[str, Any],
    error: str,
) -> None:
    simulator.faults.add(endpoint, kind, count=0, **options)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    # Once the cloud behaves, a minute later (the login quota) the same form goes through.
    simulator.faults.clear()
    freezer.tick(61)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert not result.get("errors")
    assert result["step_id"] == "plants"
    assert simulator.calls.count(fail_code=407) == (1 if options.get("fail_code") == 407 else 0)


async def test_user_flow_wrong_password(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(simulator, **{CONF_PASSWORD: "wrong"})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    freezer.tick(61)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert result["step_id"] == "plants"


async def test_user_flow_retry_within_a_minute_is_refused_locally(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(simulator, **{CONF_PASSWORD: "wrong"})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    logins = simulator.calls.count(endpoint=LEGACY_LOGIN)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert result["errors"] == {"base": "quota_exceeded"}
    # The governor said "wait" without sending a second login within the minute.
    assert simulator.calls.count(endpoint=LEGACY_LOGIN) == logins
    assert simulator.calls.count(fail_code=407) == 0


async def test_user_flow_cannot_connect(hass: HomeAssistant, socket_enabled: None) -> None:
    flow_id = await start_user_flow(hass)
    assert await submit_unreachable_host(hass, flow_id) == {"base": "cannot_connect"}


async def test_user_flow_no_plants(hass: HomeAssistant, simulator_factory: Any) -> None:
    sim: Simulator = await simulator_factory(
        accounts=[Account(username="installer", password="pw", plants=[])]
    )
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(sim, **{CONF_USERNAME: "installer", CONF_PASSWORD: "pw"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_plants"


async def test_user_flow_requires_a_plant(hass: HomeAssistant, simulator: Simulator) -> None:
    flow_id = await start_user_flow(hass)
    await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PLANTS: []})
    assert result["errors"] == {"base": "no_plant_selected"}


async def test_user_flow_already_configured(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert simulator.calls.count() == 0


async def test_reauth(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    entry = entry_for(simulator)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_PASSWORD: "old-password"}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    flow_id = flows[0]["flow_id"]

    freezer.tick(61)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PASSWORD: "still-wrong"})
    assert result["errors"] == {"base": "invalid_auth"}

    freezer.tick(61)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PASSWORD: simulator.password}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == simulator.password
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    form = user_input(simulator, advanced={CONF_VERIFY_SSL: True, CONF_V7_URL: simulator.url})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    # New settings mean a new login, and the last one was less than a minute ago.
    assert result["errors"] == {"base": "quota_exceeded"}
    freezer.tick(61)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_V7_URL] == simulator.url
    assert entry.data[CONF_VERIFY_SSL] is True
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_other_account_aborts(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: Simulator
) -> None:
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, **{CONF_USERNAME: "someone_else"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


async def test_options_flow(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    sim: Simulator = await simulator_factory(plants=2)
    entry = entry_for(sim, **{CONF_PLANTS: [sim.plants[0].code]})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.plant_2_pv_power") is None

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_PLANTS: [],
            CONF_POLL_DEVICES: True,
            CONF_POLL_ALARMS: False,
            CONF_HISTORY_DAYS: 7,
        },
    )
    assert result["errors"] == {"base": "no_plant_selected"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_PLANTS: [plant.code for plant in sim.plants],
            CONF_POLL_DEVICES: False,
            CONF_POLL_ALARMS: False,
            CONF_HISTORY_DAYS: 7,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_POLL_DEVICES] is False
    assert entry.options[CONF_HISTORY_DAYS] == 7
    assert hass.states.get("sensor.plant_2_pv_power") is not None
    assert sim.calls.count(fail_code=407) == 0


# --- issue 17: never break a working entry -----------------------------------------------


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int) -> None:
    """Let simulated time pass minute by minute, running the coordinators' timers."""
    for _ in range(minutes):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def start_flow(hass: HomeAssistant, entry: MockConfigEntry, source: str) -> str:
    if source == SOURCE_REAUTH:
        result = await entry.start_reauth_flow(hass)
    else:
        result = await entry.start_reconfigure_flow(hass)
    return str(result["flow_id"])


def password_form(sim: Simulator, source: str, password: str) -> dict[str, Any]:
    if source == SOURCE_REAUTH:
        return {CONF_PASSWORD: password}
    return user_input(sim, **{CONF_PASSWORD: password})


@pytest.mark.parametrize("source", [SOURCE_RECONFIGURE, SOURCE_REAUTH])
async def test_item17_7_failed_flow_keeps_the_running_entry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    source: str,
) -> None:
    entry = init_integration
    freezer.tick(61)
    flow_id = await start_flow(hass, entry, source)
    result = await hass.config_entries.flow.async_configure(
        flow_id, password_form(simulator, source, "typo")
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert simulator.calls.count(fail_code=20400) == 1
    # The running entry loses its session right after the validation login: its next
    # login must wait for the account's login window and use the working password.
    simulator.invalidate_sessions()
    await advance(hass, freezer, 15)
    hass.config_entries.flow.async_abort(flow_id)
    await advance(hass, freezer, 15)

    assert simulator.calls.count(fail_code=20400) == 1
    assert simulator.calls.count(fail_code=407) == 0
    assert simulator.calls.count(endpoint=LEGACY_LOGIN) == 3  # setup, validation, re-login
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PASSWORD] == simulator.password
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert entry.runtime_data.plants.last_update_success
    assert entry.runtime_data.account.client.families.legacy


async def test_item17_7_successful_reconfigure_reuses_the_validation_login(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.tick(61)
    flow_id = await start_flow(hass, init_integration, SOURCE_RECONFIGURE)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.state is ConfigEntryState.LOADED
    # One login per family for the setup, one for the validation; the reload reuses it.
    assert simulator.calls.count(endpoint=LEGACY_LOGIN) == 2
    assert simulator.calls.count(endpoint=V7_LOGIN) == 2


async def test_item17_8_reconfigure_moves_the_host(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    simulator_factory: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A new host for the same account (the 2026 EU operator move) keeps the entry."""
    moved: Simulator = await simulator_factory()
    entry = init_integration
    unique_id = entry.unique_id
    hass.config_entries.async_update_entry(entry, title=f"nbi_user ({simulator.url})")
    freezer.tick(61)
    flow_id = await start_flow(hass, entry, SOURCE_RECONFIGURE)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(moved))
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_HOST] == moved.url
    assert entry.unique_id == unique_id == simulator.username
    assert entry.title == f"{moved.username} ({moved.url})"
    assert entry.state is ConfigEntryState.LOADED
    calls_before = simulator.calls.count()
    await advance(hass, freezer, 10)
    assert simulator.calls.count() == calls_before
    assert moved.calls.count(endpoint="/rest/openapi/pvms/v1/vpp/plantRealtimeKpi") >= 1


async def test_item17_8_reconfigure_to_a_host_without_the_plants_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    simulator_factory: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    other: Simulator = await simulator_factory(
        plants=2, accounts=[Account(username="nbi_user", password="nbi_pass", plants=[1])]
    )
    freezer.tick(61)
    flow_id = await start_flow(hass, init_integration, SOURCE_RECONFIGURE)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(other))
    assert result["errors"] == {CONF_HOST: "other_plants"}
    assert init_integration.data[CONF_HOST] == simulator.url
    assert init_integration.state is ConfigEntryState.LOADED


async def test_item17_8_same_user_on_another_host_is_the_same_account(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        user_input(
            simulator,
            **{CONF_HOST: "eu5.fusionsolar.huawei.com", CONF_USERNAME: " NBI_User "},
        ),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert simulator.calls.count() == 0


async def test_item17_8_migration_keys_the_entry_by_user_name(
    hass: HomeAssistant, simulator: Simulator, hass_storage: dict[str, Any]
) -> None:
    entry = legacy_entry(simulator)
    old_store = "fusionsolar.quota." + "".join(c if c.isalnum() else "_" for c in entry.unique_id)
    learned = {"version": 1, "endpoints": {ALARMS: {"learned_limit": 1}}}
    hass_storage[old_store] = {"version": 1, "minor_version": 1, "key": old_store, "data": learned}
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.unique_id == "nbi_user"
    assert entry.minor_version == 2
    assert old_store not in hass_storage
    assert hass_storage["fusionsolar.quota.nbi_user"]["data"] == learned
    assert entry.runtime_data.account.governor.limit(ALARMS) == 1


async def test_item17_9_plant_in_another_entry_is_not_offered(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(plants=2, accounts=[SECOND])
    first, second = (plant.code for plant in sim.plants)
    entry_for(sim, **{CONF_PLANTS: [first]}).add_to_hass(hass)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(sim, **SECOND_LOGIN)
    )
    assert result["step_id"] == "plants"
    selector = result["data_schema"].schema[CONF_PLANTS]
    assert [option["value"] for option in selector.config["options"]] == [second]
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(flow_id, {CONF_PLANTS: [first]})
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PLANTS: [second]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_PLANTS] == [second]


async def test_item17_9_plant_taken_while_choosing_is_named(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(plants=2, accounts=[SECOND])
    flow_id = await start_user_flow(hass)
    await hass.config_entries.flow.async_configure(flow_id, user_input(sim, **SECOND_LOGIN))
    # Meanwhile another flow added the first plant with the main account.
    entry_for(sim, **{CONF_PLANTS: [sim.plants[0].code]}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PLANTS: [plant.code for plant in sim.plants]}
    )
    assert result["errors"] == {CONF_PLANTS: "plant_configured_elsewhere"}
    assert result["description_placeholders"] == {"plants": sim.plants[0].name}


async def test_item17_9_every_plant_in_another_entry_aborts(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(plants=1, accounts=[SECOND])
    entry_for(sim).add_to_hass(hass)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(sim, **SECOND_LOGIN)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "plants_configured_elsewhere"
    assert result["description_placeholders"] == {"plants": sim.plants[0].name}


async def test_item17_9_options_do_not_offer_plants_of_another_entry(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(plants=3, accounts=[SECOND])
    codes = [plant.code for plant in sim.plants]
    entry = entry_for(sim, **{CONF_PLANTS: [codes[0]]})
    entry.add_to_hass(hass)
    other = MockConfigEntry(
        domain=DOMAIN, unique_id="second", data={}, options={CONF_PLANTS: [codes[1]]}
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    selector = result["data_schema"].schema[CONF_PLANTS]
    assert [option["value"] for option in selector.config["options"]] == [codes[0], codes[2]]

    # Taken by the other entry after the form was shown: named, nothing changes.
    hass.config_entries.async_update_entry(other, options={CONF_PLANTS: codes[1:]})
    form = {CONF_POLL_DEVICES: True, CONF_POLL_ALARMS: True, CONF_HISTORY_DAYS: 2}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PLANTS: [codes[0], codes[2]], **form}
    )
    assert result["errors"] == {CONF_PLANTS: "plant_configured_elsewhere"}
    assert result["description_placeholders"] == {"plants": sim.plants[2].name}
    assert entry.options[CONF_PLANTS] == [codes[0]]


BAD_HOSTS = ["", "   ", "::1", "host:99999", "host:-1", "host:abc", "https://", "a b.example"]


@pytest.mark.parametrize("host", BAD_HOSTS)
async def test_item17_10_unparsable_host_is_a_form_error_in_the_user_step(
    hass: HomeAssistant, simulator: Simulator, host: str
) -> None:
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(simulator, **{CONF_HOST: host})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert simulator.calls.count() == 0


@pytest.mark.parametrize("host", BAD_HOSTS)
async def test_item17_10_unparsable_host_is_a_form_error_when_reconfiguring(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: Simulator, host: str
) -> None:
    calls = simulator.calls.count()
    flow_id = await start_flow(hass, init_integration, SOURCE_RECONFIGURE)
    result = await hass.config_entries.flow.async_configure(
        flow_id, user_input(simulator, **{CONF_HOST: host})
    )
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert simulator.calls.count() == calls
    assert init_integration.data[CONF_HOST] == simulator.url


@pytest.mark.parametrize(
    ("field", "error"), [(CONF_LEGACY_URL, "invalid_legacy_url"), (CONF_V7_URL, "invalid_v7_url")]
)
@pytest.mark.parametrize("url", ["https://", "host:99999", "http://user:secret@host"])
async def test_item17_10_unparsable_advanced_url_is_a_form_error(
    hass: HomeAssistant, simulator: Simulator, field: str, error: str, url: str
) -> None:
    flow_id = await start_user_flow(hass)
    form = user_input(simulator)
    form["advanced"][field] = url
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["errors"] == {"advanced": error}
    assert simulator.calls.count() == 0


async def test_item17_13_credentials_in_the_host_never_reach_the_log(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_HOST: "http://admin:s3cr3t-in-host@127.0.0.1:9",
            CONF_USERNAME: "user",
            CONF_PASSWORD: "pass",
            "advanced": {},
        },
    )
    assert result["errors"] == {CONF_HOST: "host_credentials"}
    # Without them the host is tried (and fails); the debug log names only the host.
    assert await submit_unreachable_host(hass, flow_id) == {"base": "cannot_connect"}
    assert "Validation of 127.0.0.1 failed: CommunicationError" in caplog.text
    assert "s3cr3t" not in caplog.text
    assert "admin:" not in caplog.text


# --- issue 21: config flow coverage ------------------------------------------------------


async def test_item21_unexpected_validation_error_is_a_form_error(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    flow_id = await start_user_flow(hass)
    with patch.object(FusionSolarClient, "async_login", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while validating the account" in caplog.text


async def test_item21_options_flow_aborts_when_the_cloud_fails(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    init_integration.runtime_data.account.forget_plants()
    freezer.tick(61)
    simulator.faults.add(None, "malformed_json", count=0)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_item21_options_flow_of_an_entry_that_is_not_running_aborts(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"
    assert simulator.calls.count() == 0


async def test_item21_abandoned_user_flow_drops_its_validation_session(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    flow_id = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator))
    assert result["step_id"] == "plants"
    hass.config_entries.flow.async_abort(flow_id)
    assert async_get_registry(hass).get_existing(simulator.username) is None


def legacy_entry(sim: Simulator, **options: Any) -> MockConfigEntry:
    """A config entry as version 1.1 stored it (unique id: host and user name)."""
    entry = entry_for(sim, **options)
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        unique_id=f"{sim.url.removeprefix('http://')}|{sim.username}",
        data=dict(entry.data),
        options=dict(entry.options),
        version=1,
        minor_version=1,
    )


async def test_item17_8_migration_keeps_a_second_entry_of_the_same_user_name(
    hass: HomeAssistant, simulator: Simulator, simulator_factory: Any
) -> None:
    """Two 1.1 entries of one user name on two systems both keep working."""
    other: Simulator = await simulator_factory(
        plants=2, accounts=[Account(username="nbi_user", password="nbi_pass", plants=[1])]
    )
    first, second = legacy_entry(simulator), legacy_entry(other, plants=[other.plants[1].code])
    for entry in (first, second):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert (first.unique_id, first.state) == ("nbi_user", ConfigEntryState.LOADED)
    assert second.unique_id == f"{other.url.removeprefix('http://')}|nbi_user"
    assert second.state is ConfigEntryState.LOADED
    assert second.minor_version == 2
    assert first.runtime_data.account is not second.runtime_data.account
    assert other.calls.count(endpoint=LEGACY_LOGIN) == 1


async def test_item17_8_entry_from_a_newer_version_is_left_alone(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = legacy_entry(simulator)
    newer = MockConfigEntry(
        domain=DOMAIN, unique_id=entry.unique_id, data=dict(entry.data), version=2
    )
    newer.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(newer.entry_id)
    assert newer.state is ConfigEntryState.MIGRATION_ERROR
    assert newer.unique_id == entry.unique_id
    assert simulator.calls.count() == 0


async def test_item17_a_wrong_password_is_sent_once_until_the_user_gives_one(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """The password changed on the portal: one failed login, then none (five lock the
    account for 30 minutes) until the reauth flow brings the new one."""
    entry = await setup_entry(hass, simulator)
    simulator.accounts[simulator.username].password = "changed-on-the-portal"
    simulator.invalidate_sessions()
    since = time.time()
    await advance(hass, freezer, 45)

    logins = [
        r for r in simulator.calls.records if r.endpoint.endswith("login") and r.time >= since
    ]
    # One wrong password, not one per family or per coordinator.
    assert [r.fail_code for r in logins if r.fail_code] == [20400]
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: "changed-on-the-portal"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert result["reason"] == "reauth_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(f"{PLANT}_pv_power").state != "unavailable"
