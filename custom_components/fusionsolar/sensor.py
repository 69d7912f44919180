"""Sensors: plant power flow and energy, device measurements.

Sign conventions (V7, documented in the README): grid power > 0 is export,
< 0 import; battery power > 0 is discharge, < 0 charge. Import/export and
charge/discharge also have their own non-negative sensors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
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

from .api import (
    ActivePowerControlMode,
    AlarmLevel,
    ApiGeneration,
    BatteryStatus,
    BatteryWorkingMode,
    CodedState,
    DeviceKind,
    DeviceRealtimeKpi,
    Endpoint,
    InverterState,
    KpiPeriod,
    PlantHealth,
    PlantRealtimeKpi,
    StationRealtimeKpi,
    kpi_key_for,
)
from .control import can_control
from .coordinator import (
    ConfigurationCoordinator,
    DeviceCoordinator,
    DispatchCoordinator,
    DispatchPhase,
    FusionSolarConfigEntry,
    HistoryCoordinator,
    PlantCoordinator,
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
    async_add_described_device_entities,
    async_when_ready,
    plant_capacity_kw,
    plant_device_info,
    plant_zone,
    restored_time,
    stored_time,
)

PARALLEL_UPDATES = 0

HEALTH_STATES = [health.value for health in PlantHealth]


@dataclass(frozen=True, kw_only=True)
class CloudSensorDescription[DataT](SensorEntityDescription):
    """A sensor and how to read it from its data (a plant's state, a device's KPIs)."""

    value_fn: Callable[[DataT], StateType]
    counter: CounterPeriod | None = None
    # Reads a plant's legacy KPIs only (income): hourly with V7, with their own time.
    legacy_kpis: bool = False


type PlantSensorDescription = CloudSensorDescription[PlantState]
type DeviceSensorDescription = CloudSensorDescription[DeviceRealtimeKpi]


def _numeric[DataT](
    key: str,
    value_fn: Callable[[DataT], StateType],
    kind: tuple[SensorDeviceClass | None, SensorStateClass, str | None, int],
    *,
    category: EntityCategory | None = None,
    enabled: bool = True,
    counter: CounterPeriod | None = None,
) -> CloudSensorDescription[DataT]:
    """A numeric sensor of a `kind`: device class, state class, unit, display precision."""
    device_class, state_class, unit, precision = kind
    return CloudSensorDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        state_class=state_class,
        native_unit_of_measurement=unit,
        suggested_display_precision=precision,
        entity_category=category,
        entity_registry_enabled_default=enabled,
        counter=counter,
        value_fn=value_fn,
    )


def _measurement[DataT](
    key: str,
    value_fn: Callable[[DataT], StateType],
    device_class: SensorDeviceClass | None,
    unit: str | None,
    precision: int,
    *,
    category: EntityCategory | None = None,
    enabled: bool = True,
) -> CloudSensorDescription[DataT]:
    """A measurement sensor (state class `measurement`)."""
    kind = (device_class, SensorStateClass.MEASUREMENT, unit, precision)
    return _numeric(key, value_fn, kind, category=category, enabled=enabled)


def _power[DataT](
    key: str,
    value_fn: Callable[[DataT], StateType],
    *,
    category: EntityCategory | None = None,
    enabled: bool = True,
) -> CloudSensorDescription[DataT]:
    return _measurement(
        key,
        value_fn,
        SensorDeviceClass.POWER,
        UnitOfPower.KILO_WATT,
        3,
        category=category,
        enabled=enabled,
    )


_ENERGY_KWH = (
    SensorDeviceClass.ENERGY,
    SensorStateClass.TOTAL_INCREASING,
    UnitOfEnergy.KILO_WATT_HOUR,
    2,
)


def _energy[DataT](
    key: str, period: CounterPeriod, value_fn: Callable[[DataT], StateType]
) -> CloudSensorDescription[DataT]:
    """An energy counter, guarded against cloud glitches per its `period`."""
    return _numeric(key, value_fn, _ENERGY_KWH, counter=period)


def _percentage[DataT](
    key: str,
    value_fn: Callable[[DataT], StateType],
    *,
    device_class: SensorDeviceClass | None = None,
    category: EntityCategory | None = None,
) -> CloudSensorDescription[DataT]:
    return _measurement(key, value_fn, device_class, PERCENTAGE, 0, category=category)


# ------------------------------------------------------------------------------- plants


def _realtime(
    read: Callable[[PlantRealtimeKpi], float | None],
) -> Callable[[PlantState], StateType]:
    """Read V7 real-time plant data."""
    return lambda state: None if state.realtime is None else read(state.realtime)


def _flow(
    read: Callable[[PlantRealtimeKpi], float | None],
) -> Callable[[PlantState], StateType]:
    """Read the power flow: V7's, else the one derived from the plant's devices."""
    return lambda state: None if (flow := state.flow) is None else read(flow)


def _station(
    read: Callable[[StationRealtimeKpi], float | None],
) -> Callable[[PlantState], StateType]:
    """Read the legacy plant KPIs."""
    return lambda state: None if state.station is None else read(state.station)


def _plant_energy(
    v7: Callable[[PlantRealtimeKpi], float | None],
    legacy: Callable[[StationRealtimeKpi], float | None],
) -> Callable[[PlantState], StateType]:
    """Read an energy counter from V7 real-time data, else the legacy plant KPIs."""
    return lambda state: _realtime(v7)(state) if state.realtime else _station(legacy)(state)


def _positive(value: float | None) -> float | None:
    return None if value is None else (value if value > 0 else 0.0)


def _negated_positive(value: float | None) -> float | None:
    return None if value is None else (-value if value < 0 else 0.0)


def _health(state: PlantState) -> StateType:
    source = state.realtime or state.station
    health = source.health if source is not None else None
    return health.value if health is not None else None


PLANT_SENSORS: tuple[PlantSensorDescription, ...] = (
    _power("pv_power", _flow(lambda kpi: kpi.pv_power)),
    _power("load_power", _flow(lambda kpi: kpi.load_power)),
    _power("grid_power", _flow(lambda kpi: kpi.grid_power)),
    _power("grid_import_power", _flow(lambda kpi: _negated_positive(kpi.grid_power))),
    _power("grid_export_power", _flow(lambda kpi: _positive(kpi.grid_power))),
    _power("battery_power", _flow(lambda kpi: kpi.battery_power)),
    _power("battery_charge_power", _flow(lambda kpi: _negated_positive(kpi.battery_power))),
    _power("battery_discharge_power", _flow(lambda kpi: _positive(kpi.battery_power))),
    _percentage(
        "battery_soc",
        _flow(lambda kpi: kpi.battery_soc),
        device_class=SensorDeviceClass.BATTERY,
    ),
    _percentage(
        "battery_dod", _realtime(lambda kpi: kpi.battery_dod), category=EntityCategory.DIAGNOSTIC
    ),
    _energy(
        "energy_today",
        CounterPeriod.DAY,
        _plant_energy(lambda kpi: kpi.day_energy, lambda kpi: kpi.day_power),
    ),
    _energy(
        "energy_this_month",
        CounterPeriod.MONTH,
        _plant_energy(lambda kpi: kpi.month_energy, lambda kpi: kpi.month_power),
    ),
    _energy(
        "energy_total",
        CounterPeriod.LIFETIME,
        _plant_energy(lambda kpi: kpi.total_energy, lambda kpi: kpi.total_power),
    ),
    CloudSensorDescription(
        key="income_today",
        translation_key="income_today",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=_station(lambda kpi: kpi.day_income),
        legacy_kpis=True,
    ),
    CloudSensorDescription(
        key="income_total",
        translation_key="income_total",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=_station(lambda kpi: kpi.total_income),
        legacy_kpis=True,
    ),
    CloudSensorDescription(
        key="health",
        translation_key="health",
        device_class=SensorDeviceClass.ENUM,
        options=HEALTH_STATES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_health,
    ),
)


#: Today's cloud (26.x) only: the plant's day of export and consumption (§5.1.2.1).
TODAYS_CLOUD_PLANT_SENSORS: tuple[PlantSensorDescription, ...] = tuple(
    replace(_energy(key, CounterPeriod.DAY, _station(read)), legacy_kpis=True)
    for key, read in (
        ("grid_export_today", lambda kpi: kpi.day_on_grid_energy),
        ("consumption_today", lambda kpi: kpi.day_use_energy),
    )
)


# ------------------------------------------------------------------------------ devices


@dataclass(frozen=True, slots=True)
class KpiValue:
    """Read one value of a device's real-time KPIs (units: `api.DEVICE_KPI_UNITS`)."""

    key: str

    def __call__(self, kpi: DeviceRealtimeKpi) -> StateType:
        """Return the value (None when the device does not report it)."""
        return kpi.get(self.key)


