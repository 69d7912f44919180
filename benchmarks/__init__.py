"""Quota and efficiency benchmarks of the FusionSolar integration (see README)."""
