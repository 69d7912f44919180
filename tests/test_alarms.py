"""Alarms: events, count sensors and the problem binary sensor against the simulator."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er

from custom_components.fusionsolar.alarms import alarm_language, restored_alarm, stored_alarm
from custom_components.fusionsolar.api import Endpoint
from custom_components.fusionsolar.api.parsers import parse_alarms
from custom_components.fusionsolar.const import CONF_POLL_ALARMS, DOMAIN
from tests.conftest import advance as _advance
from tests.conftest import entity_id_of as _entity_id
from tests.conftest import setup_integration as _setup
from tests.simulator import Simulator
from tests.simulator.pytest_plugin import SimulatorFactory

START = "2025-06-02 10:02:00+00:00"


@pytest.fixture
async def sim(simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory) -> Simulator:
    """A simulator without seeded alarms, started at a fixed time."""
    freezer.move_to(START)
    return await simulator_factory(alarm_rate_per_day=0)


def _record_events(hass: HomeAssistant, entity_id: str) -> list[dict[str, Any]]:
    """Collect the events an event entity fires (its state changes).

    A reload shows the entity unavailable, then its last event again: not a new event.
    """
    fired: list[dict[str, Any]] = []
    last: list[State] = [state] if (state := hass.states.get(entity_id)) else []

    @callback
    def on_change(event: Event[Any]) -> None:
        new = event.data["new_state"]
        if (
            event.data["entity_id"] == entity_id
            and new is not None
            and new.attributes.get("event_type") is not None
        ):
            if not last or last[-1].state != new.state or last[-1].attributes != new.attributes:
                fired.append(dict(new.attributes))
            last[:] = [new]

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    return fired


async def test_alarm_raised_and_cleared(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A new alarm fires one event and updates the sensors; clearing it too."""
    await _setup(hass, sim)
    code = sim.plants[0].code
    event_id = _entity_id(hass, "event", f"{code}_alarms")
    major_id = _entity_id(hass, "sensor", f"{code}_major_alarms")
    critical_id = _entity_id(hass, "sensor", f"{code}_critical_alarms")
    problem_id = _entity_id(hass, "binary_sensor", f"{code}_active_alarms")
    assert hass.states.get(event_id).state == STATE_UNKNOWN
    assert hass.states.get(major_id).state == "0"
    assert hass.states.get(problem_id).state == STATE_OFF
    fired = _record_events(hass, event_id)

    alarm = sim.raise_alarm(0, 2032)
    await _advance(hass, freezer, 300)
    assert [event["event_type"] for event in fired] == ["alarm_raised"]
    raised = fired[0]
    assert raised["alarm_name"] == "Grid Loss"
    assert raised["level"] == "major"
    assert raised["alarm_id"] == 2032
    assert raised["device"] == alarm.device.name
    assert raised["cause"]
    assert raised["repair_suggestion"]
    assert raised["raise_time"].startswith("2025-06-02T10:00:00")
    assert hass.states.get(major_id).state == "1"
    assert hass.states.get(critical_id).state == "0"
    assert hass.states.get(problem_id).state == STATE_ON

    # Still active at the next polls: no second event.
    await _advance(hass, freezer, 300)
    await _advance(hass, freezer, 300)
    assert len(fired) == 1
    assert hass.states.get(major_id).state == "1"

    assert sim.clear_alarm(alarm.key) == 1
    await _advance(hass, freezer, 300)
    assert [event["event_type"] for event in fired] == ["alarm_raised", "alarm_cleared"]
    assert fired[1]["alarm_name"] == "Grid Loss"
    assert hass.states.get(major_id).state == "0"
    assert hass.states.get(problem_id).state == STATE_OFF


