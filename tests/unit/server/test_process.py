"""The tritonserver command TritonServer builds: identity, restrictions, exit timeout, mode."""

from __future__ import annotations

from pathlib import Path

from ovtriton.server import embedded
from ovtriton.server.admin import HEADER, AdminAccess
from ovtriton.server.process import EXIT_TIMEOUT, Ports, TritonServer


def command(tmp_path: Path, *extra: str, admin: AdminAccess | None = None) -> list[str]:
    server = TritonServer(
        tmp_path, ports=Ports(1, 2, 3), extra_args=extra, admin=admin or AdminAccess("k3y")
    )
    return server.command(tmp_path / "backends", embedded.locate())


def test_a_start_has_its_own_id_restrictions_and_a_short_exit_timeout(tmp_path: Path) -> None:
    cmd = command(tmp_path)
    ids = [a for a in cmd if a.startswith("--id=ovtriton-")]
    assert len(ids) == 1
    assert f"--exit-timeout-secs={EXIT_TIMEOUT}" in cmd
    restricted = [a for a in cmd if "restricted" in a]
    assert len(restricted) == 2 and all(a.endswith(f":{HEADER}=k3y") for a in restricted)
    assert "--model-control-mode=explicit" in cmd  # the stub watchdog reloads models


def test_operator_choices_after_dashdash_win(tmp_path: Path) -> None:
    extra = ("--exit-timeout-secs=60", "--id=mine", "--model-control-mode=none")
    cmd = command(tmp_path, *extra)
    assert not any(a.startswith("--exit-timeout-secs=5") for a in cmd)
    assert cmd[-3:] == list(extra) and "--model-control-mode=explicit" not in cmd
    server = TritonServer(tmp_path, extra_args=extra)
    assert server.expected_id == "mine"  # what GET /v2 must answer


def test_opting_out_drops_the_restrictions_only(tmp_path: Path) -> None:
    cmd = command(tmp_path, admin=AdminAccess(enabled=False))
    assert not any("restricted" in a for a in cmd)
    assert any(a.startswith("--id=") for a in cmd)


def test_each_server_object_gets_another_id(tmp_path: Path) -> None:
    assert TritonServer(tmp_path).server_id != TritonServer(tmp_path).server_id
