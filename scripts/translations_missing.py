"""List translation keys that are missing from, or stale in, each translation.

Usage: .venv/bin/python scripts/translations_missing.py [LANGUAGE ...] [--text] [--prune]

Compares every translations/<lang>.json (except en) with strings.json and prints,
per language, the dotted keys strings.json has but the translation lacks ("missing"),
the keys the translation still has but strings.json no longer does ("stale"), and the
keys whose {placeholders} differ. --text also prints the English text of missing keys;
--prune removes the stale keys from the files. Exits 1 if anything is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

COMPONENT = Path(__file__).resolve().parent.parent / "custom_components" / "fusionsolar"
TRANSLATIONS = COMPONENT / "translations"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Map every leaf value to its dotted key."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        leaves.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    return leaves


def prune(tree: dict[str, Any], keep: dict[str, Any]) -> dict[str, Any]:
    """Return tree without the branches that keep does not have."""
    pruned: dict[str, Any] = {}
    for key, value in tree.items():
        if key not in keep:
            continue
        if isinstance(value, dict) and isinstance(keep[key], dict):
            if sub := prune(value, keep[key]):
                pruned[key] = sub
        elif not isinstance(value, dict) and not isinstance(keep[key], dict):
            pruned[key] = value
    return pruned


def report(language: str, strings: dict[str, Any], *, text: bool, fix: bool) -> bool:
    """Print what is out of date in one language; return True if all is up to date."""
    path = TRANSLATIONS / f"{language}.json"
    tree = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    english, translated = flatten(strings), flatten(tree)
    missing = [key for key in english if key not in translated]
    stale = [key for key in translated if key not in english]
    placeholders = [
        key
        for key in english
        if key in translated
        and set(PLACEHOLDER.findall(str(english[key])))
        != set(PLACEHOLDER.findall(str(translated[key])))
    ]
    counts = f"{len(missing)} missing, {len(stale)} stale, {len(placeholders)} placeholder"
    print(f"{language}: {counts}")
    for key in missing:
        print(f"  missing      {key}" + (f" = {json.dumps(english[key])}" if text else ""))
    for key in stale:
        print(f"  stale        {key}")
    for key in placeholders:
        print(f"  placeholder  {key}")
    if fix and stale:
        path.write_text(
            json.dumps(prune(tree, strings), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"  pruned {len(stale)} stale keys from {path.name}")
    return not (missing or placeholders or (stale and not fix))


def main() -> int:
    """Check the languages named on the command line, or all of them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("languages", nargs="*", help="languages to check (default: all but en)")
    parser.add_argument("--text", action="store_true", help="show the English text of missing keys")
    parser.add_argument("--prune", action="store_true", help="remove stale keys from the files")
    args = parser.parse_args()
    strings = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))
    languages = args.languages or sorted(
        path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != "en"
    )
    results = [report(lang, strings, text=args.text, fix=args.prune) for lang in languages]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
