"""Sensors: plant power flow and energy, device measurements.

Sign conventions (V7, documented in the README): grid power > 0 is export,
< 0 import; battery power > 0 is discharge, < 0 charge. Import/export and
charge/discharge also have their own non-negative sensors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import (
    DEGREE,
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfIrradiance,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfSpeed,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .api import AlarmLevel, DeviceKind, PlantHealth
from .api.const import BATTERY_STATES, INVERTER_STATES
from .coordinator import (
    DeviceCoordinator,
    DispatchCoordinator,
    DispatchPhase,
    FusionSolarConfigEntry,
    HistoryCoordinator,
    PlantState,
    selected_plants,
)
from .counters import CounterGuard, CounterPeriod
from .entity import (
    UPDATED,
    AlarmEntity,
    CloudData,
    CloudDataEntity,
    DeviceEntity,
    FusionSolarEntity,
    PlantEntity,
    PlantScopedEntity,
    ShownValue,
    alarm_entities,
    async_add_device_entities,
    async_when_ready,
    can_control,
    plant_capacity_kw,
    plant_device_info,
    restored_time,
    stored_time,
)

PARALLEL_UPDATES = 0

HEALTH_STATES = [health.value for health in PlantHealth]


def _positive(value: float | None) -> float | None:
    return None if value is None else (value if value > 0 else 0.0)


def _negated_positive(value: float | None) -> float | None:
    return None if value is None else (-value if value < 0 else 0.0)


@dataclass(frozen=True, kw_only=True)
class PlantSensorDescription(SensorEntityDescription):
    """A plant sensor and how to read it from the plant's state."""

    value_fn: Callable[[PlantState], StateType]
    counter: CounterPeriod | None = None
    needs_v7: bool = False


def _realtime(attr: str) -> Callable[[PlantState], StateType]:
    def read(state: PlantState) -> StateType:
        return getattr(state.realtime, attr, None) if state.realtime else None

    return read


def _energy(v7_attr: str, legacy_attr: str) -> Callable[[PlantState], StateType]:
    """Read an energy counter from V7 real-time data, else the legacy plant KPIs."""

    def read(state: PlantState) -> StateType:
        if state.realtime is not None:
            return getattr(state.realtime, v7_attr, None)
        return getattr(state.station, legacy_attr, None) if state.station else None

    return read


def _station(attr: str) -> Callable[[PlantState], StateType]:
    def read(state: PlantState) -> StateType:
        return getattr(state.station, attr, None) if state.station else None

    return read


def _health(state: PlantState) -> StateType:
    source = state.realtime or state.station
    health = source.health if source is not None else None
    return health.value if health is not None else None


POWER_KW: dict[str, Any] = {
    "device_class": SensorDeviceClass.POWER,
    "state_class": SensorStateClass.MEASUREMENT,
    "native_unit_of_measurement": UnitOfPower.KILO_WATT,
    "suggested_display_precision": 3,
}
ENERGY_KWH: dict[str, Any] = {
    "device_class": SensorDeviceClass.ENERGY,
    "state_class": SensorStateClass.TOTAL_INCREASING,
    "native_unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
    "suggested_display_precision": 2,
}


def _plant_power(key: str, value_fn: Callable[[PlantState], StateType]) -> PlantSensorDescription:
    return PlantSensorDescription(key=key, translation_key=key, value_fn=value_fn, **POWER_KW)


def _signed(
    attr: str, transform: Callable[[float | None], float | None]
) -> Callable[[PlantState], StateType]:
    def read(state: PlantState) -> StateType:
        return transform(getattr(state.realtime, attr, None) if state.realtime else None)

    return read


