"""hide_key: a secret in another process's command line is overwritten in its memory once
that process has started a thread; the process itself still has the value it parsed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ovtriton.server import hide_key

# Parses its argument (keeps a copy), starts a thread, then prints the copy when asked.
CHILD = """
import sys, threading
kept = sys.argv[1][len("--key="):] + ""
threading.Thread(target=threading.Event().wait, daemon=True).start()
print("started", flush=True)
sys.stdin.readline()
print(kept, flush=True)
"""


def test_the_secret_is_hidden_from_the_command_line_not_from_the_process() -> None:
    secret = "s3cr3t-value-123"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, f"--key={secret}", "--other=keep"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline() == "started\n"
        assert hide_key.hide_when_parsed(child.pid, [secret])
        cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[-3:] == [b"--key=" + b"*" * len(secret), b"--other=keep", b""]
        assert hide_key.hide(child.pid, [secret]) == 0  # nothing left to hide
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline() == f"{secret}\n"
    finally:
        child.kill()
        child.wait()


def test_a_process_that_ended_is_reported_not_raised() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert hide_key.hide_when_parsed(child.pid, ["x"]) is False
    assert hide_key.hide_when_parsed(child.pid, []) is True  # nothing to hide
