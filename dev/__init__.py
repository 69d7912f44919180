"""Developer tooling: a real Home Assistant on the simulator (``scripts/develop``)."""
