"""Alarms of the simulated devices and the catalog of alarm types they are raised from."""

from __future__ import annotations

from dataclasses import dataclass

from .devices import Device


@dataclass
class Alarm:
    """An alarm on a device."""

    key: str
    alarm_id: int
    device: Device
    raise_time: float
    clear_time: float | None
    manual: bool = False
    cleared_by_user: bool = False

    @property
    def info(self) -> AlarmInfo:
        """Catalog entry."""
        return ALARM_CATALOG[self.alarm_id]

    def active_at(self, t: float) -> bool:
        """Raised and not yet cleared at ``t``."""
        return self.raise_time <= t and (self.clear_time is None or self.clear_time > t)


@dataclass(frozen=True)
class AlarmInfo:
    """Catalog data of an alarm type."""

    alarm_id: int
    kinds: tuple[str, ...]
    level: int  # 1 critical, 2 major, 3 minor, 4 warning
    alarm_type: int
    names: dict[str, str]
    cause: str
    repair: str


ALARM_CATALOG: dict[int, AlarmInfo] = {
    2032: AlarmInfo(
        2032,
        ("inverter", "string_inverter"),
        2,
        2,
        {
            "en_UK": "Grid Loss",
            "zh_CN": "电网掉电",
            "de_DE": "Netzausfall",
            "nl_NL": "Netuitval",
        },
        "The power grid experiences an outage, or the AC circuit or AC breaker is off.",
        "1. Check that the AC voltage is normal. 2. Check that the AC circuit breaker is on.",
    ),
    2062: AlarmInfo(
        2062,
        ("inverter", "string_inverter"),
        2,
        2,
        {
            "en_UK": "Low Insulation Resistance",
            "zh_CN": "绝缘阻抗低",
            "de_DE": "Niedriger Isolationswiderstand",
            "nl_NL": "Lage isolatieweerstand",
        },
        "A short circuit exists between the PV array and the ground.",
        "Check the impedance between the PV array output and the ground.",
    ),
    2003: AlarmInfo(
        2003,
        ("inverter", "string_inverter"),
        1,
        2,
        {
            "en_UK": "DC Arc Fault",
            "zh_CN": "直流电弧故障",
            "de_DE": "DC-Lichtbogenfehler",
            "nl_NL": "DC-boogfout",
        },
        "The PV string arcs or is in poor contact.",
        "Check whether the PV string has arcs or is in poor contact.",
    ),
    61440: AlarmInfo(
        61440,
        ("inverter", "string_inverter"),
        3,
        2,
        {
            "en_UK": "The monitoring unit is faulty.",
            "zh_CN": "监控单元故障",
            "de_DE": "Die Überwachungseinheit ist fehlerhaft.",
            "nl_NL": "De bewakingseenheid is defect.",
        },
        "The flash memory space is insufficient.",
        "Turn off the AC output switch and DC input switch, then turn them on after 5 minutes.",
    ),
    2068: AlarmInfo(
        2068,
        ("battery",),
        3,
        2,
        {
            "en_UK": "Battery Abnormal",
            "zh_CN": "电池异常",
            "de_DE": "Batterie anormal",
            "nl_NL": "Batterij abnormaal",
        },
        "The battery is faulty, disconnected, or the battery breaker is off.",
        "Check the battery power cables and the battery switch.",
    ),
    2067: AlarmInfo(
        2067,
        ("meter", "power_sensor"),
        4,
        5,
        {
            "en_UK": "Faulty Power Collector",
            "zh_CN": "采集器故障",
            "de_DE": "Leistungsmesser defekt",
            "nl_NL": "Vermogensmeter defect",
        },
        "The communication with the power meter is interrupted.",
        "Check that the power meter cable is connected and the meter is powered on.",
    ),
}