async def test_alarms_survive_a_reload(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Known alarms are not reported again after a reload; changes meanwhile are."""
    entry = await _setup(hass, sim)
    event_id = _entity_id(hass, "event", f"{sim.plants[0].code}_alarms")
    first = sim.raise_alarm(0, 2032)
    await _advance(hass, freezer, 300)
    fired = _record_events(hass, event_id)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    sim.clear_alarm(first.key)
    sim.raise_alarm(0, 2062)
    await _advance(hass, freezer, 300)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert sorted((e["event_type"], e["alarm_name"]) for e in fired) == [
        ("alarm_cleared", "Grid Loss"),
        ("alarm_raised", "Low Insulation Resistance"),
    ]


def _record_states(hass: HomeAssistant, entity_ids: set[str]) -> list[tuple[str, str]]:
    """Collect the states the entities write (not the placeholders of an unload)."""
    written: list[tuple[str, str]] = []

    @callback
    def on_change(event: Event[Any]) -> None:
        new = event.data["new_state"]
        placeholder = new is None or new.attributes.get("restored")
        if event.data["entity_id"] in entity_ids and not placeholder:
            written.append((new.entity_id, new.state))

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    return written


async def test_item21_alarms_after_reload(
    hass: HomeAssistant,
    sim: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reload inside the alarm minute: no error, states kept, no repeated events."""
    sim.raise_alarm(0, 2032)
    entry = await _setup(hass, sim)
    code = sim.plants[0].code
    event_id = _entity_id(hass, "event", f"{code}_alarms")
    major_id = _entity_id(hass, "sensor", f"{code}_major_alarms")
    problem_id = _entity_id(hass, "binary_sensor", f"{code}_active_alarms")
    sim.raise_alarm(0, 2062)
    await _advance(hass, freezer, 300)  # a poll reports the second alarm
    assert hass.states.get(major_id).state == "2"
    fired = _record_events(hass, event_id)
    written = _record_states(hass, {event_id, major_id, problem_id})
    polls = sim.calls.count(Endpoint.ALARM_LIST)
    caplog.clear()

    # The options change reloads the entry seconds after the poll: the alarm quota
    # (one call a minute) is used up.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim.calls.count(Endpoint.ALARM_LIST) == polls  # waits for its minute
    await _advance(hass, freezer, 65)
    assert sim.calls.count(Endpoint.ALARM_LIST) == polls + 1  # then polls

    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert written, "the reloaded entities wrote no state"
    assert all(state != STATE_UNAVAILABLE for _, state in written), written
    assert hass.states.get(major_id).state == "2"
    assert hass.states.get(problem_id).state == STATE_ON
    assert fired == []  # both alarms were known before the reload


async def test_item21_alarms_enabled_inside_a_used_minute(
    hass: HomeAssistant,
    sim: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing known yet and the alarm minute used up: no error, wait, then learn quietly."""
    sim.raise_alarm(0, 2032)
    entry = await _setup(hass, sim, **{CONF_POLL_ALARMS: False})
    code = sim.plants[0].code
    client = entry.runtime_data.account.client
    await client.async_get_alarms([code], 0, int(sim.now() * 1000))  # another caller
    caplog.clear()

    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_POLL_ALARMS: True})
    await hass.async_block_till_done(wait_background_tasks=True)
    major_id = _entity_id(hass, "sensor", f"{code}_major_alarms")
    event_id = _entity_id(hass, "event", f"{code}_alarms")
    assert hass.states.get(major_id).state == STATE_UNAVAILABLE  # nothing known yet
    fired = _record_events(hass, event_id)
    await _advance(hass, freezer, 65)

    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert hass.states.get(major_id).state == "1"
    assert fired == []
    assert sim.calls.count(Endpoint.ALARM_LIST, fail_code=407) == 0


async def test_item21_alarms_held_back_after_a_reload_go_unavailable(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """The quiet quota wait is bounded: alarms refused for 20 minutes are unavailable."""
    sim.raise_alarm(0, 2032)
    entry = await _setup(hass, sim)
    problem_id = _entity_id(hass, "binary_sensor", f"{sim.plants[0].code}_active_alarms")
    sim.faults.add(Endpoint.ALARM_LIST, "fail_code", count=0, fail_code=407)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(problem_id).state == STATE_ON  # the known alarm, restored
    for _ in range(3):
        await _advance(hass, freezer, 300)
    assert hass.states.get(problem_id).state == STATE_ON  # kept while fresh
    for _ in range(3):
        await _advance(hass, freezer, 300)
    assert hass.states.get(problem_id).state == STATE_UNAVAILABLE


def test_item21_stored_alarms_round_trip() -> None:
    """Alarms survive the store as they were; anything malformed is dropped, not raised."""
    alarm = parse_alarms(
        [
            {
                "stationCode": "NE=1",
                "alarmId": 2032,
                "alarmName": "Grid Loss",
                "lev": 2,
                "status": 1,
                "raiseTime": 1748858400000,
                "esnCode": "HV1",
            }
        ]
    )[0]
    assert restored_alarm(json.loads(json.dumps(stored_alarm(alarm)))) == alarm
    bare = replace(alarm, level=None, raise_time=None)
    assert restored_alarm(stored_alarm(bare)) == bare
    for odd in ("x", None, [], {**stored_alarm(alarm), "level": 9}, {"raise_time": "soon"}):
        assert restored_alarm(odd) is None


async def test_first_poll_learns_existing_alarms(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Alarms active before the integration was added count, but fire no event."""
    sim.raise_alarm(0, 2032)
    await _setup(hass, sim)
    code = sim.plants[0].code
    assert hass.states.get(_entity_id(hass, "sensor", f"{code}_major_alarms")).state == "1"
    assert hass.states.get(_entity_id(hass, "event", f"{code}_alarms")).state == STATE_UNKNOWN


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "en_UK"),
        ("en-GB", "en_UK"),
        ("de", "de_DE"),
        ("nl", "nl_NL"),
        ("zh-Hans", "zh_CN"),
        ("pt-BR", "pt_BR"),
        ("pt", "pt_BR"),
        ("pl", "po_PO"),
        ("ja", "ja_JP"),
        ("it", "it_IT"),
        ("fr", "fr_FR"),
        ("es", "es_ES"),
        ("sv", "en_UK"),
        ("", "en_UK"),
        (None, "en_UK"),
    ],
)
def test_alarm_language(language: str | None, expected: str) -> None:
    """Home Assistant languages map to the spec's codes, else English."""
    assert alarm_language(language) == expected