@dataclass(frozen=True, slots=True)
class PeriodKpi:
    """Read the KPI that counts `period` on the device's API generation (one of `keys`).

    Battery energies: V500R007 ``charge_cap`` is lifetime, 26.x ``charge_cap`` the day's
    and ``total_charged_energy`` lifetime (``api.DEVICE_KPI_PERIODS``).
    """

    keys: tuple[str, ...]
    period: KpiPeriod

    def __call__(self, kpi: DeviceRealtimeKpi) -> StateType:
        """Return the value (None when no key counts `period` there)."""
        key = kpi_key_for(kpi.generation, kpi.dev_type_id, self.keys, self.period)
        return None if key is None else kpi.get(key)


def _measure(
    key: str,
    device_class: SensorDeviceClass | None,
    unit: str | None,
    precision: int,
    *,
    kpi: str | None = None,
    category: EntityCategory | None = None,
    enabled: bool = True,
) -> DeviceSensorDescription:
    """A measurement read from one KPI (`kpi`, else the sensor's key)."""
    return _measurement(
        key,
        KpiValue(kpi or key),
        device_class,
        unit,
        precision,
        category=category,
        enabled=enabled,
    )


def _voltage(key: str, enabled: bool = True) -> DeviceSensorDescription:
    return _measure(
        key, SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, 1, enabled=enabled
    )


