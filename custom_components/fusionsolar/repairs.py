"""Repair issues: what the user (or the installer) must fix, raised and cleared as it happens.

Conditions are checked after every coordinator update; a check only reads state
the client and the coordinators already hold, so it costs no request.

* `quota_trouble`: the quota kept plant, device or alarm data from refreshing for
  more than 30 minutes (another tool on the account, or limits stricter than the spec).
* `no_v7`: the account cannot use the V7 API, so battery and inverter control is off.
* `endpoint_refused`: the cloud refuses one kind of data to the account (one per endpoint,
  and one per device type `getDevRealKpi` refuses).
* `session_conflict`: another login of the same account keeps ending our session.
* `plant_removed`: a selected plant is gone from the account; fixable: remove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import voluptuous as vol
from homeassistant import data_entry_flow
from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from .api import ControlApi, Endpoint, QuotaError
from .const import CONF_PLANTS, DOMAIN
from .coordinator import FusionSolarConfigEntry, FusionSolarCoordinator, selected_plants

QUOTA_TROUBLE_AFTER = timedelta(minutes=30)
KICKOUTS_FOR_ISSUE = 3

DATA_ENTRY_ID = "entry_id"
DATA_PLANT_CODE = "plant_code"


@dataclass(frozen=True, slots=True)
class IssueSpec:
    """One issue as it should be in the registry."""

    translation_key: str
    placeholders: tuple[tuple[str, str], ...] = ()
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING
    fixable_plant: str | None = None


class IssueTracker:
    """Keep the issue registry in line with the state of one config entry."""

    def __init__(self, hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
        """Initialize the tracker; nothing is raised before the first check."""
        self._hass = hass
        self._entry = entry
        self._started = dt_util.utcnow()
        self._issues: dict[str, IssueSpec] = {}
        self._unsub_recheck: CALLBACK_TYPE | None = None

    @callback
    def async_check(self) -> None:
        """Create the issues whose condition holds, delete those that ended."""
        wanted = self._wanted()
        for issue_id in self._issues.keys() - wanted.keys():
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
        for issue_id, spec in wanted.items():
            if self._issues.get(issue_id) != spec:
                self._create(issue_id, spec)
        self._issues = wanted

    @callback
    def async_clear(self) -> None:
        """Delete every issue of this entry (it is unloaded)."""
        self._schedule_recheck(None)
        for issue_id in self._issues:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
        self._issues = {}

    def _create(self, issue_id: str, spec: IssueSpec) -> None:
        data: dict[str, str | int | float | None] | None = None
        if spec.fixable_plant is not None:
            data = {DATA_ENTRY_ID: self._entry.entry_id, DATA_PLANT_CODE: spec.fixable_plant}
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            data=data,
            is_fixable=spec.fixable_plant is not None,
            severity=spec.severity,
            translation_key=spec.translation_key,
            translation_placeholders={"account": self._entry.title, **dict(spec.placeholders)},
        )

    def _wanted(self) -> dict[str, IssueSpec]:
        entry_id = self._entry.entry_id
        wanted: dict[str, IssueSpec] = {}
        for suffix, spec in (*self._account_issues(), *self._plant_issues()):
            wanted[f"{spec.translation_key}_{entry_id}{suffix}"] = spec
        return wanted

    def _account_issues(self) -> list[tuple[str, IssueSpec]]:
        client = self._entry.runtime_data.account.client
        issues: list[tuple[str, IssueSpec]] = []
        if self._quota_starved():
            issues.append(("", IssueSpec("quota_trouble", severity=ir.IssueSeverity.ERROR)))
        if client.families.legacy and client.control_api is ControlApi.NONE:
            issues.append(("", IssueSpec("no_v7")))
        if (kickouts := client.consecutive_kickouts) >= KICKOUTS_FOR_ISSUE:
            issues.append(("", IssueSpec("session_conflict", (("count", str(kickouts)),))))
        refused = [str(path) for path in sorted(client.refused_endpoints)]
        refused += [
            f"{Endpoint.DEV_REAL_KPI} (devTypeId {dev_type})"
            for dev_type in sorted(self._entry.runtime_data.devices.refused_types)
        ]
        issues.extend(
            (f"_{slugify(what)}", IssueSpec("endpoint_refused", (("endpoint", what),)))
            for what in refused
        )
        return issues

    def _plant_issues(self) -> list[tuple[str, IssueSpec]]:
        metadata = self._entry.runtime_data.metadata.data
        if metadata is None or metadata.lists_fetched is None or not metadata.plants:
            return []  # not listed yet, or an empty answer (more likely a hiccup)
        return [
            (
                f"_{slugify(code)}",
                IssueSpec("plant_removed", (("plant", code),), fixable_plant=code),
            )
            for code in selected_plants(self._entry)
            if code not in metadata.plants
        ]

    def _quota_starved(self) -> bool:
        """Return whether the quota kept data from refreshing for too long.

        A coordinator that keeps failing calls no listener, so when the quota
        blocks one that is not yet overdue, check again when it will be.
        """
        runtime = self._entry.runtime_data
        since = [
            self._quota_blocked_since(coordinator)
            for coordinator in (runtime.plants, runtime.devices, runtime.alarms)
            if coordinator is not None
        ]
        deadlines = [moment + QUOTA_TROUBLE_AFTER for moment in since if moment is not None]
        now = dt_util.utcnow()
        self._schedule_recheck(min((d for d in deadlines if d > now), default=None))
        return any(d <= now for d in deadlines) or self._devices_starved(now)

    def _devices_starved(self, now: datetime) -> bool:
        """Return whether device data lags: the device coordinator waits out quota, not fails."""
        devices = self._entry.runtime_data.devices
        if (interval := devices.achieved_interval) is not None and interval > QUOTA_TROUBLE_AFTER:
            return True
        newest = max((state.updated for state in (devices.data or {}).values()), default=None)
        return (
            devices.enabled
            and devices.last_update_success
            and newest is not None
            and now - newest > QUOTA_TROUBLE_AFTER
        )

    def _quota_blocked_since(self, coordinator: FusionSolarCoordinator[Any]) -> datetime | None:
        """Return since when the quota keeps a failing coordinator from refreshing."""
        if coordinator.last_update_success:
            return None
        if not isinstance((coordinator.last_exception or Exception()).__cause__, QuotaError):
            return None
        return coordinator.last_success or self._started

    def _schedule_recheck(self, when: datetime | None) -> None:
        if self._unsub_recheck is not None:
            self._unsub_recheck()
            self._unsub_recheck = None
        if when is not None:
            self._unsub_recheck = async_track_point_in_utc_time(
                self._hass, self._async_recheck, when + timedelta(seconds=1)
            )

    @callback
    def _async_recheck(self, _now: datetime) -> None:
        self._unsub_recheck = None
        self.async_check()


@callback
def async_setup_issues(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
    """Check the repair conditions now and after every coordinator update."""
    tracker = IssueTracker(hass, entry)
    runtime = entry.runtime_data
    for coordinator in (runtime.metadata, runtime.plants, runtime.devices, runtime.alarms):
        if coordinator is not None:
            entry.async_on_unload(coordinator.async_add_listener(tracker.async_check))
    entry.async_on_unload(tracker.async_clear)
    tracker.async_check()


class RemovePlantFlow(RepairsFlow):
    """Remove a plant that is gone from the account from the entry's selection."""

    def __init__(self, entry_id: str, plant_code: str) -> None:
        """Initialize the flow."""
        self._entry_id = entry_id
        self._plant_code = plant_code

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ask, then remove the plant from the options (the entry reloads)."""
        entry: FusionSolarConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None:
            return self.async_abort(reason="entry_removed")
        remaining = [code for code in selected_plants(entry) if code != self._plant_code]
        if not remaining:
            return self.async_abort(reason="last_plant")
        if user_input is not None:
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_PLANTS: remaining}
            )
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders={"plant": self._plant_code, "account": entry.title},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the flow that fixes an issue."""
    if data and isinstance(entry_id := data.get(DATA_ENTRY_ID), str):
        return RemovePlantFlow(entry_id, str(data.get(DATA_PLANT_CODE)))
    return ConfirmRepairFlow()