PLANT_SENSORS: tuple[PlantSensorDescription, ...] = (
    _plant_power("pv_power", _realtime("pv_power")),
    _plant_power("load_power", _realtime("load_power")),
    _plant_power("grid_power", _realtime("grid_power")),
    _plant_power("grid_import_power", _signed("grid_power", _negated_positive)),
    _plant_power("grid_export_power", _signed("grid_power", _positive)),
    _plant_power("battery_power", _realtime("battery_power")),
    _plant_power("battery_charge_power", _signed("battery_power", _negated_positive)),
    _plant_power("battery_discharge_power", _signed("battery_power", _positive)),
    PlantSensorDescription(
        key="battery_soc",
        translation_key="battery_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=_realtime("battery_soc"),
    ),
    PlantSensorDescription(
        key="battery_dod",
        translation_key="battery_dod",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_realtime("battery_dod"),
    ),
    PlantSensorDescription(
        key="energy_today",
        translation_key="energy_today",
        counter=CounterPeriod.DAY,
        value_fn=_energy("day_energy", "day_power"),
        **ENERGY_KWH,
    ),
    PlantSensorDescription(
        key="energy_this_month",
        translation_key="energy_this_month",
        counter=CounterPeriod.MONTH,
        value_fn=_energy("month_energy", "month_power"),
        **ENERGY_KWH,
    ),
    PlantSensorDescription(
        key="energy_total",
        translation_key="energy_total",
        counter=CounterPeriod.LIFETIME,
        value_fn=_energy("total_energy", "total_power"),
        **ENERGY_KWH,
    ),
    PlantSensorDescription(
        key="income_today",
        translation_key="income_today",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=_station("day_income"),
    ),
    PlantSensorDescription(
        key="income_total",
        translation_key="income_total",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=_station("total_income"),
    ),
    PlantSensorDescription(
        key="health",
        translation_key="health",
        device_class=SensorDeviceClass.ENUM,
        options=HEALTH_STATES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_health,
    ),
)


@dataclass(frozen=True, kw_only=True)
class DeviceSensorDescription(SensorEntityDescription):
    """A device sensor reading one KPI key of the real-time device data."""

    kpi: str
    counter: CounterPeriod | None = None
    value_fn: Callable[[float | None], StateType] | None = None


def _kpi(key: str, kpi: str | None = None, **kwargs: Any) -> DeviceSensorDescription:
    return DeviceSensorDescription(key=key, translation_key=key, kpi=kpi or key, **kwargs)


def _power(key: str, kpi: str | None = None, **kwargs: Any) -> DeviceSensorDescription:
    return _kpi(key, kpi, **POWER_KW, **kwargs)


def _energy_counter(
    key: str, kpi: str, period: CounterPeriod, **kwargs: Any
) -> DeviceSensorDescription:
    return _kpi(key, kpi, counter=period, **ENERGY_KWH, **kwargs)


def _voltage(key: str, enabled: bool = True) -> DeviceSensorDescription:
    return _kpi(
        key,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        entity_registry_enabled_default=enabled,
    )


def _current(key: str) -> DeviceSensorDescription:
    return _kpi(
        key,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        entity_registry_enabled_default=False,
    )


def _measure(
    key: str, device_class: SensorDeviceClass | None, unit: str | None, **kwargs: Any
) -> DeviceSensorDescription:
    return _kpi(
        key,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=unit,
        **kwargs,
    )


def _enum(key: str, states: Mapping[int, str], **kwargs: Any) -> DeviceSensorDescription:
    def read(value: float | None) -> StateType:
        return None if value is None else states.get(int(value), "other")

    return _kpi(
        key,
        device_class=SensorDeviceClass.ENUM,
        options=[*dict.fromkeys(states.values()), "other"],
        value_fn=read,
        **kwargs,
    )


BATTERY_MODES = {
    0: "none",
    1: "forced",
    2: "time_of_use",
    3: "fixed",
    4: "automatic",
}

_DIAGNOSTIC: dict[str, Any] = {"entity_category": EntityCategory.DIAGNOSTIC}
_HIDDEN: dict[str, Any] = {"entity_registry_enabled_default": False}

_GRID_PHASES = (
    *(_voltage(key) for key in ("a_u", "b_u", "c_u")),
    *(_voltage(key, enabled=False) for key in ("ab_u", "bc_u", "ca_u")),
    *(_current(key) for key in ("a_i", "b_i", "c_i")),
)
_POWER_FACTOR = _measure(
    "power_factor",
    SensorDeviceClass.POWER_FACTOR,
    None,
    suggested_display_precision=2,
    **_HIDDEN,
)
_FREQUENCY_UNIT = UnitOfFrequency.HERTZ

INVERTER_SENSORS: tuple[DeviceSensorDescription, ...] = (
    _power("active_power"),
    _kpi(
        "reactive_power",
        device_class=SensorDeviceClass.REACTIVE_POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        suggested_display_precision=0,
        value_fn=lambda kvar: None if kvar is None else round(kvar * 1000, 1),
        **_HIDDEN,
    ),
    _power("input_power", "mppt_power"),
    _energy_counter("yield_today", "day_cap", CounterPeriod.DAY),
    _energy_counter("yield_total", "total_cap", CounterPeriod.LIFETIME),
    _measure("efficiency", None, PERCENTAGE, suggested_display_precision=1, **_DIAGNOSTIC),
    _measure(
        "internal_temperature",
        SensorDeviceClass.TEMPERATURE,
        UnitOfTemperature.CELSIUS,
        kpi="temperature",
        suggested_display_precision=1,
        **_DIAGNOSTIC,
    ),
    _measure(
        "grid_frequency",
        SensorDeviceClass.FREQUENCY,
        _FREQUENCY_UNIT,
        kpi="elec_freq",
        suggested_display_precision=2,
    ),
    _POWER_FACTOR,
    _enum("inverter_state", INVERTER_STATES),
    *_GRID_PHASES,
)