def _current(key: str) -> DeviceSensorDescription:
    return _measure(key, SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, 2, enabled=False)


def _state(
    key: str, states: type[CodedState], read: Callable[[DeviceRealtimeKpi], CodedState | None]
) -> DeviceSensorDescription:
    """An enum sensor of a coded state; a code the spec does not list shows as `other`."""
    return CloudSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENUM,
        options=[state.key for state in states],
        value_fn=lambda kpi: None if (state := read(kpi)) is None else state.key,
    )


def _reactive_power(kpi: DeviceRealtimeKpi) -> StateType:
    kvar = kpi.get("reactive_power")
    return None if kvar is None else round(kvar * 1000, 1)


_GRID_PHASES = (
    *(_voltage(key) for key in ("a_u", "b_u", "c_u")),
    *(_voltage(key, enabled=False) for key in ("ab_u", "bc_u", "ca_u")),
    *(_current(key) for key in ("a_i", "b_i", "c_i")),
)
_POWER_FACTOR = _measure("power_factor", SensorDeviceClass.POWER_FACTOR, None, 2, enabled=False)
_FREQUENCY_UNIT = UnitOfFrequency.HERTZ
_TEMPERATURE = (SensorDeviceClass.TEMPERATURE, UnitOfTemperature.CELSIUS, 1)
_IRRADIANCE = (SensorDeviceClass.IRRADIANCE, UnitOfIrradiance.WATTS_PER_SQUARE_METER, 0)
_DIAGNOSTIC = EntityCategory.DIAGNOSTIC

