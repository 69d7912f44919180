"""Inverter on/off switches (V7 `vpp/devOnOff`).

The state comes from the inverter's reported state: on unless it reports a shutdown
(Table 4-1 states 768-774) or no connection (`run_state` 0). The cloud applies a
command from its current 5-minute slot and shows it at the next refresh, so after a
command the switch shows the commanded state until device data of a later slot
arrives (at most `OPTIMISTIC_MAX`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import Device, DeviceKind
from .control import async_switch_inverter
from .coordinator import FusionSolarConfigEntry, cloud_slot
from .entity import DeviceEntity, as_bool, async_add_control_entities

PARALLEL_UPDATES = 1

OPTIMISTIC_MAX = timedelta(minutes=15)

INVERTER_POWER = SwitchEntityDescription(
    key="inverter_power",
    translation_key="inverter_power",
    device_class=SwitchDeviceClass.SWITCH,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up a power switch per inverter, once the account has control (V7)."""
    async_add_control_entities(
        entry, async_add_entities, DeviceKind.INVERTER, InverterSwitch, v7_only=True
    )


class InverterSwitch(DeviceEntity, SwitchEntity):
    """Start or shut down an inverter."""

    def __init__(self, entry: FusionSolarConfigEntry, device: Device) -> None:
        """Initialize the switch."""
        super().__init__(entry, device, INVERTER_POWER)
        self._entry = entry
        self._commanded: tuple[bool, datetime] | None = None

    @property
    def _current(self) -> Device:
        """Return the device as the latest device list describes it."""
        return self._entry.runtime_data.metadata.data.devices.get(self.device.key, self.device)

    @property
    def available(self) -> bool:
        """Return whether the inverter can be controlled (V7) and its state is known."""
        return (
            super().available
            and self._entry.runtime_data.account.client.families.v7
            and self._current.dn is not None
        )

    @property
    def is_on(self) -> bool | None:
        """Return the commanded state until the cloud reports on it, then the reported one."""
        if self._commanded is not None:
            return self._commanded[0]
        if (restored := self.restored) is not None:
            return as_bool(restored.value)
        state = self.device_state
        return None if state is None else state.kpi.switched_on

    def _shown_value(self) -> bool | None:
        return self.is_on

    @callback
    def _handle_coordinator_update(self) -> None:
        """End the optimistic window once data of a later cloud slot arrived."""
        if self._commanded is not None:
            at = self._commanded[1]
            state = self.device_state
            confirmed = state is not None and state.updated > cloud_slot(at)
            if confirmed or dt_util.utcnow() - at > OPTIMISTIC_MAX:
                self._commanded = None
        super()._handle_coordinator_update()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start the inverter."""
        await self._async_switch(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Shut down the inverter."""
        await self._async_switch(False)

    async def _async_switch(self, on: bool) -> None:
        await async_switch_inverter(self._entry, self._current, on)
        self._commanded = (on, dt_util.utcnow())
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()
