"""What hassfest and HACS check, offline: manifest, licence, typing markers, workflows."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "fusionsolar"
API = INTEGRATION / "api"
WORKFLOWS = REPO / ".github" / "workflows"


def _manifest() -> dict[str, object]:
    manifest: dict[str, object] = json.loads((INTEGRATION / "manifest.json").read_text())
    return manifest


def hassfest_key_order(keys: list[str]) -> list[str]:
    """The order hassfest wants: domain, name, then alphabetical."""
    lead = {"domain": ".domain", "name": ".name"}
    return sorted(keys, key=lambda key: lead.get(key, key))


def test_item21_hassfest_key_order_rule() -> None:
    """The rule itself: domain and name lead, whatever their alphabetical place."""
    assert hassfest_key_order(["name", "version", "codeowners", "domain"]) == [
        "domain",
        "name",
        "codeowners",
        "version",
    ]


def test_item21_manifest_keys_sorted_like_hassfest() -> None:
    """hassfest: 'Manifest keys are not sorted correctly: domain, name, then alphabetical'."""
    keys = list(_manifest())
    assert keys == hassfest_key_order(keys)


def test_item21_manifest_has_what_hacs_and_hassfest_require() -> None:
    """Custom integrations need a version, documentation, issue tracker and codeowners."""
    manifest = _manifest()
    for key in ("domain", "name", "version", "documentation", "issue_tracker", "codeowners"):
        assert manifest.get(key), key
    assert manifest["domain"] == INTEGRATION.name
    hacs = json.loads((REPO / "hacs.json").read_text())
    assert hacs["name"]
    assert Version(hacs["homeassistant"]) <= Version("2025.4.0")  # the oldest one tested


def test_item21_licence_and_typing_markers() -> None:
    """HACS wants a licence; py.typed marks the integration and its client as typed."""
    licence = (REPO / "LICENSE").read_text()
    assert licence.startswith("MIT License")
    assert (INTEGRATION / "py.typed").is_file()
    assert (API / "py.typed").is_file()


def _third_party_imports(package: Path) -> set[str]:
    modules: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return {name for name in modules if name not in sys.stdlib_module_names} - {"__future__"}


def test_item21_api_is_a_publishable_package() -> None:
    """api/ carries its own pyproject.toml, version and licence; it declares what it imports."""
    pyproject = tomllib.loads((API / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert project["license"] == "MIT"
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["fusionsolar_nbi"]
    assert (API / project["license-files"][0]).read_text() == (REPO / "LICENSE").read_text()
    declared = {re.split(r"[<>=!~ ;\[]", dep)[0].lower() for dep in project["dependencies"]}
    assert _third_party_imports(API) <= declared


def _workflow_steps(name: str) -> list[dict[str, object]]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_item21_ci_workflows() -> None:
    """GitHub Actions run HACS validation, hassfest and scripts/test."""
    validate = _workflow_steps("validate.yml")
    uses = {str(step.get("uses", "")).split("@")[0] for step in validate}
    assert {"hacs/action", "home-assistant/actions/hassfest"} <= uses
    hacs = next(step for step in validate if str(step.get("uses", "")).startswith("hacs/"))
    assert hacs["with"]["category"] == "integration"  # type: ignore[index]
    tests = _workflow_steps("tests.yml")
    assert any(step.get("run") == "scripts/test" for step in tests)


TIERS = ("bronze", "silver", "gold", "platinum")


def quality_scale() -> dict[str, tuple[str, dict[str, str]]]:
    """Each rule of quality_scale.yaml: its tier (from the file's tier comments), its entry."""
    path = INTEGRATION / "quality_scale.yaml"
    rules = yaml.safe_load(path.read_text())["rules"]
    tiers: dict[str, str] = {}
    tier = ""
    for line in path.read_text().splitlines():
        if heading := re.fullmatch(r"\s*#\s*(Bronze|Silver|Gold|Platinum)\s*", line):
            tier = heading.group(1).lower()
        elif rule := re.match(r"  ([a-z-]+):", line):
            tiers[rule.group(1)] = tier
    return {
        name: (tiers[name], {"status": value} if isinstance(value, str) else value)
        for name, value in rules.items()
    }


def achieved_tier(rules: dict[str, tuple[str, dict[str, str]]]) -> str | None:
    """The highest tier whose rules, and those of the tiers below, are done or exempt."""
    achieved = None
    for tier in TIERS:
        if any(t == tier and r["status"] == "todo" for t, r in rules.values()):
            break
        achieved = tier
    return achieved


def test_item21_quality_scale_rules_are_honest() -> None:
    """Each rule sits under a tier; todo and exempt say why."""
    rules = quality_scale()
    assert rules
    for name, (tier, rule) in rules.items():
        assert tier in TIERS, name
        assert rule["status"] in ("done", "todo", "exempt"), name
        if rule["status"] != "done":
            assert rule.get("comment"), f"{name} is {rule['status']} without a reason"


def test_item21_manifest_claims_no_more_than_the_rules_achieve() -> None:
    """manifest.json's quality_scale is a tier every rule up to it has reached."""
    claimed = _manifest().get("quality_scale")
    achieved = achieved_tier(quality_scale())
    if claimed is not None:
        assert achieved is not None, f"claims {claimed}, but not every bronze rule is done"
        assert TIERS.index(str(claimed)) <= TIERS.index(achieved), (claimed, achieved)


def test_item21_achieved_tier_rule() -> None:
    """A todo in a tier stops there; exempt counts as done."""
    done, todo, exempt = {"status": "done"}, {"status": "todo"}, {"status": "exempt"}
    rules = {"a": ("bronze", done), "b": ("silver", exempt), "c": ("gold", todo)}
    assert achieved_tier(rules) == "silver"
    assert achieved_tier({"a": ("bronze", todo), "d": ("silver", done)}) is None