INVERTER_SENSORS: tuple[DeviceSensorDescription, ...] = (
    _power("active_power", KpiValue("active_power")),
    CloudSensorDescription(
        key="reactive_power",
        translation_key="reactive_power",
        device_class=SensorDeviceClass.REACTIVE_POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        value_fn=_reactive_power,
    ),
    _power("input_power", KpiValue("mppt_power")),
    _energy("yield_today", CounterPeriod.DAY, KpiValue("day_cap")),
    _energy("yield_total", CounterPeriod.LIFETIME, KpiValue("total_cap")),
    _measure("efficiency", None, PERCENTAGE, 1, category=_DIAGNOSTIC),
    _measure("internal_temperature", *_TEMPERATURE, kpi="temperature", category=_DIAGNOSTIC),
    _measure("grid_frequency", SensorDeviceClass.FREQUENCY, _FREQUENCY_UNIT, 2, kpi="elec_freq"),
    _POWER_FACTOR,
    _state("inverter_state", InverterState, lambda kpi: kpi.inverter_state),
    *_GRID_PHASES,
)

_CHARGED = ("charge_cap", "total_charged_energy")
_DISCHARGED = ("discharge_cap", "total_discharged_energy")
_BATTERY_LIFETIME_ENERGY: tuple[DeviceSensorDescription, ...] = (
    _energy("charged_energy", CounterPeriod.LIFETIME, PeriodKpi(_CHARGED, KpiPeriod.LIFETIME)),
    _energy(
        "discharged_energy", CounterPeriod.LIFETIME, PeriodKpi(_DISCHARGED, KpiPeriod.LIFETIME)
    ),
)
# 26.x: the day's energies, reset at the plant's midnight (the guard tells it from a dip).
_BATTERY_DAY_ENERGY: tuple[DeviceSensorDescription, ...] = (
    _energy("charged_energy_today", CounterPeriod.DAY, PeriodKpi(_CHARGED, KpiPeriod.DAY)),
    _energy("discharged_energy_today", CounterPeriod.DAY, PeriodKpi(_DISCHARGED, KpiPeriod.DAY)),
)
_BATTERY_COMMON: tuple[DeviceSensorDescription, ...] = (
    _percentage("state_of_charge", KpiValue("battery_soc"), device_class=SensorDeviceClass.BATTERY),
    _power("charge_discharge_power", KpiValue("ch_discharge_power")),
    _power("max_charge_power", KpiValue("max_charge_power"), category=_DIAGNOSTIC, enabled=False),
    _power(
        "max_discharge_power", KpiValue("max_discharge_power"), category=_DIAGNOSTIC, enabled=False
    ),
    _measure(
        "rated_capacity",
        SensorDeviceClass.ENERGY_STORAGE,
        UnitOfEnergy.KILO_WATT_HOUR,
        1,
        category=_DIAGNOSTIC,
    ),
    _voltage("busbar_u"),
    _state("battery_status", BatteryStatus, lambda kpi: kpi.battery_status),
    _state("working_mode", BatteryWorkingMode, lambda kpi: kpi.battery_working_mode),
)

BATTERY_SENSORS: tuple[DeviceSensorDescription, ...] = (
    _percentage("state_of_health", KpiValue("battery_soh"), category=_DIAGNOSTIC),
    *_BATTERY_LIFETIME_ENERGY,
    *_BATTERY_DAY_ENERGY,
    *_BATTERY_COMMON,
)

