"""The dev tooling (dev/) against the Home Assistant release that runs the tests.

scripts/develop and the browser tests need a real Home Assistant; these fast checks keep
their contracts with Home Assistant and the integration from drifting: the Energy
dashboard preferences they write, the statistic ids of the history import, the config
directory and the requirements of the dev instance.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.components.energy.data import ENERGY_SOURCE_SCHEMA
from homeassistant.util.yaml import load_yaml

from custom_components.fusionsolar.history import ENERGY_KINDS, statistic_id
from dev.bootstrap import (
    EnergySources,
    _used_statistic_ids,
    imported_sources,
    live_sources,
)
from dev.config import COMPONENTS, INTEGRATION, prepare
from dev.requirements import component_requirements, is_satisfied

PLANTS = ("NE=33554432", "NE=33554496")


def _registry_entry(entity_id: str, key: str, device: str, **extra: Any) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "platform": "fusionsolar",
        "translation_key": key,
        "device_id": device,
        "disabled_by": None,
        **extra,
    }


def test_imported_sources_follow_the_history_statistic_ids() -> None:
    """Every imported energy kind lands in its dashboard role; consumption stays out."""
    ids = [statistic_id(plant, kind.key) for plant in PLANTS for kind in ENERGY_KINDS]
    ids.append("sensor.unrelated_energy")

    sources = imported_sources(ids)

    assert sources.solar == [statistic_id(p, "solar_production") for p in PLANTS]
    assert sources.grid_import == [statistic_id(p, "grid_import") for p in PLANTS]
    assert sources.grid_export == [statistic_id(p, "grid_export") for p in PLANTS]
    assert sources.batteries == [
        (statistic_id(p, "battery_discharge"), statistic_id(p, "battery_charge")) for p in PLANTS
    ]
    assert not any("consumption" in stat for stat in sources.statistic_ids())


def test_live_sources_pair_batteries_by_device() -> None:
    """Plant totals, meter energies and each battery's own out/in pair; disabled ignored."""
    registry = [
        _registry_entry("sensor.plant_1_total_energy", "energy_total", "plant1"),
        _registry_entry("sensor.meter_import", "grid_import_energy", "meter1"),
        _registry_entry("sensor.meter_export", "grid_export_energy", "meter1"),
        _registry_entry("sensor.bat_a_charged", "charged_energy", "bat_a"),
        _registry_entry("sensor.bat_b_discharged", "discharged_energy", "bat_b"),
        _registry_entry("sensor.bat_a_discharged", "discharged_energy", "bat_a"),
        _registry_entry("sensor.bat_b_charged", "charged_energy", "bat_b"),
        _registry_entry("sensor.off", "energy_total", "plant2", disabled_by="user"),
        {**_registry_entry("sensor.other", "energy_total", "x"), "platform": "other"},
    ]

    sources = live_sources(registry)

    assert sources.solar == ["sensor.plant_1_total_energy"]
    assert sources.grid_import == ["sensor.meter_import"]
    assert sources.grid_export == ["sensor.meter_export"]
    assert sources.batteries == [
        ("sensor.bat_a_discharged", "sensor.bat_a_charged"),
        ("sensor.bat_b_discharged", "sensor.bat_b_charged"),
    ]


def _invalid_errors() -> tuple[type[Exception], ...]:
    """Voluptuous's Invalid, and probatio's where Home Assistant validates with it (2026)."""
    try:
        probatio = importlib.import_module("probatio")
    except ImportError:
        return (vol.Invalid,)
    return (vol.Invalid, probatio.Invalid)


def _two_plants() -> EnergySources:
    return EnergySources(
        solar=["sensor.p1_total", "sensor.p2_total"],
        grid_import=["sensor.m1_import", "sensor.m2_import"],
        grid_export=["sensor.m1_export"],
        batteries=[("sensor.b1_out", "sensor.b1_in")],
    )


def test_energy_prefs_are_valid_for_this_home_assistant() -> None:
    """One of the two formats the bootstrap sends validates, keeping every statistic."""
    sources = _two_plants()
    accepted: list[list[dict[str, Any]]] = []
    for prefs in (sources.legacy_prefs(), sources.unified_prefs()):
        try:
            accepted.append(ENERGY_SOURCE_SCHEMA(prefs))
        except _invalid_errors():
            continue
    assert accepted, "neither energy preference format is valid"
    for prefs in accepted:
        assert _used_statistic_ids(prefs) == sources.statistic_ids()


