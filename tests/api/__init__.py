"""Tests of the standalone NBI client (custom_components/fusionsolar/api)."""