# Huawei meters count feed-in as forward (positive) energy, like their active
# power (> 0 export); reverse energy is what the house draws from the grid.
_METER_COMMON: tuple[DeviceSensorDescription, ...] = (
    _power("active_power", KpiValue("active_power")),
    _energy("grid_export_energy", CounterPeriod.LIFETIME, KpiValue("active_cap")),
    _energy("grid_import_energy", CounterPeriod.LIFETIME, KpiValue("reverse_active_cap")),
    _measure("grid_frequency", SensorDeviceClass.FREQUENCY, _FREQUENCY_UNIT, 2),
    _POWER_FACTOR,
)

METER_SENSORS: tuple[DeviceSensorDescription, ...] = (
    *_METER_COMMON,
    *_GRID_PHASES,
    *(
        _power(f"active_power_{phase}", KpiValue(f"active_power_{phase}"), enabled=False)
        for phase in "abc"
    ),
)

POWER_SENSOR_SENSORS: tuple[DeviceSensorDescription, ...] = (
    *_METER_COMMON,
    _voltage("meter_u"),
    _current("meter_i"),
)

EMI_SENSORS: tuple[DeviceSensorDescription, ...] = (
    _measure("irradiance", *_IRRADIANCE, kpi="radiant_line"),
    _measure("horizontal_irradiance", *_IRRADIANCE, kpi="horiz_radiant_line", enabled=False),
    _measure("ambient_temperature", *_TEMPERATURE, kpi="temperature"),
    _measure("module_temperature", *_TEMPERATURE, kpi="pv_temperature"),
    CloudSensorDescription(
        key="wind_speed",
        translation_key="wind_speed",
        device_class=SensorDeviceClass.WIND_SPEED,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfSpeed.METERS_PER_SECOND,
        suggested_unit_of_measurement=UnitOfSpeed.METERS_PER_SECOND,
        suggested_display_precision=1,
        value_fn=KpiValue("wind_speed"),
    ),
    _measure("wind_direction", None, DEGREE, 0, enabled=False),
)

# SmartAssistant (EMMA, 23070): a meter at the grid connection point (kW) with an
# external CT ("ex_"), which measures the PV output where it is wired to one.
SMART_ASSISTANT_SENSORS: tuple[DeviceSensorDescription, ...] = (
    *_METER_COMMON[:3],
    _POWER_FACTOR,
    *_GRID_PHASES,
    *(
        _power(f"active_power_{phase}", KpiValue(f"active_power_{phase}"), enabled=False)
        for phase in "abc"
    ),
    _power("external_active_power", KpiValue("ex_active_power")),
    _energy("external_forward_energy", CounterPeriod.LIFETIME, KpiValue("ex_active_cap")),
    _energy("external_reverse_energy", CounterPeriod.LIFETIME, KpiValue("ex_reverse_active_cap")),
)

# PV + storage all-in-one (23093): an inverter and a battery in one device.
ALL_IN_ONE_SENSORS: tuple[DeviceSensorDescription, ...] = (
    *INVERTER_SENSORS,
    *_BATTERY_DAY_ENERGY,
    *_BATTERY_COMMON,
)

