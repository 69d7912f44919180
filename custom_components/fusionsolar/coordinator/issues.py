"""The repair issues coordinator: what the user must fix, raised and cleared as it happens.

Its data are the issues whose condition holds, by issue id. It checks them after every
update of the cloud coordinators (a check only reads state the client and the
coordinators already hold, so it costs no request), and on its own when a quota
deadline passes: a coordinator that keeps failing calls no listener. A listener of its
own keeps the issue registry in line with its data (so it runs without any entity).

* `quota_trouble`: the quota kept plant, device or alarm data from refreshing for
  more than 30 minutes (another tool on the account, or limits stricter than the spec).
* `no_v7`: the account cannot use the V7 API, so battery and inverter control is off.
* `oauth_control_scope`: signed in with FusionSolar without the control scope.
* `endpoint_refused`: the cloud refuses one kind of data to the account (one per endpoint,
  and one per device type `getDevRealKpi` refuses).
* `session_conflict`: another login of the same account keeps ending our session.
* `plant_removed`: a selected plant is gone from the account; fixable: remove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from ..api import ControlApi, Endpoint, QuotaError
from ..const import DOMAIN, LOGGER
from ..oauth import control_granted, is_oauth_entry
from . import FusionSolarConfigEntry
from .base import FusionSolarCoordinator, selected_plants

QUOTA_TROUBLE_AFTER = timedelta(minutes=30)
KICKOUTS_FOR_ISSUE = 3
# A quota deadline is checked this long after it passed.
RECHECK_DELAY = timedelta(seconds=1)

DATA_ENTRY_ID = "entry_id"
DATA_PLANT_CODE = "plant_code"


@dataclass(frozen=True, slots=True)
class IssueSpec:
    """One issue as it should be in the registry."""

    translation_key: str
    placeholders: tuple[tuple[str, str], ...] = ()
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING
    fixable_plant: str | None = None


class IssueCoordinator(DataUpdateCoordinator[dict[str, IssueSpec]]):
    """The repair issues of one config entry (see module docstring)."""

    config_entry: FusionSolarConfigEntry

    def __init__(self, hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
        """Initialize the coordinator; nothing is raised before the first check."""
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{entry.title} issues", update_interval=None
        )
        self.data = {}
        self._started = dt_util.utcnow()
        self._raised: dict[str, IssueSpec] = {}

    @callback
    def async_start(self) -> None:
        """Follow the cloud coordinators and keep the registry in line; check now."""
        runtime = self.config_entry.runtime_data
        for coordinator in (runtime.metadata, runtime.plants, runtime.devices, runtime.alarms):
            if coordinator is not None:
                self.config_entry.async_on_unload(coordinator.async_add_listener(self.async_check))
        self.async_add_listener(self._async_sync_registry)
        self.async_check()

    @callback
    def async_check(self) -> None:
        """Check the conditions now (another coordinator was updated)."""
        self.async_set_updated_data(self._check())

    async def _async_update_data(self) -> dict[str, IssueSpec]:
        """Check the conditions when a quota deadline has passed."""
        return self._check()

    async def async_shutdown(self) -> None:
        """Delete every issue of this entry (it is unloaded)."""
        await super().async_shutdown()
        for issue_id in self._raised:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._raised = {}

    @callback
    def _async_sync_registry(self) -> None:
        """Create the issues whose condition holds, delete those that ended."""
        wanted = self.data
        for issue_id in self._raised.keys() - wanted.keys():
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        for issue_id, spec in wanted.items():
            if self._raised.get(issue_id) != spec:
                self._create(issue_id, spec)
        self._raised = dict(wanted)

    def _create(self, issue_id: str, spec: IssueSpec) -> None:
        entry = self.config_entry
        data: dict[str, str | int | float | None] | None = None
        if spec.fixable_plant is not None:
            data = {DATA_ENTRY_ID: entry.entry_id, DATA_PLANT_CODE: spec.fixable_plant}
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            data=data,
            is_fixable=spec.fixable_plant is not None,
            severity=spec.severity,
            translation_key=spec.translation_key,
            translation_placeholders={"account": entry.title, **dict(spec.placeholders)},
        )

    def _check(self) -> dict[str, IssueSpec]:
        entry_id = self.config_entry.entry_id
        wanted: dict[str, IssueSpec] = {}
        for suffix, spec in (*self._account_issues(), *self._plant_issues()):
            wanted[f"{spec.translation_key}_{entry_id}{suffix}"] = spec
        return wanted

    def _account_issues(self) -> list[tuple[str, IssueSpec]]:
        runtime = self.config_entry.runtime_data
        client = runtime.account.client
        issues: list[tuple[str, IssueSpec]] = []
        if self._quota_starved():
            issues.append(("", IssueSpec("quota_trouble", severity=ir.IssueSeverity.ERROR)))
        if is_oauth_entry(self.config_entry):  # no V7 on OAuth; control needs its scope
            if not control_granted(self.config_entry):
                issues.append(("", IssueSpec("oauth_control_scope")))
        elif client.families.legacy and client.control_api is ControlApi.NONE:
            issues.append(("", IssueSpec("no_v7")))
        if (kickouts := client.consecutive_kickouts) >= KICKOUTS_FOR_ISSUE:
            issues.append(("", IssueSpec("session_conflict", (("count", str(kickouts)),))))
        refused = [str(path) for path in sorted(client.refused_endpoints)]
        refused += [
            f"{Endpoint.DEV_REAL_KPI} (devTypeId {dev_type})"
            for dev_type in sorted(runtime.devices.refused_types)
        ]
        issues.extend(
            (f"_{slugify(what)}", IssueSpec("endpoint_refused", (("endpoint", what),)))
            for what in refused
        )
        return issues

    def _plant_issues(self) -> list[tuple[str, IssueSpec]]:
        metadata = self.config_entry.runtime_data.metadata.data
        if metadata is None or metadata.lists_fetched is None or not metadata.plants:
            return []  # not listed yet, or an empty answer (more likely a hiccup)
        return [
            (
                f"_{slugify(code)}",
                IssueSpec("plant_removed", (("plant", code),), fixable_plant=code),
            )
            for code in selected_plants(self.config_entry)
            if code not in metadata.plants
        ]

    def _quota_starved(self) -> bool:
        """Return whether the quota kept data from refreshing for too long.

        A coordinator that keeps failing calls no listener, so when the quota
        blocks one that is not yet overdue, check again when it will be.
        """
        runtime = self.config_entry.runtime_data
        since = [
            self._quota_blocked_since(coordinator)
            for coordinator in (runtime.plants, runtime.devices, runtime.alarms)
            if coordinator is not None
        ]
        deadlines = [moment + QUOTA_TROUBLE_AFTER for moment in since if moment is not None]
        now = dt_util.utcnow()
        recheck = min((d for d in deadlines if d > now), default=None)
        self.update_interval = None if recheck is None else recheck - now + RECHECK_DELAY
        return any(d <= now for d in deadlines) or self._devices_starved(now)

    def _devices_starved(self, now: datetime) -> bool:
        """Return whether device data lags: the device coordinator waits out quota, not fails."""
        devices = self.config_entry.runtime_data.devices
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