async def test_alarms_in_home_assistant_language(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Alarm names come in Home Assistant's language."""
    hass.config.language = "de"
    await _setup(hass, sim)
    fired = _record_events(hass, _entity_id(hass, "event", f"{sim.plants[0].code}_alarms"))
    sim.raise_alarm(0, 2032)
    await _advance(hass, freezer, 300)
    assert [event["alarm_name"] for event in fired] == ["Netzausfall"]


async def test_alarm_quota_respected(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """One call per cloud refresh, never a 407; a used-up minute keeps the data."""
    entry = await _setup(hass, sim)
    code = sim.plants[0].code
    major_id = _entity_id(hass, "sensor", f"{code}_major_alarms")
    fired = _record_events(hass, _entity_id(hass, "event", f"{code}_alarms"))
    sim.raise_alarm(0, 2032)
    start = sim.now()
    for _ in range(12):
        await _advance(hass, freezer, 300)
    calls = sim.calls.select(Endpoint.ALARM_LIST, since=start + 1)
    assert len(calls) == 12
    assert all(later.time - earlier.time >= 60 for earlier, later in pairwise(calls))
    assert sim.calls.count(Endpoint.ALARM_LIST, fail_code=407) == 0

    # Another caller of the account takes the alarm minute just before the poll
    # (polls are due 5 min 45 s after each 5-minute boundary; now is 11:02:00).
    freezer.tick(180)
    client = entry.runtime_data.account.client
    await client.async_get_alarms([code], 0, int(sim.now() * 1000))
    before = len(sim.calls.select(Endpoint.ALARM_LIST))
    await _advance(hass, freezer, 50)
    assert len(sim.calls.select(Endpoint.ALARM_LIST)) == before  # skipped, not refused
    assert hass.states.get(major_id).state == "1"  # kept
    await _advance(hass, freezer, 15)  # retried as soon as the quota allows
    assert len(sim.calls.select(Endpoint.ALARM_LIST)) == before + 1
    assert hass.states.get(major_id).state == "1"
    assert len(fired) == 1
    assert sim.calls.count(Endpoint.ALARM_LIST, fail_code=407) == 0


async def test_alarms_disabled(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Without alarm polling: no alarm entities and no alarm calls."""
    entry = await _setup(hass, sim, **{CONF_POLL_ALARMS: False})
    await _advance(hass, freezer, 600)
    assert entry.runtime_data.alarms is None
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("event", DOMAIN, f"{sim.plants[0].code}_alarms") is None
    assert sim.calls.count(Endpoint.ALARM_LIST) == 0