DEVICE_SENSORS: dict[DeviceKind, tuple[DeviceSensorDescription, ...]] = {
    DeviceKind.INVERTER: INVERTER_SENSORS,
    DeviceKind.BATTERY: BATTERY_SENSORS,
    DeviceKind.METER: METER_SENSORS,
    DeviceKind.POWER_SENSOR: POWER_SENSOR_SENSORS,
    DeviceKind.EMI: EMI_SENSORS,
    DeviceKind.SMART_ASSISTANT: SMART_ASSISTANT_SENSORS,
    DeviceKind.ALL_IN_ONE: ALL_IN_ONE_SENSORS,
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
    plant_sensors = PLANT_SENSORS
    if entry.runtime_data.account.client.generation is ApiGeneration.CLOUD_2026:
        plant_sensors += TODAYS_CLOUD_PLANT_SENSORS
    async_add_entities(
        [
            *(
                PlantSensor(entry, code, description)
                for code in plants
                for description in plant_sensors
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
    async_add_described_device_entities(entry, async_add_entities, DEVICE_SENSORS, DeviceSensor)
    if (configuration := entry.runtime_data.configuration) is not None:
        async_add_entities(ExportControlModeSensor(configuration, entry, code) for code in plants)


@dataclass
class CloudSensorData(SensorExtraStoredData):
    """A sensor's stored value and unit, with the time of its cloud data."""

    data_updated: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Return the data to store."""
        return {**super().as_dict(), UPDATED: stored_time(self.data_updated)}


class _CloudValueSensor(RestoreSensor, CloudDataEntity[Any]):
    """Compute the value once per update; pass counters through a `CounterGuard`."""

    entity_description: CloudSensorDescription[Any]

    @cached_property
    def _guard(self) -> CounterGuard | None:
        counter = self.entity_description.counter
        if counter is None:
            return None
        return CounterGuard(counter, self._capacity_kw(), self._zone())

    def _capacity_kw(self) -> float | None:
        """Return the capacity of the plant behind this sensor's counter, if known."""
        raise NotImplementedError

    def _zone(self) -> tzinfo | None:
        """Return the time zone of the plant's day (None: Home Assistant's)."""
        return None

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
    def _owner(self) -> str:
        owner = super()._owner
        return f"{owner} (hourly KPIs)" if self.entity_description.legacy_kpis else owner

    def _live_updated(self) -> datetime | None:
        if not self.entity_description.legacy_kpis:
            return super()._live_updated()
        return None if (state := self.plant_state) is None else state.station_updated

    @property
    def _stale_after(self) -> timedelta:
        plants: PlantCoordinator = self.coordinator
        return (
            plants.hourly_stale_after if self.entity_description.legacy_kpis else plants.stale_after
        )

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
        state = self.device_state
        return None if state is None else self.entity_description.value_fn(state.kpi)

    def _capacity_kw(self) -> float | None:
        return plant_capacity_kw(self.coordinator.config_entry, self.device.plant_code)

    def _zone(self) -> tzinfo | None:
        return plant_zone(self.coordinator.config_entry, self.device.plant_code)


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
        """Return whether the account can control batteries (V7 or today's tasks)."""
        return can_control(self._entry)

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


EXPORT_CONTROL_MODE = SensorEntityDescription(
    key="export_control_mode",
    translation_key="export_control_mode",
    device_class=SensorDeviceClass.ENUM,
    entity_category=EntityCategory.DIAGNOSTIC,
    options=[
        "no_limit",
        "zero_export",
        "limited_feed_in_kw",
        "limited_feed_in_percent",
        "other",
    ],
)
_EXPORT_MODES: Mapping[ActivePowerControlMode, str] = dict(
    zip(ActivePowerControlMode, EXPORT_CONTROL_MODE.options or (), strict=True)
)


class ExportControlModeSensor(PlantScopedEntity[ConfigurationCoordinator], SensorEntity):
    """A plant's active-power (export) control mode on today's cloud (§5.1.5.2, hourly)."""

    def __init__(
        self, configuration: ConfigurationCoordinator, entry: FusionSolarConfigEntry, code: str
    ) -> None:
        """Initialize the sensor on the plant's device."""
        super().__init__(configuration, entry, code, EXPORT_CONTROL_MODE)

    @property
    def available(self) -> bool:
        """Return whether the plant answers the query."""
        return super().available and self.coordinator.supported(
            Endpoint.NBI_ACTIVE_POWER_MODE, self.plant_code
        )

    @property
    def native_value(self) -> str | None:
        """Return the mode the cloud reported."""
        config = self.coordinator.plant(self.plant_code).active_power
        return None if config is None else _EXPORT_MODES[config.mode]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the feed-in limit (kW or % of the rated power)."""
        config = self.coordinator.plant(self.plant_code).active_power
        if config is None:
            return None
        return {"limit_kw": config.limit_kw, "limit_percent": config.limit_percent}
