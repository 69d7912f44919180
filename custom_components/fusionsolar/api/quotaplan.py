"""The quota governor on today's cloud: policy, account size, plan.

SmartPVMS 26.2 (see :mod:`.flowpolicy`):

* Policy. The governor starts with ``FlowPolicy.V500R007`` (the per-minute table only;
  nothing changes). :meth:`FlowPlanning.note_cloud_2026` (or the first accepted call
  of the ``/rest/openapi/pvms/nbi`` family) makes it ``UNKNOWN``: the static (§7.2)
  and the dynamic (§4.2) rules both apply, a plan valid under either. A 20618, or a 407
  that the per-minute window cannot explain, on a §4.2 endpoint teaches ``DYNAMIC``
  (the static policy has neither, :mod:`.quotalearn`); :meth:`FlowPlanning.set_policy`
  sets it outright.
* Rules are extra rolling windows on top of the per-minute one (5 min, 30 min, 10 min,
  24 h, per second), each with the same safety margin; limits follow the account's size
  (:meth:`FlowPlanning.set_account_size`; unknown: the smallest, the strictest).
  :meth:`FlowPlanning.plan` gives each endpoint's fastest cadence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .flowpolicy import ENDPOINT_KINDS, AccountSize, EndpointPlan, FlowPolicy
from .quotastate import iso
from .quotawindow import QuotaWindows


class FlowPlanning(QuotaWindows):
    """The flow policy, the account's size and the cadence they allow."""

    def set_policy(self, policy: FlowPolicy) -> None:
        """Apply ``policy`` (e.g. the account is known to have the old static table)."""
        self._policy = policy
        for key, st in self._states.items():
            st.spec_limit = self.spec_limit(key)

    def note_cloud_2026(self) -> None:
        """The host is today's cloud: until the account's policy is known, apply both."""
        if self._policy is FlowPolicy.V500R007:
            self.set_policy(FlowPolicy.UNKNOWN)

    def set_account_size(self, plants: int, devices_by_type: Mapping[int, int]) -> None:
        """The plants and the devices per device type the account manages (§4.2)."""
        self._size = AccountSize(max(0, int(plants)), dict(devices_by_type))

    def pause_all(self, seconds: float) -> None:
        """No endpoint of the account is called for ``seconds`` (429: system-wide)."""
        self._paused_until = max(self._paused_until, self.now() + max(0.0, seconds))

    def plan(self, endpoints: Iterable[str] | None = None) -> dict[str, EndpointPlan]:
        """Each endpoint's fastest cadence: its strictest window, margin included.

        Default endpoints: every §4.2 endpoint and every one with a per-minute limit.
        """
        keys = endpoints if endpoints is not None else sorted({*ENDPOINT_KINDS, *self._limits})
        result: dict[str, EndpointPlan] = {}
        for endpoint in keys:
            windows = self._windows(str(endpoint))
            result[str(endpoint)] = max(windows, key=lambda plan: plan.min_interval)
        return result

    def _windows(self, key: str) -> list[EndpointPlan]:
        """Every window of an endpoint (the minute's and the policy's), margin included."""
        st = self._states.get(key)
        limit = st.limit if st is not None else self.spec_limit(key)
        plans = [EndpointPlan(limit, self._window)]
        return plans + [EndpointPlan(r.limit, r.window + self._margin) for r in self.rules(key)]

    def cycle(self, endpoint: str, calls_per_cycle: int) -> float:
        """Shortest period of a refresh making ``calls_per_cycle`` calls of ``endpoint``.

        Every window counts; calls beyond a window's limit within one refresh must wait
        for their slot (``wait=True``), as pages and batches do.
        """
        return max(plan.cycle(calls_per_cycle) for plan in self._windows(str(endpoint)))

    def flow_snapshot(self) -> dict[str, Any]:
        """Policy, size, pauses and plan, for diagnostics."""
        now = self.now()
        return {
            "policy": self._policy.value,
            "account_size": self._size.as_dict(),
            "paused_until": iso(self._paused_until) if self._paused_until > now else None,
            "plan": {key: plan.as_dict() for key, plan in self.plan().items()},
        }
