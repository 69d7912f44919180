"""Devices of a simulated plant: kinds, type ids, serial numbers and NE addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import const
from .config import DeviceSpec

if TYPE_CHECKING:
    from .model import Plant

LEGACY_TYPE = {
    "inverter": const.DEV_RESIDENTIAL_INVERTER,
    "string_inverter": const.DEV_STRING_INVERTER,
    "battery": const.DEV_BATTERY,
    "meter": const.DEV_GRID_METER,
    "power_sensor": const.DEV_POWER_SENSOR,
    "emi": const.DEV_EMI,
}
V7_TYPE = {
    "inverter": const.V7_INVERTER,
    "string_inverter": const.V7_INVERTER,
    "battery": const.V7_BATTERY,
    "meter": const.V7_METER,
    "power_sensor": const.V7_METER,
    "emi": const.V7_EMI,
}
SN_PREFIX = {
    "inverter": "HV",
    "string_inverter": "ES",
    "battery": "LU",
    "meter": "DT",
    "power_sensor": "PS",
    "emi": "EM",
}
BATTERY_EOD_RANGE = {"huawei": (0, 20), "lg": (12, 20)}

NE_BASE = 33554432
NE_STRIDE = 64
# Devices beyond the 63rd of a plant are numbered here, 65536 per plant (no collision).
NE_OVERFLOW_BASE = 1 << 30
DEV_ID_BASE = 1_000_000_000_000_000


class NeAddressed:
    """A device of a plant addressed by its NE number: V7 DN and legacy numeric id."""

    plant: Plant
    ne: int

    @property
    def dn(self) -> str:
        """V7 device DN."""
        return f"NE={self.ne}"

    @property
    def dev_id(self) -> int:
        """Legacy numeric device id."""
        return DEV_ID_BASE + self.ne


@dataclass
class Device(NeAddressed):
    """A device of a plant; identity for both API families."""

    plant: Plant
    index: int
    spec: DeviceSpec
    ne: int
    sn: str
    name: str
    model: str
    software_version: str
    rated_power_kw: float = 0.0
    capacity_kwh: float = 0.0
    max_power_w: float = 0.0
    control_fails: bool = False  # admin hook: control commands report failure

    @property
    def kind(self) -> str:
        """Device kind (inverter, string_inverter, battery, meter, power_sensor, emi)."""
        return self.spec.kind

    @property
    def dev_type_id(self) -> int:
        """Legacy devTypeId."""
        return LEGACY_TYPE[self.kind]

    @property
    def v7_type_id(self) -> int:
        """V7 deviceTypeId."""
        return V7_TYPE[self.kind]

    @property
    def is_inverter(self) -> bool:
        """Residential or string inverter."""
        return self.kind in ("inverter", "string_inverter")

    @property
    def eod_range(self) -> tuple[int, int]:
        """Allowed end-of-discharge SOC range of a battery."""
        return BATTERY_EOD_RANGE[self.spec.vendor]
