"""The one-minute CI version of `ovtriton soak` (issue #6): zero errors, memory growth <= 5 %.

Correctness and leak assertions only; latency is reported, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_soak_one_minute_has_no_errors_and_no_memory_growth(tmp_path: Path) -> None:
    report_path = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ovtriton",
            "soak",
            "--minutes",
            "1",
            "--concurrency",
            "8",
            "--json",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert report_path.exists(), result.stderr
    report = json.loads(report_path.read_text())
    print(result.stderr)
    assert report["requests"] > 0
    assert report["errors"] == 0, report["first_errors"]
    assert report["growth_percent"] <= 5.0, report["intervals"]
    assert len(report["intervals"]) >= 10 and all(i["processes"] >= 2 for i in report["intervals"])
    assert result.returncode == 0 and "soak passed" in result.stderr
