"""Where tritonserver's HTTP listens, with and without the HTTP guard in front."""

from __future__ import annotations

import argparse
import logging

import pytest

from ovtriton.server.http_guard import HttpEntrance, add_guard_options, entrance_from, wanted


@pytest.mark.parametrize(
    ("mode", "host", "expected"),
    [
        ("auto", "127.0.0.1", False),
        ("auto", "::1", False),
        ("auto", "0.0.0.0", True),
        ("auto", "10.1.2.3", True),
        ("on", "127.0.0.1", True),
        ("off", "0.0.0.0", False),
    ],
)
def test_wanted(mode: str, host: str, expected: bool) -> None:
    assert wanted(mode, host) is expected


def test_guarded_entrance_moves_tritonserver_to_loopback() -> None:
    entrance = HttpEntrance("on")
    entrance.prepare("0.0.0.0")
    assert entrance.upstream_port is not None
    assert entrance.flags("0.0.0.0", 8000) == [
        "--http-address=127.0.0.1",
        f"--http-port={entrance.upstream_port}",
    ]
    assert entrance.upstream == f"127.0.0.1:{entrance.upstream_port}"
    plain = HttpEntrance("off")
    plain.prepare("0.0.0.0")
    assert plain.flags("0.0.0.0", 8000) == ["--http-address=0.0.0.0", "--http-port=8000"]
    assert plain.upstream == "" and plain.refusals is None


def test_serve_options(caplog: pytest.LogCaptureFixture) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    add_guard_options(parser)
    args = parser.parse_args(["--max-inflight-bytes", "1000", "--inflight-wait", "0"])
    entrance = entrance_from(args)
    assert (entrance.mode, entrance.admission.budget_bytes, entrance.admission.wait) == (
        "auto",
        1000,
        0.0,
    )
    with caplog.at_level(logging.WARNING):
        entrance_from(parser.parse_args(["--host", "0.0.0.0", "--http-guard", "off"]))
    assert "one JSON request can crash tritonserver 2.51" in caplog.text
    with pytest.raises(SystemExit):
        parser.parse_args(["--http-guard", "maybe"])
