"""Install what the dev instance needs beyond the test requirements (idempotent).

``python -m dev.requirements`` installs requirements_dev.txt and the requirements of
every Home Assistant component the dev instance loads (the frontend, the recorder's
drivers ...), read from the installed Home Assistant's manifests and pinned by its
``package_constraints.txt``. A stamp in .venv makes a second run take a fraction of
a second; the stamp changes with Home Assistant's version and requirements_dev.txt.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .config import COMPONENTS, REPO

DEV_REQUIREMENTS = REPO / "requirements_dev.txt"


def _stamp() -> Path:
    digest = hashlib.sha256()
    digest.update(metadata.version("homeassistant").encode())
    digest.update(DEV_REQUIREMENTS.read_bytes())
    digest.update(" ".join(COMPONENTS).encode())
    return Path(sys.prefix) / f".dev-requirements-{digest.hexdigest()[:16]}"


def _homeassistant_dir() -> Path:
    import homeassistant  # noqa: PLC0415

    return Path(homeassistant.__file__).parent


def _domains(components_dir: Path, roots: Iterable[str]) -> set[str]:
    """Return the roots and everything they depend on."""
    todo, seen = list(roots), set[str]()
    while todo:
        domain = todo.pop()
        manifest = components_dir / domain / "manifest.json"
        if domain in seen or not manifest.exists():
            continue
        seen.add(domain)
        todo.extend(json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", []))
    return seen


def component_requirements() -> list[str]:
    """Return the pip requirements of the components the dev instance sets up."""
    from homeassistant import bootstrap  # noqa: PLC0415

    components_dir = _homeassistant_dir() / "components"
    roots = {*bootstrap.CORE_INTEGRATIONS, *bootstrap.DEFAULT_INTEGRATIONS, *COMPONENTS}
    manifest = json.loads((REPO / "custom_components/fusionsolar/manifest.json").read_text())
    roots.update(manifest.get("dependencies", []))
    roots.update(manifest.get("after_dependencies", []))
    requirements: set[str] = set(manifest.get("requirements", []))
    for domain in _domains(components_dir, roots):
        data = json.loads((components_dir / domain / "manifest.json").read_text(encoding="utf-8"))
        requirements.update(data.get("requirements", []))
    return sorted(requirements)


def dev_requirements() -> list[str]:
    """Return the lines of requirements_dev.txt."""
    lines = DEV_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def is_satisfied(requirement: str) -> bool:
    """Return whether an installed distribution satisfies a requirement line."""
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    if req.marker is not None and not req.marker.evaluate():
        return True
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)


def main() -> int:
    """Install what is missing; exit 0 when everything is there."""
    stamp = _stamp()
    if stamp.exists():
        print("setup: dev requirements are up to date")
        return 0
    wanted = (*component_requirements(), *dev_requirements())
    missing = [req for req in wanted if not is_satisfied(req)]
    if missing:
        print(f"setup: installing {', '.join(missing)}", flush=True)
        constraints = _homeassistant_dir() / "package_constraints.txt"
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "-c", str(constraints), *missing],
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        # pip warns about configured package locations that do not exist; keep the rest.
        for line in pip.stderr.splitlines():
            if "is ignored: it is neither" not in line:
                print(line, file=sys.stderr)
        if pip.returncode:
            return pip.returncode
    for old in Path(sys.prefix).glob(".dev-requirements-*"):
        old.unlink()
    stamp.touch()
    print("setup: dev requirements installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