BATTERY_SENSORS: tuple[DeviceSensorDescription, ...] = (
    _measure(
        "state_of_charge",
        SensorDeviceClass.BATTERY,
        PERCENTAGE,
        kpi="battery_soc",
        suggested_display_precision=0,
    ),
    _measure(
        "state_of_health",
        None,
        PERCENTAGE,
        kpi="battery_soh",
        suggested_display_precision=0,
        **_DIAGNOSTIC,
    ),
    _power("charge_discharge_power", "ch_discharge_power"),
    _power("max_charge_power", **_DIAGNOSTIC, **_HIDDEN),
    _power("max_discharge_power", **_DIAGNOSTIC, **_HIDDEN),
    _energy_counter("charged_energy", "charge_cap", CounterPeriod.LIFETIME),
    _energy_counter("discharged_energy", "discharge_cap", CounterPeriod.LIFETIME),
    _voltage("busbar_u"),
    _enum("battery_status", BATTERY_STATES),
    _enum("working_mode", BATTERY_MODES, kpi="ch_discharge_model"),
)

# Huawei meters count feed-in as forward (positive) energy, like their active
# power (> 0 export); reverse energy is what the house draws from the grid.
_METER_COMMON: tuple[DeviceSensorDescription, ...] = (
    _power("active_power"),
    _energy_counter("grid_export_energy", "active_cap", CounterPeriod.LIFETIME),
    _energy_counter("grid_import_energy", "reverse_active_cap", CounterPeriod.LIFETIME),
    _measure(
        "grid_frequency",
        SensorDeviceClass.FREQUENCY,
        _FREQUENCY_UNIT,
        suggested_display_precision=2,
    ),
    _POWER_FACTOR,
)

METER_SENSORS: tuple[DeviceSensorDescription, ...] = (
    *_METER_COMMON,
    *_GRID_PHASES,
    *(_power(f"active_power_{phase}", **_HIDDEN) for phase in "abc"),
)

POWER_SENSOR_SENSORS: tuple[DeviceSensorDescription, ...] = (
    *_METER_COMMON,
    _voltage("meter_u"),
    _current("meter_i"),
)

EMI_SENSORS: tuple[DeviceSensorDescription, ...] = (
    _measure(
        "irradiance",
        SensorDeviceClass.IRRADIANCE,
        UnitOfIrradiance.WATTS_PER_SQUARE_METER,
        kpi="radiant_line",
        suggested_display_precision=0,
    ),
    _measure(
        "horizontal_irradiance",
        SensorDeviceClass.IRRADIANCE,
        UnitOfIrradiance.WATTS_PER_SQUARE_METER,
        kpi="horiz_radiant_line",
        suggested_display_precision=0,
        **_HIDDEN,
    ),
    _measure(
        "ambient_temperature",
        SensorDeviceClass.TEMPERATURE,
        UnitOfTemperature.CELSIUS,
        kpi="temperature",
        suggested_display_precision=1,
    ),
    _measure(
        "module_temperature",
        SensorDeviceClass.TEMPERATURE,
        UnitOfTemperature.CELSIUS,
        kpi="pv_temperature",
        suggested_display_precision=1,
    ),
    _measure(
        "wind_speed",
        SensorDeviceClass.WIND_SPEED,
        UnitOfSpeed.METERS_PER_SECOND,
        suggested_unit_of_measurement=UnitOfSpeed.METERS_PER_SECOND,
        suggested_display_precision=1,
    ),
    _measure("wind_direction", None, DEGREE, suggested_display_precision=0, **_HIDDEN),
)

DEVICE_SENSORS: dict[DeviceKind, tuple[DeviceSensorDescription, ...]] = {
    DeviceKind.INVERTER: INVERTER_SENSORS,
    DeviceKind.BATTERY: BATTERY_SENSORS,
    DeviceKind.METER: METER_SENSORS,
    DeviceKind.POWER_SENSOR: POWER_SENSOR_SENSORS,
    DeviceKind.EMI: EMI_SENSORS,
}

