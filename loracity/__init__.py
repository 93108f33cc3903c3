"""Composition package: the root CLI, shared settings and the embedded demo launcher."""
