"""Fixtures of the benchmarks: those of the test suite (simulator, hass, recorder)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.simulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Load custom_components/fusionsolar; start the recorder first where a run needs it."""
    scenario = getattr(getattr(request.node, "callspec", None), "params", {}).get("scenario")
    if getattr(scenario, "recorder", False):
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
def enable_statistics(request: pytest.FixtureRequest) -> bool:
    """Compile the sensors' statistics where a run validates the Energy dashboard."""
    scenario = getattr(getattr(request.node, "callspec", None), "params", {}).get("scenario")
    return bool(getattr(scenario, "recorder", False))
