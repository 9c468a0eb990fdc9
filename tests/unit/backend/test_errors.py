"""first_line: how the backend quotes an exception in one line."""

from __future__ import annotations

from ovtriton.backend.errors import first_line


def test_first_line_keeps_only_the_first_line_of_the_message() -> None:
    assert first_line(RuntimeError("  shape mismatch\n  at node 7\n")) == "shape mismatch"


def test_first_line_of_an_empty_message_is_the_exception_type() -> None:
    assert first_line(RuntimeError()) == "RuntimeError"
    assert first_line(ValueError("   \n")) == "ValueError"
