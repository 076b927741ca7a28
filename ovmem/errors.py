"""Errors that the command line turns into one line on stderr and an exit code."""

from __future__ import annotations

__all__ = ["ModelError", "OvmemError", "RemoteError", "UsageError"]


class OvmemError(Exception):
    """Base of the errors ovmem reports without a traceback."""

    exit_code = 1


class UsageError(OvmemError, ValueError):
    """The request itself is wrong: a bad option value, no such path, an ambiguous folder."""

    exit_code = 2


class ModelError(OvmemError):
    """The model cannot be read or specialised: not an IR, a missing or truncated ``.bin``, ..."""

    exit_code = 1


class RemoteError(OvmemError):
    """A remote model cannot be fetched: access denied, not found, no network, no Range support, a file
    that changed or came short, a timeout."""

    exit_code = 3
