"""Memory and CPU time of a process group, read with psutil, on real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ovtriton.reliability.process_group import group_cpu_s, group_rss, members

# Burns about 0.3 s of CPU, forks a child into the same process group, then waits to be killed.
SCRIPT = """
import subprocess, sys, time
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("ready", flush=True)
time.sleep(60)
"""


def test_group_rss_and_cpu_count_every_member_of_the_group() -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    try:
        assert leader.stdout is not None and leader.stdout.readline().strip() == "ready"
        pids = {p.pid for p in members(leader.pid)}
        assert leader.pid in pids and len(pids) == 2
        rss, count = group_rss(leader.pid)
        assert count == 2 and rss > 2 * 5 * 2**20  # two Python interpreters, > 5 MiB each
        assert group_cpu_s(leader.pid) >= 0.25
    finally:
        os.killpg(leader.pid, signal.SIGKILL)  # the group this test started, nothing else
        leader.wait(timeout=10)
