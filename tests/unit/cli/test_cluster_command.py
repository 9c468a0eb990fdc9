"""``ovtriton cluster`` refuses bad options with exit 1/2 before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovtriton.cli import main
from ovtriton.server.ports import Ports


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cluster", "--replicas", "0"], "--replicas 0: choose 1 to 8"),
        (["cluster", "--clients", "0"], "--clients must be 1 or more"),
        (["cluster", "--mode", "config", "--poll-seconds", "0"], "--poll-seconds 0.0: give a"),
        (
            ["cluster", "--mode", "config", "--scenario", "half-upload"],
            "scenario half-upload: not one of the config route's (config-change, ",
        ),
        (
            ["cluster", "--scenario", "config-change"],
            "scenario config-change: not one of the repository route's",
        ),
    ],
)
def test_bad_numbers_are_user_errors(
    argv: list[str], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(argv) == 1
    assert message in caplog.text


def test_cold_start_needs_a_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "nothing"
    assert main(["cluster", "--cold-start", str(missing)]) == 1
    assert f"--cold-start {missing}: not a folder" in caplog.text


def test_unknown_scenario_is_a_usage_error() -> None:
    assert main(["cluster", "--scenario", "meteor-strike"]) == 2


def test_serve_names_an_unsupported_bucket_url(caplog: pytest.LogCaptureFixture) -> None:
    ports = Ports.free()
    argv = ["serve", "--model-repository", "azfs://share/models"]
    argv += ["--http-port", str(ports.http), "--grpc-port", str(ports.grpc)]
    argv += ["--metrics-port", str(ports.metrics)]
    assert main(argv) == 1  # refused by name before any server starts
    assert "model repository azfs://share/models: azfs:// (Azure Files) is not supported" in (
        caplog.text
    )
