"""Translations: every language has every string, with the same placeholders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

COMPONENT = Path(__file__).parent.parent / "custom_components" / "fusionsolar"
STRINGS = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))
LANGUAGES = sorted(path.stem for path in (COMPONENT / "translations").glob("*.json"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """Map every leaf string to its dotted key."""
    if isinstance(tree, dict):
        leaves: dict[str, str] = {}
        for key, value in tree.items():
            leaves.update(flatten(value, f"{prefix}{key}."))
        return leaves
    return {prefix.rstrip("."): tree}


def load(language: str) -> dict[str, str]:
    path = COMPONENT / "translations" / f"{language}.json"
    return flatten(json.loads(path.read_text(encoding="utf-8")))


def test_english_is_strings_json() -> None:
    assert load("en") == flatten(STRINGS)


def test_required_languages_exist() -> None:
    assert {"en", "de", "nl", "zh-Hans"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_is_complete(language: str) -> None:
    english = flatten(STRINGS)
    translated = load(language)
    assert sorted(set(english) ^ set(translated)) == []
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(translated[key])), key
        assert translated[key].strip(), key


def test_translation_keys_used_in_code_exist() -> None:
    code = "\n".join(path.read_text(encoding="utf-8") for path in COMPONENT.glob("*.py"))
    used = set(re.findall(r'translation_key="(\w+)"', code))
    known = set(STRINGS.get("exceptions", {}))
    for platform in STRINGS.get("entity", {}).values():
        known |= set(platform)
    for section in ("error", "abort"):
        known |= set(STRINGS["config"].get(section, {}))
    known |= set(STRINGS.get("issues", {}))
    assert sorted(used - known) == []
