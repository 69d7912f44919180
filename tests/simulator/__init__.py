"""SmartPVMS NBI simulator (legacy ``/thirdData``, V7 ``/rest/openapi/pvms/v1``, 26.2 ``nbi``).

Usage::

    sim = Simulator(SimulatorConfig(plants=1, seed=1), clock=fake_clock)
    await sim.start()            # sim.url
    ...
    await sim.stop()

See ``docs/architecture.md`` and the module docstrings of ``app``, ``pipeline``,
``model``, ``kpis``, ``faults`` and ``config`` for the behaviour and the conventions
chosen where the spec is silent.
"""

from .app import Simulator, create_app
from .calllog import CallLog, CallRecord
from .config import (
    FIELD_QUIRKS,
    Account,
    CloudOptions,
    DeviceSpec,
    Quirks,
    SimulatorConfig,
)
from .faults import KINDS as FAULT_KINDS
from .faults import FaultInjector
from .model import Device, Plant, SlotState

__all__ = [
    "FAULT_KINDS",
    "FIELD_QUIRKS",
    "Account",
    "CallLog",
    "CallRecord",
    "CloudOptions",
    "Device",
    "DeviceSpec",
    "FaultInjector",
    "Plant",
    "Quirks",
    "Simulator",
    "SimulatorConfig",
    "SlotState",
    "create_app",
]
