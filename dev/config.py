"""The dev instance's configuration directory: configuration.yaml and the integration link."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "fusionsolar"

# What the dev instance loads besides Home Assistant's defaults. No `default_config:`:
# it pulls in discovery, cloud, media and voice integrations the simulator never needs.
COMPONENTS: tuple[str, ...] = (
    "api",
    "config",
    "energy",
    "frontend",
    "history",
    "http",
    "logbook",
    "logger",
    "onboarding",
    "recorder",
)

CONFIGURATION_YAML = """\
# Written by scripts/develop (dev/config.py). Edit freely: it is only rewritten
# when missing. Loopback only: nothing here listens beyond 127.0.0.1.
homeassistant:
  name: FusionSolar dev
  latitude: 52.1
  longitude: 5.1
  elevation: 0
  unit_system: metric
  time_zone: Europe/Amsterdam
  currency: EUR
  country: NL

http:
  server_host: 127.0.0.1
  server_port: {port}

api:
config:
energy:
frontend:
history:
logbook:
onboarding:
recorder:
  purge_keep_days: 30

logger:
  default: warning
  logs:
    custom_components.fusionsolar: debug
    homeassistant.components.http.ban: warning
"""


def prepare(config_dir: Path, port: int) -> int:
    """Create the config directory, configuration.yaml and the integration link.

    Return the HTTP port configuration.yaml sets (``port`` for a new one).
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    yaml = config_dir / "configuration.yaml"
    if not yaml.exists():
        yaml.write_text(CONFIGURATION_YAML.format(port=port), encoding="utf-8")
    link_integration(config_dir)
    match = re.search(r"^\s*server_port:\s*(\d+)", yaml.read_text(encoding="utf-8"), re.M)
    return int(match.group(1)) if match else 8123


def link_integration(config_dir: Path) -> None:
    """Symlink custom_components/fusionsolar into the config directory (idempotent)."""
    target = config_dir / "custom_components" / "fusionsolar"
    target.parent.mkdir(parents=True, exist_ok=True)
    source = Path(os.path.relpath(INTEGRATION, target.parent))
    if target.is_symlink() and target.resolve() == INTEGRATION:
        return
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        raise RuntimeError(f"{target} exists and is not a link to {INTEGRATION}; remove it")
    target.symlink_to(source, target_is_directory=True)