def test_empty_sources_are_falsy() -> None:
    """The bootstrap waits while no energy sensor exists."""
    assert not EnergySources([], [], [], [])
    assert _two_plants()


def test_prepare_writes_a_loopback_config_once(tmp_path: Path) -> None:
    """configuration.yaml binds to 127.0.0.1, loads no default_config, is kept when edited."""
    assert prepare(tmp_path, 8125) == 8125
    config = load_yaml(str(tmp_path / "configuration.yaml"))
    assert isinstance(config, dict)
    assert config["http"] == {"server_host": "127.0.0.1", "server_port": 8125}
    assert "default_config" not in config
    assert set(COMPONENTS) <= set(config)
    link = tmp_path / "custom_components" / "fusionsolar"
    assert link.is_symlink()
    assert link.resolve() == INTEGRATION

    yaml = tmp_path / "configuration.yaml"
    yaml.write_text(yaml.read_text().replace("8125", "8126"))
    assert prepare(tmp_path, 8125) == 8126  # an edited file is not overwritten
    assert link.resolve() == INTEGRATION


def test_item21_dev_config_includes_automations_scripts_and_scenes(tmp_path: Path) -> None:
    """The UI editors save to automations.yaml, scripts.yaml and scenes.yaml: included, present."""
    prepare(tmp_path, 8125)
    config = load_yaml(str(tmp_path / "configuration.yaml"))
    assert isinstance(config, dict)
    assert config["automation"] == []
    assert config["scene"] == []
    assert config["script"] in (None, {})
    for name in ("automations.yaml", "scripts.yaml", "scenes.yaml"):
        assert (tmp_path / name).is_file(), name


def test_item21_dev_config_of_an_older_run_gets_the_includes(tmp_path: Path) -> None:
    """A configuration.yaml written before the includes existed gains them, once."""
    prepare(tmp_path, 8125)
    yaml = tmp_path / "configuration.yaml"
    old = "".join(
        line
        for line in yaml.read_text().splitlines(keepends=True)
        if not line.startswith(("automation:", "script:", "scene:"))
    )
    yaml.write_text(old)
    for name in ("automations.yaml", "scripts.yaml", "scenes.yaml"):
        (tmp_path / name).unlink()
    (tmp_path / "automations.yaml").write_text("- id: kept\n  alias: Kept\n")

    prepare(tmp_path, 8125)
    prepare(tmp_path, 8125)
    config = load_yaml(str(yaml))
    assert isinstance(config, dict)
    assert [item["id"] for item in config["automation"]] == ["kept"]  # an existing file stays
    assert yaml.read_text().count("automation: !include automations.yaml") == 1
    assert config["http"]["server_port"] == 8125


def test_item21_dev_config_leaves_a_users_own_automation_setup(tmp_path: Path) -> None:
    """Someone who configured automations their own way is not overridden."""
    yaml = tmp_path / "configuration.yaml"
    yaml.write_text("http:\n  server_port: 8125\nautomation manual: []\n")
    prepare(tmp_path, 8125)
    assert yaml.read_text() == "http:\n  server_port: 8125\nautomation manual: []\n"


def test_prepare_refuses_to_replace_a_copied_integration(tmp_path: Path) -> None:
    """A real folder in the way is an error, never deleted."""
    (tmp_path / "custom_components" / "fusionsolar").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="not a link"):
        prepare(tmp_path, 8123)


def test_dev_requirements_pin_the_matching_frontend() -> None:
    """The frontend requirement is the one the installed Home Assistant pins."""
    requirements = component_requirements()
    frontend = [req for req in requirements if req.startswith("home-assistant-frontend==")]
    assert len(frontend) == 1
    assert "SQLAlchemy" in " ".join(requirements)  # the recorder's, via energy/history
    assert is_satisfied("pip>=1")
    assert not is_satisfied("surely-not-installed-package-xyz==1.0")
    assert is_satisfied('surely-not-installed-package-xyz==1.0; python_version < "3"')
