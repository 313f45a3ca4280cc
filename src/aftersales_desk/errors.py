"""Errors that reach a user: each carries a translated message and the exit code of the contract.

Services raise these; the command line prints ``message`` as one line on stderr and exits with
``exit_code``; the window shows ``message`` in a dialog. Anything else is a bug.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2  # bad usage or nothing done: unreadable file, wrong format, missing database
EXIT_PARTIAL = 3  # partly done: some rows rejected, the valid ones are in
EXIT_REFUSED = 4  # refused: permission, conflict, integrity


class UserError(Exception):
    """A failure the user can understand and act on; ``str(err)`` is already translated."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(UserError):
    """Bad input or nothing could be done (exit 2)."""


class DatabaseError(UserError):
    """The database is missing, corrupt, unreadable or of an unknown kind (exit 2)."""


class RefusedError(UserError):
    """Refused: permission, conflict or integrity (exit 4)."""

    exit_code = EXIT_REFUSED


class PermissionDenied(RefusedError):
    """The acting user's role does not allow the action."""


class ValidationError(UserError):
    """Input that breaks a rule; ``field`` names the offending field when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Cancelled(Exception):
    """The user cancelled a long operation; whatever it was writing was rolled back."""
