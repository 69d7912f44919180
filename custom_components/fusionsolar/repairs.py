"""Repair issues: the fix flows, and the start of the issues coordinator.

The issues themselves (what is raised and cleared, when) are the data of
`coordinator.issues.IssueCoordinator`.
"""

from __future__ import annotations

import voluptuous as vol
from homeassistant import data_entry_flow
from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant, callback

from .const import CONF_PLANTS
from .coordinator import FusionSolarConfigEntry, selected_plants
from .coordinator.issues import DATA_ENTRY_ID, DATA_PLANT_CODE, IssueCoordinator


@callback
def async_setup_issues(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
    """Check the repair conditions now and after every coordinator update."""
    IssueCoordinator(hass, entry).async_start()


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
