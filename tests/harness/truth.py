"""What the user sees against the simulator's truth: plant power flow and the Energy dashboard.

:class:`PowerFlowCheck` compares each plant's power-flow sensors (V7 ``plantRealtimeKpi``
or derived from the devices without V7) with the simulator's published state of the
slot the data is from, once per 5-minute slot, late in the slot. Issue 19's rule: within
1 % of the truth or 0.01 kW (SOC: 1 % or 0.1 point).

:func:`dashboard_issues` sets up the Energy dashboard from one plant's lifetime counters
(solar, grid import and export, battery in and out) and returns what Home Assistant's
validator says about it (needs the recorder).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from tests.simulator import Simulator
from tests.simulator.slots import SlotState

SLOT = 300.0
#: Sampled once per slot, this far into it (the slot's data is read by then).
SAMPLE_AFTER = 240.0

#: Plant sensor key -> the simulator's truth, and the absolute floor of the tolerance.
POWER_FLOW: Mapping[str, tuple[Callable[[SlotState], float | None], float]] = {
    "pv_power": (lambda truth: truth.pv_kw, 0.01),
    "grid_power": (lambda truth: truth.grid_kw, 0.01),
    "battery_power": (lambda truth: truth.battery_kw, 0.01),
    "load_power": (lambda truth: truth.load_kw, 0.01),
    "battery_soc": (lambda truth: truth.soc, 0.1),
}
RELATIVE = 0.01
# Float noise of sums rounded to 1 W.
SLACK = 1e-6


@dataclass
class PowerFlowCheck:
    """Counts of power-flow values shown against the truth of their slot."""

    samples: int = 0
    values_checked: int = 0
    values_off: int = 0
    not_shown: int = 0
    not_shown_keys: Counter[str] = field(default_factory=Counter)
    mixed_slots: int = 0  # a derived flow built from devices read in different slots
    worst_error: float = 0.0
    first_off: list[dict[str, Any]] = field(default_factory=list)
    _checked_slot: int = -1

    def due(self, now: float) -> bool:
        """Whether this slot is still to be sampled and late enough for its data."""
        slot = int(now // SLOT)
        return slot != self._checked_slot and now - slot * SLOT >= SAMPLE_AFTER

    def sample(self, hass: HomeAssistant, entry: ConfigEntry, sim: Simulator, now: float) -> None:
        """Compare every plant's power-flow sensors with the truth of their data's slot."""
        self._checked_slot = int(now // SLOT)
        self.samples += 1
        registry = er.async_get(hass)
        runtime = entry.runtime_data
        plants = runtime.plants.data or {}
        for plant in sim.plants:
            state = plants.get(plant.code)
            if state is None or state.flow is None:
                self.not_shown += len(POWER_FLOW)
                self.not_shown_keys.update(list(POWER_FLOW))
                continue
            times = _data_times(entry, plant.code, state)
            slots = {sim.boundary(moment.timestamp()) for moment in times}
            if len(slots) > 1:
                self.mixed_slots += 1
            truth = sim.state(plant.code, max(slots))
            for key, (true_value, floor) in POWER_FLOW.items():
                entity_id = registry.async_get_entity_id(
                    "sensor", "fusionsolar", f"{plant.code}_{key}"
                )
                if not self._compare(hass, entity_id, true_value(truth), floor, now):
                    self.not_shown_keys[key] += 1

    def _compare(
        self,
        hass: HomeAssistant,
        entity_id: str | None,
        expected: float | None,
        floor: float,
        now: float,
    ) -> bool:
        """Count one value; False when the sensor or the truth has none."""
        state = hass.states.get(entity_id) if entity_id else None
        shown = None if state is None else _number(state.state)
        if shown is None or expected is None:
            self.not_shown += 1
            return False
        self.values_checked += 1
        error = abs(shown - expected)
        self.worst_error = max(self.worst_error, error)
        if error > max(floor, RELATIVE * abs(expected)) + SLACK:
            self.values_off += 1
            if len(self.first_off) < 10:
                self.first_off.append(
                    {"at": now, "entity": entity_id, "shown": shown, "truth": round(expected, 4)}
                )
        return True

    def result(self) -> dict[str, Any]:
        """JSON-friendly counts."""
        return {
            "samples": self.samples,
            "values_checked": self.values_checked,
            "values_off": self.values_off,
            "not_shown": self.not_shown,
            "not_shown_keys": dict(self.not_shown_keys),
            "mixed_slots": self.mixed_slots,
            "worst_error": round(self.worst_error, 4),
            "first_off": self.first_off,
        }


def _data_times(entry: ConfigEntry, code: str, state: Any) -> list[datetime]:
    """When the data behind a plant's power flow was read."""
    if state.realtime is not None:
        return [state.updated]
    runtime = entry.runtime_data
    devices = runtime.metadata.data.devices
    return [
        device_state.updated
        for key, device_state in (runtime.devices.data or {}).items()
        if key in devices and devices[key].plant_code == code
    ] or [state.updated]


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------- Energy dashboard

#: Dashboard slot -> (plant sensor, or a device type id, and the sensor key): lifetime
#: counters only.
DASHBOARD_COUNTERS: Mapping[str, tuple[str | int, str]] = {
    "solar": ("plant", "energy_total"),
    "grid_import": (17, "grid_import_energy"),
    "grid_export": (17, "grid_export_energy"),
    "battery_out": (39, "discharged_energy"),
    "battery_in": (39, "charged_energy"),
}


def lifetime_counters(hass: HomeAssistant, entry: ConfigEntry, plant_code: str) -> dict[str, str]:
    """Entity ids of one plant's lifetime counters, per dashboard slot."""
    registry = er.async_get(hass)
    devices = entry.runtime_data.metadata.data.devices
    counters: dict[str, str] = {}
    for slot, (owner, key) in DASHBOARD_COUNTERS.items():
        owners = (
            [plant_code]
            if owner == "plant"
            else [
                k
                for k, d in devices.items()
                if d.plant_code == plant_code and d.dev_type_id == owner
            ]
        )
        for owner_id in owners:
            if entity_id := registry.async_get_entity_id(
                "sensor", "fusionsolar", f"{owner_id}_{key}"
            ):
                counters[slot] = entity_id
                break
    return counters


def _grid(counters: Mapping[str, str]) -> dict[str, Any]:
    return {
        "type": "grid",
        "flow_from": [
            {
                "stat_energy_from": counters["grid_import"],
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "flow_to": [
            {
                "stat_energy_to": counters["grid_export"],
                "stat_compensation": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "cost_adjustment_day": 0,
    }


def dashboard(counters: Mapping[str, str]) -> dict[str, Any]:
    """Energy dashboard preferences with every source slot on a lifetime counter."""
    return {
        "energy_sources": [
            {"type": "solar", "stat_energy_from": counters["solar"]},
            _grid(counters),
            {
                "type": "battery",
                "stat_energy_from": counters["battery_out"],
                "stat_energy_to": counters["battery_in"],
            },
        ]
    }


async def dashboard_issues(
    hass: HomeAssistant, counters: Mapping[str, str]
) -> dict[str, list[str]]:
    """Set the dashboard up from ``counters``; the validator's issues, per kind."""
    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(dashboard(counters))  # type: ignore[arg-type]
    result = await async_validate(hass)
    assert len(result.energy_sources) == 3
    issues: dict[str, list[str]] = {}
    for group in result.energy_sources:
        for issue_type, issue in group.issues.items():
            entities = issues.setdefault(issue_type, [])
            entities.extend(entity for entity, _detail in issue.affected_entities)
    return {issue_type: sorted(entities) for issue_type, entities in issues.items()}
