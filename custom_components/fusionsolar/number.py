"""Depth of discharge of each battery, and today's battery parameters of each plant.

End-of-discharge SOC = 100 % - DoD. V7 (`vpp/dod`): the spec allows an end-of-discharge
SOC of 0-20 % on Huawei batteries (DoD 80-100 %) and 12-20 % on LG batteries (DoD
80-88 %); the cloud applies the closest allowed value and answers with it (`setDOD`).
The number shows that value until the next device list reports the battery's DoD.

Today's cloud (26.2 digest §5.2.5) sets plant-level parameters instead: the DoD number
sets the plant's discharge cut-off SOC (100 % - DoD, 0-20 %), and each plant with
batteries gets charge cut-off SOC (90-100 %), discharge cut-off SOC and maximum
charge/discharge power (at least 200 W) numbers. They show the value the cloud last
applied (there is no query for them), once the task succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import ActivePowerControlMode, BatteryParameters, Device, DeviceKind
from .api.control_models import (
    END_OF_CHARGE_SOC,
    END_OF_DISCHARGE_SOC,
    FEED_IN_KW,
    MIN_BATTERY_POWER_W,
)
from .control import can_control, current_dod
from .control_tasks import (
    MAX_BATTERY_POWER_W,
    async_check_admin,
    async_set_battery_parameters,
    async_set_depth_of_discharge,
    async_set_export_limit,
    battery_plants,
    checked_parameters,
    takes_tasks,
)
from .coordinator import (
    ConfigurationCoordinator,
    FusionSolarConfigEntry,
    MetadataCoordinator,
    selected_plants,
)
from .entity import (
    FusionSolarEntity,
    PlantScopedEntity,
    async_add_control_entities,
    async_when_ready,
    device_info,
)

PARALLEL_UPDATES = 1

DEPTH_OF_DISCHARGE = NumberEntityDescription(
    key="depth_of_discharge",
    translation_key="depth_of_discharge",
    entity_category=EntityCategory.CONFIG,
    native_unit_of_measurement=PERCENTAGE,
    native_step=1.0,
    mode=NumberMode.BOX,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up a depth-of-discharge number per battery, once the account has control (V7)."""
    async_add_control_entities(
        entry, async_add_entities, DeviceKind.BATTERY, DepthOfDischargeNumber
    )
    async_when_ready(
        entry,
        lambda: takes_tasks(entry),
        lambda: async_add_entities(
            [
                *(
                    BatteryParameterNumber(entry, code, description)
                    for code in battery_plants(entry)
                    for description in BATTERY_PARAMETERS
                ),
                *(ExportLimitNumber(entry, code) for code in selected_plants(entry)),
            ]
        ),
    )


class DepthOfDischargeNumber(FusionSolarEntity[MetadataCoordinator], NumberEntity):
    """How deep a battery may discharge."""

    def __init__(self, entry: FusionSolarConfigEntry, device: Device) -> None:
        """Initialize the number with the range of the battery's maker."""
        super().__init__(entry.runtime_data.metadata, DEPTH_OF_DISCHARGE, device.key)
        self._entry = entry
        self._key = device.key
        self._attr_device_info = device_info(device)
        low, high = device.dod_range
        self._attr_native_min_value, self._attr_native_max_value = float(low), float(high)

    @property
    def _device(self) -> Device | None:
        return self.coordinator.data.devices.get(self._key)

    async def async_added_to_hass(self) -> None:
        """Follow the DoD values the cloud applies."""
        await super().async_added_to_hass()
        runtime = self._entry.runtime_data
        self.async_on_remove(runtime.dispatch.async_add_listener(self.async_write_ha_state))
        if runtime.configuration is not None:  # today's cloud: the plant's cut-off SOC
            self.async_on_remove(
                runtime.configuration.async_add_listener(self.async_write_ha_state)
            )

    @property
    def available(self) -> bool:
        """Return whether the battery can be controlled (V7 or 26.2, and a device DN)."""
        device = self._device
        return (
            super().available
            and can_control(self._entry)
            and device is not None
            and device.dn is not None
        )

    @property
    def native_value(self) -> float | None:
        """Return the DoD the cloud applied, until the device list reports one.

        Always a whole percentage as a float: the applied value (an int) and the
        listed one (a float) look the same.
        """
        dod = current_dod(self._entry, self._key)
        if (eod := self._plant_end_of_discharge()) is not None:
            dod = 100 - eod
        return None if dod is None else float(round(dod))

    def _plant_end_of_discharge(self) -> float | None:
        """Today's cloud: the plant's discharge cut-off SOC last applied."""
        configuration = self._entry.runtime_data.configuration
        device = self._device
        if configuration is None or device is None or device.plant_code is None:
            return None
        return configuration.plant(device.plant_code).battery.end_of_discharge_soc

    async def async_set_native_value(self, value: float) -> None:
        """Set the battery's depth of discharge (today's cloud: its plant's cut-off)."""
        if (device := self._device) is not None:
            await async_set_depth_of_discharge(self._entry, device, value, self._context)


