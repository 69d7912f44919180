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
    "automation",
    "config",
    "energy",
    "frontend",
    "history",
    "http",
    "logbook",
    "logger",
    "onboarding",
    "recorder",
    "scene",
    "script",
)

# The UI's editors save to these files; Home Assistant's default configuration includes
# them the same way. Domain -> (file, what an empty one holds).
INCLUDES: dict[str, tuple[str, str]] = {
    "automation": ("automations.yaml", "[]\n"),
    "script": ("scripts.yaml", ""),
    "scene": ("scenes.yaml", "[]\n"),
}
HEADER = "# Written by scripts/develop (dev/config.py)."

CONFIGURATION_YAML = """\
# Written by scripts/develop (dev/config.py). Edit freely: it is only rewritten
# when missing (the editors' includes below are added when absent). Loopback only:
# nothing here listens beyond 127.0.0.1.
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

# The UI's automation, script and scene editors save to these files.
automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml

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
    add_editor_includes(yaml)
    link_integration(config_dir)
    match = re.search(r"^\s*server_port:\s*(\d+)", yaml.read_text(encoding="utf-8"), re.M)
    return int(match.group(1)) if match else 8123


def add_editor_includes(yaml: Path) -> None:
    """Include the editors' files in a configuration.yaml of ours, and create them.

    A file written by an older scripts/develop lacks the includes: saving an automation
    in the UI then fails. A configuration.yaml of someone else's is left as it is.
    """
    text = yaml.read_text(encoding="utf-8")
    if text.startswith(HEADER):
        missing = [
            f"{domain}: !include {file}\n"
            for domain, (file, _empty) in INCLUDES.items()
            if not re.search(rf"^{domain}(\s[^:]*)?:", text, re.M)
        ]
        if missing:
            text += "".join(["\n# The UI's editors save to these files.\n", *missing])
            yaml.write_text(text, encoding="utf-8")
    for file, empty in INCLUDES.values():
        path = yaml.parent / file
        if re.search(rf"!include\s+{re.escape(file)}\s*$", text, re.M) and not path.exists():
            path.write_text(empty, encoding="utf-8")


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
