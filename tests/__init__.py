"""Tests for the FusionSolar integration."""
