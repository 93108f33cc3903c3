"""Typed storage errors."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of storage errors that carry a message meant for a person."""


class MigrationError(StorageError):
    """A migration could not be applied; the message names the file and the cause."""