@dataclass(frozen=True, kw_only=True)
class BatteryParameterDescription(NumberEntityDescription):
    """A battery parameter of §5.2.5: the argument it sets and how to read it back."""

    value_fn: Callable[[BatteryParameters], float | None]
    checked_fn: Callable[[float], BatteryParameters]  # checked against §5.2.5


def _max_charge_power(parameters: BatteryParameters) -> float | None:
    return parameters.max_charge_power_w


def _max_discharge_power(parameters: BatteryParameters) -> float | None:
    return parameters.max_discharge_power_w


BATTERY_PARAMETERS = (
    BatteryParameterDescription(
        key="end_of_charge_soc",
        translation_key="end_of_charge_soc",
        checked_fn=lambda value: checked_parameters(end_of_charge_soc=value),
        value_fn=lambda parameters: parameters.end_of_charge_soc,
        entity_category=EntityCategory.CONFIG,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=END_OF_CHARGE_SOC[0],
        native_max_value=END_OF_CHARGE_SOC[1],
        native_step=1.0,
        mode=NumberMode.BOX,
    ),
    BatteryParameterDescription(
        key="end_of_discharge_soc",
        translation_key="end_of_discharge_soc",
        checked_fn=lambda value: checked_parameters(end_of_discharge_soc=value),
        value_fn=lambda parameters: parameters.end_of_discharge_soc,
        entity_category=EntityCategory.CONFIG,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=END_OF_DISCHARGE_SOC[0],
        native_max_value=END_OF_DISCHARGE_SOC[1],
        native_step=1.0,
        mode=NumberMode.BOX,
    ),
    *(
        BatteryParameterDescription(
            key=key,
            translation_key=key,
            value_fn=value_fn,
            checked_fn=checked_fn,
            entity_category=EntityCategory.CONFIG,
            device_class=NumberDeviceClass.POWER,
            native_unit_of_measurement=UnitOfPower.WATT,
            native_min_value=MIN_BATTERY_POWER_W,
            native_max_value=MAX_BATTERY_POWER_W,
            native_step=1.0,
            mode=NumberMode.BOX,
        )
        for key, value_fn, checked_fn in (
            (
                "max_charge_power",
                _max_charge_power,
                lambda value: checked_parameters(max_charge_power=value),
            ),
            (
                "max_discharge_power",
                _max_discharge_power,
                lambda value: checked_parameters(max_discharge_power=value),
            ),
        )
    ),
)


class BatteryParameterNumber(PlantScopedEntity[ConfigurationCoordinator], NumberEntity):
    """A plant-level battery parameter on today's cloud, as last applied."""

    entity_description: BatteryParameterDescription

    def __init__(
        self,
        entry: FusionSolarConfigEntry,
        plant_code: str,
        description: BatteryParameterDescription,
    ) -> None:
        """Initialize the number on the plant's device."""
        configuration = entry.runtime_data.configuration
        assert configuration is not None
        super().__init__(configuration, entry, plant_code, description)
        self._entry = entry

    @property
    def native_value(self) -> float | None:
        """Return the value the cloud last applied (unknown until one was set)."""
        value = self.entity_description.value_fn(self.coordinator.plant(self.plant_code).battery)
        return None if value is None else float(value)

    async def async_set_native_value(self, value: float) -> None:
        """Send the battery-parameter task (checked against §5.2.5 first)."""
        await async_check_admin(self.hass, self._context)
        parameters = self.entity_description.checked_fn(value)
        await async_set_battery_parameters(self._entry, self.plant_code, parameters)


EXPORT_LIMIT = NumberEntityDescription(
    key="export_limit",
    translation_key="export_limit",
    entity_category=EntityCategory.CONFIG,
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.KILO_WATT,
    native_min_value=FEED_IN_KW[0],
    native_max_value=FEED_IN_KW[1],
    native_step=0.1,
    mode=NumberMode.BOX,
)


class ExportLimitNumber(PlantScopedEntity[ConfigurationCoordinator], NumberEntity):
    """A plant's feed-in limit at the grid connection (kW), today's cloud (§5.2.7).

    Unknown while the plant exports without limit; the `set_export_limit` action lifts
    the limit.
    """

    def __init__(self, entry: FusionSolarConfigEntry, plant_code: str) -> None:
        """Initialize the number on the plant's device."""
        configuration = entry.runtime_data.configuration
        assert configuration is not None
        super().__init__(configuration, entry, plant_code, EXPORT_LIMIT)
        self._entry = entry

    @property
    def native_value(self) -> float | None:
        """Return the limit the cloud reports (limited feed-in in kW only)."""
        config = self.coordinator.plant(self.plant_code).active_power
        if config is None or config.mode is not ActivePowerControlMode.LIMITED_KW:
            return None
        return config.limit_kw

    async def async_set_native_value(self, value: float) -> None:
        """Send the export-limit task (total power at the grid connection)."""
        await async_check_admin(self.hass, self._context)
        await async_set_export_limit(self._entry, self.plant_code, value)
