"""Diagnostics: client state, quota usage and learned limits, the last data received.

Credentials, the host (unless it is a public Huawei region host), serial numbers,
names (plant and device names often hold an owner's name or a serial number),
addresses and coordinates are redacted. Tokens are never exposed by the client.
"""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from yarl import URL

from .const import CONF_LEGACY_URL, CONF_V7_URL, DOMAIN
from .coordinator import FusionSolarConfigEntry, FusionSolarCoordinator

TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_LEGACY_URL,
    CONF_V7_URL,
    "token",
    "sn",
    "esn",
    "name",
    "dev_name",
    "plant_name",
    "address",
    "latitude",
    "longitude",
}
PUBLIC_HOST_SUFFIX = ".huawei.com"


def public_host(host: str) -> str:
    """Return a Huawei region host as is (it tells the region); redact any other."""
    name = URL(host if "://" in host else f"https://{host}").host or ""
    return name if name.endswith(PUBLIC_HOST_SUFFIX) else REDACTED


def _as_dict(model: Any) -> dict[str, Any]:
    """Return a model as a dict, enums as their values."""
    return asdict(
        model,
        dict_factory=lambda items: {
            key: value.value if isinstance(value, Enum) else value for key, value in items
        },
    )


def _coordinator(coordinator: FusionSolarCoordinator[Any] | None) -> dict[str, Any] | None:
    if coordinator is None:
        return None
    interval = coordinator.update_interval
    return {
        "last_update_success": coordinator.last_update_success,
        "last_success": coordinator.last_success,
        "last_exception": repr(coordinator.last_exception) if coordinator.last_exception else None,
        "update_interval": interval.total_seconds() if interval else None,
    }


def _plant(entry: FusionSolarConfigEntry, code: str) -> dict[str, Any]:
    runtime = entry.runtime_data
    plant = runtime.metadata.data.plants.get(code)
    state = (runtime.plants.data or {}).get(code)
    alarms = runtime.alarms.data if runtime.alarms else None
    return {
        "code": code,
        "plant": _as_dict(plant) if plant else None,
        "state": _as_dict(state) if state else None,
        "alarms": [_as_dict(alarm) for alarm in alarms.for_plant(code)] if alarms else None,
    }


def _device(entry: FusionSolarConfigEntry, key: str) -> dict[str, Any]:
    runtime = entry.runtime_data
    device = runtime.metadata.data.devices[key]
    state = (runtime.devices.data or {}).get(key)
    return {
        "device": _as_dict(device),
        "kind": device.kind.value,
        "state": _as_dict(state) if state else None,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FusionSolarConfigEntry
) -> dict[str, Any]:
    """Return the diagnostics of a config entry."""
    runtime = entry.runtime_data
    client = runtime.account.client
    return async_redact_data(
        {
            "entry": {
                "data": {**entry.data, CONF_HOST: public_host(entry.data[CONF_HOST])},
                "options": dict(entry.options),
            },
            "client": {
                "families": _as_dict(client.families),
                "v7_url_detected": client.v7_url is not None,
                "generation": client.generation.value,
                "refused_endpoints": [_as_dict(r) for r in client.refused_endpoints.values()],
                "unavailable_endpoints": sorted(client.unavailable_endpoints),
                "session_kickouts": client.session_kickouts,
                "consecutive_kickouts": client.consecutive_kickouts,
            },
            "quota": runtime.account.governor.snapshot(),
            "flow_control": runtime.account.governor.flow_snapshot(),
            "oauth_budget": budget.snapshot() if (budget := client.oauth_budget) else None,
            "coordinators": {
                "metadata": _coordinator(runtime.metadata),
                "plants": _coordinator(runtime.plants),
                "devices": _coordinator(runtime.devices),
                "alarms": _coordinator(runtime.alarms),
            },
            "device_refresh_interval": (
                interval.total_seconds()
                if (interval := runtime.devices.achieved_interval)
                else None
            ),
            "history": runtime.history.diagnostics() if runtime.history else None,
            "plants": [_plant(entry, code) for code in sorted(runtime.metadata.data.plants)],
            "devices": [
                _device(entry, key)
                for key in sorted(
                    runtime.metadata.data.devices,
                    key=lambda key: runtime.metadata.data.devices[key].id or "",
                )
            ],
        },
        TO_REDACT,
    )


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: FusionSolarConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """Return the diagnostics of a plant or of one of its devices."""
    runtime = entry.runtime_data
    identifier = next(ident for domain, ident in device.identifiers if domain == DOMAIN)
    if identifier in runtime.metadata.data.devices:
        data = _device(entry, identifier)
    else:
        data = _plant(entry, identifier)
    return async_redact_data(data, TO_REDACT)
