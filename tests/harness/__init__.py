"""Simulated days of the real integration in Home Assistant, shared by tests and benchmarks.

``dayrun`` drives a config entry against the simulator on an accelerated clock,
``scenarios`` holds the documented scenarios and figures, ``statistics`` checks the
imported history against the simulator. The benchmarks import from here, never the
other way round.
"""
