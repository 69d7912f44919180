"""Configuration of the simulator: accounts, devices, quirks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from . import const

Profile = Literal["spec", "field", "cloud-2026", "cloud-2026+field"]
PROFILES: tuple[str, ...] = ("spec", "field", "cloud-2026", "cloud-2026+field")
CLOUD_2026 = "cloud-2026"
DeviceKind = Literal["inverter", "string_inverter", "battery", "meter", "power_sensor", "emi"]
BatteryVendor = Literal["huawei", "lg"]
AccountStatus = Literal["ok", "forbidden", "expired", "restricted"]


@dataclass(frozen=True)
class DeviceSpec:
    """One device of a plant.

    ``kind`` picks the legacy devTypeId / V7 deviceTypeId:
    inverter 38/20822, string_inverter 1/20822, battery 39/20815, meter 17/20816,
    power_sensor 47/20816, emi 10/20824.
    """

    kind: DeviceKind
    model: str | None = None
    # inverters
    rated_power_kw: float | None = None  # default: seeded from the plant's PV size
    # batteries
    vendor: BatteryVendor = "huawei"
    capacity_kwh: float | None = None  # default 10 (Huawei LUNA2000) / 9.8 (LG RESU10H)
    max_power_w: float | None = None  # default 5000
    dod: int | None = None  # initial DoD, default 90 (Huawei) / 85 (LG)
    soc_control_supported: bool = True  # False -> chargeAndDischarge SOC control: 20053


DeviceLike = DeviceKind | DeviceSpec | str

DEFAULT_DEVICES: tuple[DeviceLike, ...] = ("inverter", "battery", "meter")


@dataclass
class Account:
    """An NBI account.

    ``plants`` are indices (0-based) or plant codes the account may see; None = all.
    ``denied_endpoints`` maps an endpoint path to the failCode returned for it (401 or
    20056), independent of the field ``permission`` quirk.
    """

    username: str
    password: str
    plants: Sequence[int | str] | None = None
    status: AccountStatus = "ok"
    denied_endpoints: Mapping[str, int] = field(default_factory=dict)
    v7: bool = True  # False: V7 login refused with 401 for this account


# --- quirks ------------------------------------------------------------------------------


@dataclass
class Quirks:
    """Deviations from the spec, each a switch. ``profile="field"`` turns on FIELD_QUIRKS.

    Field-profile quirks (issue 13 / field notes):

    * ``strict_quota``: read endpoints limited to 1 call per endpoint and minute.
    * ``daily_budget``: hourly/daily/monthly/yearly plant KPIs and five-minute data allow
      ceil(plants/100) + 24 accepted calls per account and local day, 407 after.
    * ``quota_403``: every second quota refusal is HTTP 403
      ``{"errorCode":"49401021002","exceptionInfo":"Request is rejected by api quotaControl"}``.
    * ``single_session``: a login invalidates older tokens of the same account and family.
    * ``empty_login_body``: a failed legacy login answers HTTP 200 with an empty body.
    * ``relogin_305_shape``: 305 is ``{"failCode":305,"immediately":true,
      "message":"USER_MUST_RELOGIN"}``.
    * ``permission``: per-endpoint refusals (``SimulatorConfig.permission_denied``:
      getStationList 401 and getDevKpiMonth/Year 20056 by default) while the paged
      ``/thirdData/stations`` works.
    * ``null_values``: ~1 in ``null_every`` read answers has ``data: null``; some values
      in data item maps are ``null`` or ``""``.
    * ``power_sensor_watts``: power sensor (47) ``active_power`` in W, negative on import.
      (Spec profile: W as the table says, positive = import i.e. forward direction.)
    * ``counter_dip``: for ``counter_dip_seconds`` after local midnight the day counters
      still show yesterday's value and month/total counters dip by yesterday's yield.
    * ``no_v7``: every V7 path answers 404.
    * ``maintenance``: HTML + HTTP 503 on every API path during the maintenance window.
    * ``pmeter_power``: plantRealtimeKpi uses the example's ``pmeterPower`` key.
    * ``plants_as_list``: V7 ``plants``/``devices`` and ``/thirdData/stations`` pages as
      bare lists (the V7 examples): no ``pageCount``, the client pages until a short,
      empty or repeated page.
    * ``health_out_of_range``: V7 ``healthState`` 3 for a healthy plant (the example).
    * ``uppercase_cookies``: login answers the old way: several ``Set-Cookie`` headers,
      token in the second, and no ``xsrf-token`` header.

    Other spec contradictions (off in both profiles, switch on individually):

    * ``stations_endpoint``: serve ``/thirdData/stations`` (implied by ``permission``).
    * ``v7_cookie_example``: V7 login as its example: one ``set-cookie:
      JSESSIONID=...; Path=/; Secure; HttpOnly, XSRF-TOKEN=...`` and an ``xsrftoken`` header.
    * ``status_example_names``: dispatch status entries use ``startTime``/``endTime``.
    * ``status_as_map``: dispatch status ``data`` is the first entry as a map (the table).
    * ``five_minute_compact_tz``: ``dateTime`` as ``2017-08-05T00:00:00.000+0800``.
    * ``legacy_string_values``: getStationRealKpi values as strings (the example).
    """

    strict_quota: bool = False
    daily_budget: bool = False
    quota_403: bool = False
    single_session: bool = False
    empty_login_body: bool = False
    relogin_305_shape: bool = False
    permission: bool = False
    null_values: bool = False
    power_sensor_watts: bool = False
    counter_dip: bool = False
    no_v7: bool = False
    maintenance: bool = False
    pmeter_power: bool = False
    plants_as_list: bool = False
    health_out_of_range: bool = False
    uppercase_cookies: bool = False
    # spec contradictions outside the field profile
    stations_endpoint: bool = False
    v7_cookie_example: bool = False
    status_example_names: bool = False
    status_as_map: bool = False
    five_minute_compact_tz: bool = False
    legacy_string_values: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """All quirk names."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def for_profile(
        cls, profile: Profile, enable: Iterable[str] = (), disable: Iterable[str] = ()
    ) -> Quirks:
        """The quirks of a profile, plus/minus named ones."""
        quirks = cls()
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}")
        if "field" in profile.split("+"):
            for name in FIELD_QUIRKS:
                setattr(quirks, name, True)
        for name in enable:
            quirks.set(name, True)
        for name in disable:
            quirks.set(name, False)
        return quirks

    def set(self, name: str, value: bool) -> None:
        """Switch one quirk; unknown names raise ValueError."""
        if name not in self.names():
            raise ValueError(f"unknown quirk {name!r}")
        setattr(self, name, bool(value))

    def enabled(self) -> list[str]:
        """Names of the quirks switched on."""
        return [name for name in self.names() if getattr(self, name)]

    def as_dict(self) -> dict[str, bool]:
        """All quirks with their state."""
        return {name: bool(getattr(self, name)) for name in self.names()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(getattr(self, name, False))


FIELD_QUIRKS: tuple[str, ...] = (
    "strict_quota",
    "daily_budget",
    "quota_403",
    "single_session",
    "empty_login_body",
    "relogin_305_shape",
    "permission",
    "null_values",
    "power_sensor_watts",
    "counter_dip",
    "no_v7",
    "maintenance",
    "pmeter_power",
    "plants_as_list",
    "health_out_of_range",
    "uppercase_cookies",
)

DEFAULT_PERMISSION_DENIED: dict[str, int] = {
    const.GET_STATION_LIST: 401,
    const.GET_DEV_KPI_MONTH: 20056,
    const.GET_DEV_KPI_YEAR: 20056,
}


@dataclass
class CloudOptions:
    """Options of the ``cloud-2026`` profile (SmartPVMS 26.2, see docs/simulator-cloud-2026.md).

    * ``smart_assistant_plants``: plant indices with a SmartAssistant (23070) at the grid
      connection point.
    * ``all_in_one_plants``: plant indices whose first inverter and first battery are one
      PV+storage all-in-one unit (23093) instead.
    * ``static_flow_control_accounts``: account names that keep the old static
      per-minute table (26.2 §7.2); every other account gets the dynamic §4.2 budgets.
    * ``system_limits``: endpoint -> calls per minute over all accounts; beyond it 429.
    * ``busy_endpoints``: endpoints answering 20200 (system busy) to every call.
    """

    smart_assistant_plants: Sequence[int] = (0,)
    all_in_one_plants: Sequence[int] = ()
    static_flow_control_accounts: Sequence[str] = ()
    system_limits: Mapping[str, int] = field(default_factory=dict)
    busy_endpoints: Sequence[str] = ()


@dataclass
class SimulatorConfig:
    """Everything that shapes a simulator instance.

    Defaults: one account ``nbi_user``/``nbi_pass`` seeing every plant; each plant has a
    residential inverter (38), a Huawei LUNA2000 10 kWh battery (39) and a grid meter (17).
    """

    plants: int = 1
    seed: int = 1
    profile: Profile = "spec"
    username: str = "nbi_user"
    password: str = "nbi_pass"
    accounts: Sequence[Account] = ()  # extra accounts
    timezone: str = "Europe/Amsterdam"
    latitude: float = 52.1
    longitude: float = 5.1
    devices: Sequence[DeviceLike] = DEFAULT_DEVICES
    plant_devices: Mapping[int, Sequence[DeviceLike]] = field(default_factory=dict)
    quota_overrides: Mapping[str, int] = field(default_factory=dict)
    daily_budget_overrides: Mapping[str, int] = field(default_factory=dict)
    count_refused_calls: bool = False  # refused calls (407) do not use quota by default
    daily_limit_fail_code: int = 407  # daily_budget refusals: 407 (field) or 20618 (26.2)
    token_idle_seconds: float = 1800.0
    # Legacy tokens also die this long after their login (§3.1 l.264 "validity period of
    # the XSRF-TOKEN is 30 minutes", 26.2 §3.2.2.1 "expires after 30 minutes"); V7 tokens
    # only time out idle (§5.1.1 l.3600 "starts when the system receives the last
    # interaction request"). None: no absolute lifetime.
    token_lifetime_seconds: float | None = 1800.0
    v7_enabled: bool = True
    quirks: Iterable[str] = ()  # extra quirks on top of the profile
    disabled_quirks: Iterable[str] = ()
    permission_denied: Mapping[str, int] | None = None  # for the ``permission`` quirk
    maintenance_start: float | None = None  # epoch s; None: Sundays 02:00 local
    maintenance_seconds: float = 3600.0
    counter_dip_seconds: float = 1800.0
    null_every: int = 10
    alarm_rate_per_day: float = 0.25  # seeded alarms per plant and day
    history_detail_days: int = 35  # days before start simulated slot by slot
    task_timeout_seconds: float = 86400.0
    cloud: CloudOptions = field(default_factory=CloudOptions)

    @property
    def is_cloud_2026(self) -> bool:
        """The profile serves today's cloud (SmartPVMS 26.2)."""
        return CLOUD_2026 in self.profile.split("+")

    def build_quirks(self) -> Quirks:
        """Quirks for this configuration."""
        return Quirks.for_profile(self.profile, self.quirks, self.disabled_quirks)

    def devices_for(self, plant_index: int) -> list[DeviceSpec]:
        """Device specs of one plant."""
        raw = self.plant_devices.get(plant_index, self.devices)
        return [to_device_spec(item) for item in raw]


def to_device_spec(item: DeviceLike | Mapping[str, Any]) -> DeviceSpec:
    """Accept a kind name, a DeviceSpec or a mapping of DeviceSpec fields."""
    if isinstance(item, DeviceSpec):
        return item
    if isinstance(item, str):
        if item in ("lg_battery", "battery_lg"):
            return DeviceSpec(kind="battery", vendor="lg")
        if item not in ("inverter", "string_inverter", "battery", "meter", "power_sensor", "emi"):
            raise ValueError(f"unknown device kind {item!r}")
        return DeviceSpec(kind=item)  # type: ignore[arg-type]
    return DeviceSpec(**dict(item))