REFRESH_INTERVAL = SensorEntityDescription(
    key="refresh_interval",
    translation_key="refresh_interval",
    device_class=SensorDeviceClass.DURATION,
    native_unit_of_measurement=UnitOfTime.SECONDS,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up plant and device sensors, and add devices that appear later."""
    plants = selected_plants(entry)
    async_add_entities(
        [
            *(
                PlantSensor(entry, code, description)
                for code in plants
                for description in PLANT_SENSORS
            ),
            *(RefreshIntervalSensor(entry, code) for code in plants),
            *alarm_sensors(entry),
            *history_sensors(entry, plants),
        ]
    )
    async_when_ready(
        entry,
        lambda: can_control(entry),
        lambda: async_add_entities(DispatchStatusSensor(entry, code) for code in plants),
    )
    async_add_device_entities(
        entry,
        async_add_entities,
        lambda device: [
            DeviceSensor(entry, device, description)
            for description in DEVICE_SENSORS.get(device.kind, ())
        ],
    )


@dataclass
class CloudSensorData(SensorExtraStoredData):
    """A sensor's stored value and unit, with the time of its cloud data."""

    data_updated: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Return the data to store."""
        return {**super().as_dict(), UPDATED: stored_time(self.data_updated)}


class _CloudValueSensor(RestoreSensor, CloudDataEntity[Any]):
    """Compute the value once per update; pass counters through a `CounterGuard`."""

    @cached_property
    def _guard(self) -> CounterGuard | None:
        counter: CounterPeriod | None = getattr(self.entity_description, "counter", None)
        return None if counter is None else CounterGuard(counter, self._capacity_kw())

    def _capacity_kw(self) -> float | None:
        """Return the capacity of the plant behind this sensor's counter, if known."""
        raise NotImplementedError

    def _read(self) -> StateType:
        """Return the raw cloud value for this sensor."""
        raise NotImplementedError

    def _shown_value(self) -> ShownValue:
        value = self._attr_native_value
        return value if isinstance(value, str | int | float) else None

    def _load_restored(self, data: Mapping[str, Any]) -> CloudData | None:
        last = SensorExtraStoredData.from_dict(dict(data))
        if last is None or not isinstance(last.native_value, str | int | float | None):
            return None
        return CloudData(last.native_value, restored_time(data))

    @property
    def extra_restore_state_data(self) -> CloudSensorData:
        """Store the sensor's value and unit, and the time of its data."""
        return CloudSensorData(
            self.native_value, self.native_unit_of_measurement, self.data_updated
        )

    async def async_added_to_hass(self) -> None:
        """Restore the last value, and the highest counter value shown before."""
        await super().async_added_to_hass()
        if self._guard is not None:
            last = await self.async_get_last_sensor_data()
            state = await self.async_get_last_state()
            extra = await self.async_get_last_extra_data()
            at = restored_time(extra.as_dict()) if extra is not None else None
            if last is not None and isinstance(last.native_value, (int, float)) and state:
                shown_at = dt_util.as_local(at or state.last_changed)
                self._guard.accept(float(last.native_value), shown_at)
        self._update_value()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._update_value()
        super()._handle_coordinator_update()

    def _update_value(self) -> None:
        if (restored := self.restored) is not None:
            self._attr_native_value = restored.value
            return
        value = self._read()
        if self._guard is not None:
            number = float(value) if isinstance(value, (int, float)) else None
            value = self._guard.accept(number, dt_util.now())
        self._attr_native_value = value


class PlantSensor(_CloudValueSensor, PlantEntity, SensorEntity):
    """A sensor of a plant."""

    entity_description: PlantSensorDescription

    def _read(self) -> StateType:
        state = self.plant_state
        return None if state is None else self.entity_description.value_fn(state)

    def _capacity_kw(self) -> float | None:
        return plant_capacity_kw(self.coordinator.config_entry, self.plant_code)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Return the unit; income is in the plant's currency, assumed Home Assistant's."""
        if self.entity_description.device_class is SensorDeviceClass.MONETARY:
            return self.hass.config.currency
        return super().native_unit_of_measurement


class DeviceSensor(_CloudValueSensor, DeviceEntity, SensorEntity):
    """A sensor of an inverter, battery, meter, power sensor or EMI."""

    entity_description: DeviceSensorDescription

    def _read(self) -> StateType:
        if (state := self.device_state) is None:
            return None
        raw = state.kpi.values.get(self.entity_description.kpi)
        if self.entity_description.value_fn is not None:
            return self.entity_description.value_fn(raw)
        return raw

    def _capacity_kw(self) -> float | None:
        return plant_capacity_kw(self.coordinator.config_entry, self.device.plant_code)


class RefreshIntervalSensor(FusionSolarEntity[DeviceCoordinator], SensorEntity):
    """How often device data is really refreshed within the account's quota."""

    def __init__(self, entry: FusionSolarConfigEntry, plant_code: str) -> None:
        """Initialize the sensor on the plant's device."""
        super().__init__(entry.runtime_data.devices, REFRESH_INTERVAL, plant_code)
        plant = entry.runtime_data.metadata.data.plants.get(plant_code)
        self._attr_device_info = plant_device_info(plant_code, plant)

    @property
    def native_value(self) -> float | None:
        """Return the longest recent interval between two device refreshes."""
        interval = self.coordinator.achieved_interval
        return None if interval is None else interval.total_seconds()


# ---------------------------- issue 18: entities moved from alarms, control, history


@dataclass(frozen=True, kw_only=True)
class AlarmCountDescription(SensorEntityDescription):
    """A sensor counting the active alarms of one level."""

    level: AlarmLevel


ALARM_COUNT_SENSORS = tuple(
    AlarmCountDescription(
        key=f"{level.name.lower()}_alarms",
        translation_key=f"{level.name.lower()}_alarms",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        level=level,
    )
    for level in AlarmLevel
)


class AlarmCountSensor(AlarmEntity, SensorEntity):
    """The number of active alarms of one level on a plant."""

    entity_description: AlarmCountDescription

    @property
    def native_value(self) -> int:
        """Return the count of active alarms of this level."""
        level = self.entity_description.level
        return sum(1 for alarm in self.plant_alarms if alarm.level is level)


def alarm_sensors(entry: FusionSolarConfigEntry) -> list[AlarmCountSensor]:
    """Return the alarm count sensors of an entry."""
    return alarm_entities(entry, AlarmCountSensor, ALARM_COUNT_SENSORS)


DISPATCH_STATUS = SensorEntityDescription(
    key="dispatch_status",
    translation_key="dispatch_status",
    device_class=SensorDeviceClass.ENUM,
    options=[phase.value for phase in DispatchPhase],
)


class DispatchStatusSensor(PlantScopedEntity[DispatchCoordinator], SensorEntity):
    """The state of a plant's latest forced charge/discharge task."""

    def __init__(self, entry: FusionSolarConfigEntry, plant_code: str) -> None:
        """Initialize the sensor on the plant's device."""
        super().__init__(entry.runtime_data.dispatch, entry, plant_code, DISPATCH_STATUS)
        self._entry = entry

    async def async_added_to_hass(self) -> None:
        """Follow the tasks, and the plant refreshes for availability."""
        await super().async_added_to_hass()
        plants = self._entry.runtime_data.plants
        self.async_on_remove(plants.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Return whether the account can control batteries (V7)."""
        return self.coordinator.account.client.families.v7

    @property
    def native_value(self) -> str:
        """Return the task's state."""
        task = self.coordinator.plants.get(self.plant_code)
        return DispatchPhase.IDLE.value if task is None else task.phase.value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the task's request id, energies and times."""
        task = self.coordinator.plants.get(self.plant_code)
        if task is None:
            return None
        attributes = task.as_dict()
        del attributes["state"]
        return attributes


HISTORY_BACKFILL = SensorEntityDescription(
    key="history_backfill",
    translation_key="history_backfill",
    native_unit_of_measurement=PERCENTAGE,
    entity_category=EntityCategory.DIAGNOSTIC,
    suggested_display_precision=0,
)


class HistoryBackfillSensor(PlantScopedEntity[HistoryCoordinator], SensorEntity):
    """How much of the plant's history window is imported as statistics (100 = done)."""

    @property
    def available(self) -> bool:
        """Return True: the progress is known whatever the last run met."""
        return True

    @property
    def native_value(self) -> float | None:
        """Return the imported share of the window, unknown before the first run."""
        return self.coordinator.progress.get(self.plant_code)


def history_sensors(
    entry: FusionSolarConfigEntry, plant_codes: list[str]
) -> list[HistoryBackfillSensor]:
    """Return the backfill sensors of an entry (none without the recorder)."""
    importer = entry.runtime_data.history
    if importer is None:
        return []
    return [HistoryBackfillSensor(importer, entry, code, HISTORY_BACKFILL) for code in plant_codes]
