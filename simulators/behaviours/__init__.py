"""Behaviour models: what a device measures over time, deterministic for a seed."""
