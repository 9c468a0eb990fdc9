"""The exception the CLI turns into exit code 1 with a message and no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad input, missing file, busy port). The message says how."""
