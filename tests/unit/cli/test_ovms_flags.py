"""OVMS's command line parsed by `ovtriton serve` and mapped onto its own settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovtriton.cli import build_parser
from ovtriton.errors import UserError
from ovtriton.commands.ovms_flags import apply_ovms_arguments


def parse(*argv: str) -> object:
    args = build_parser(["serve"]).parse_args(["serve", *argv])
    apply_ovms_arguments(args)
    return args


def test_config_path_is_served_and_watched_like_ovms(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    args = parse("--config_path", str(config), "--port", "9000", "--rest_port", "8000")
    assert Path(args.config) == config and args.watch and args.poll_seconds == 1.0
    assert (args.port, args.rest_port) == (9000, 8000)
    # Triton's default HTTP port 8000 is OVMS's REST port here: Triton moves, OVMS's wins.
    assert args.http_port != 8000 and args.grpc_port == 8001 and args.metrics_port == 8002


def test_poll_wait_zero_turns_watching_off_and_other_values_set_the_period(tmp_path: Path) -> None:
    config = str(tmp_path / "c.json")
    assert not parse("--config_path", config, "--file_system_poll_wait_seconds", "0").watch
    assert parse("--config_path", config, "--file_system_poll_wait_seconds", "5").poll_seconds == 5


def test_one_model_mode_writes_an_ovms_config_with_the_model_flags(tmp_path: Path) -> None:
    (tmp_path / "resnet" / "1").mkdir(parents=True)
    args = parse(
        "--model_path", str(tmp_path / "resnet"), "--model_name", "resnet",
        "--target_device", "CPU", "--nireq", "4", "--plugin_config", '{"NUM_STREAMS": "2"}',
        "--layout", "NHWC:NCHW", "--port", "9000",
    )  # fmt: skip
    config = json.loads(Path(args.config).read_text())
    assert config == {
        "model_config_list": [
            {
                "config": {
                    "name": "resnet",
                    "base_path": str((tmp_path / "resnet").resolve()),
                    "target_device": "CPU",
                    "nireq": 4,
                    "plugin_config": {"NUM_STREAMS": "2"},
                    "layout": "NHWC:NCHW",
                }
            }
        ]
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model_path", "{tmp}"], "--model_path needs --model_name"),
        (["--model_path", "{tmp}/missing", "--model_name", "m"], "no such folder"),
        (["--config_path", "c.json", "--nireq", "2"], "--nireq go with --model_path"),
        (["--config_path", "c.json", "--port", "9000", "--rest_port", "9000"], "both 9000"),
    ],
)
def test_inconsistent_ovms_flags_are_user_errors(tmp_path: Path, argv: list, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse(*[a.format(tmp=tmp_path) for a in argv])


def test_ovms_and_serve_sources_exclude_each_other(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        build_parser(["serve"]).parse_args(
            ["serve", "--config_path", "a.json", "--config", "b.json"]
        )
    assert "not allowed with" in capsys.readouterr().err


def test_a_json_flag_that_is_not_json_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser(["serve"]).parse_args(
            ["serve", "--model_path", "m", "--plugin_config", "{bad"]
        )
    assert caught.value.code == 2
    assert "argument --plugin_config: not JSON" in capsys.readouterr().err
