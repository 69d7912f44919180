"""Helpers shared by the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from dev.bootstrap import HomeAssistantApi

from .conftest import Instance


def shot(page: Page, screenshots: Path, name: str) -> None:
    """Save a screenshot once animations and pending requests have settled."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)
    page.screenshot(path=screenshots / name)


def entries(instance: Instance) -> list[dict[str, Any]]:
    """The integration's config entries."""

    async def call(api: HomeAssistantApi) -> list[dict[str, Any]]:
        return await api.entries()

    return instance.api(call)
