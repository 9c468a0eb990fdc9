"""Every OVMS flag in the table does what its row says: mapped, warned or refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from ovtriton.cli import build_parser
from ovtriton.commands.ovms_flag_table import FLAGS, OvmsFlag, markdown
from ovtriton.commands.ovms_flags import apply_ovms_arguments
from ovtriton.errors import UserError

DOC = Path(__file__).resolve().parents[3] / "docs" / "migration.md"


def parse(*argv: str) -> Any:
    args = build_parser(["serve"]).parse_args(["serve", *argv])
    args.passthrough = []
    apply_ovms_arguments(args)
    return args


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """--log_level and --log_path change the root logger: put it back."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_the_doc_shows_the_table_the_parser_uses() -> None:
    text = DOC.read_text(encoding="utf-8")
    shown = text.split("<!-- ovms-flags:start -->\n")[1].split("<!-- ovms-flags:end -->")[0]
    assert shown == markdown(), "regenerate: python -m ovtriton.commands.ovms_flag_table"


def test_the_table_names_each_flag_once() -> None:
    names = [flag.name for flag in FLAGS]
    assert len(names) == len(set(names))
    for must in ("log_level", "grpc_bind_address", "cache_dir", "cpu_extension", "task"):
        assert must in names


def with_value(flag: OvmsFlag) -> list[str]:
    return [flag.option] if flag.value == "switch" else [flag.option, "1"]


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.action == "refused"], ids=lambda f: f.name)
def test_refused_flags_exit_1_naming_why(flag: OvmsFlag, tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        parse("--config_path", str(tmp_path / "c.json"), *with_value(flag))
    assert f"{flag.option}: {flag.what}" in str(caught.value)


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.action == "warned"], ids=lambda f: f.name)
def test_warned_flags_are_accepted_with_one_warning(
    flag: OvmsFlag, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        args = parse("--config_path", str(tmp_path / "c.json"), *with_value(flag))
    assert args.config == str(tmp_path / "c.json")  # a string: it may be a URL
    lines = [r.getMessage() for r in caplog.records if flag.option in r.getMessage()]
    assert lines == [f"{flag.option} is accepted and changes nothing here: {flag.what}"]


def one_model(tmp_path: Path, *argv: str) -> dict[str, Any]:
    (tmp_path / "m" / "1").mkdir(parents=True, exist_ok=True)
    args = parse("--model_path", str(tmp_path / "m"), "--model_name", "m", *argv)
    config: dict[str, Any] = json.loads(Path(args.config).read_text())
    return config["model_config_list"][0]["config"]


def _log_path(tmp_path: Path) -> None:
    parse("--config_path", "c.json", "--log_path", str(tmp_path / "ovms.log"))
    logging.getLogger("ovtriton.test").warning("written to the OVMS log path")
    assert "written to the OVMS log path" in (tmp_path / "ovms.log").read_text()


def _log_level(tmp_path: Path) -> None:
    args = parse("--config_path", "c.json", "--log_level", "DEBUG")
    assert logging.getLogger().level == logging.DEBUG and args.passthrough == ["--log-verbose=1"]
    parse("--config_path", "c.json", "--log_level", "ERROR")
    assert logging.getLogger().level == logging.ERROR
    with pytest.raises(UserError, match="--log_level 'LOUD'"):
        parse("--config_path", "c.json", "--log_level", "LOUD")


def _exits_0(*argv: str) -> Callable[[Path], None]:
    def check(tmp_path: Path) -> None:
        with pytest.raises(SystemExit) as caught:
            build_parser(["serve"]).parse_args(["serve", *argv])
        assert caught.value.code == 0

    return check


MAPPED: dict[str, Callable[[Path], None]] = {
    "help": _exits_0("--help"),
    "version": _exits_0("--version"),
    "port": lambda t: assert_(parse("--config_path", "c.json", "--port", "9100").port == 9100),
    "rest_port": lambda t: assert_(
        parse("--config_path", "c.json", "--rest_port", "9101").rest_port == 9101
    ),
    "grpc_bind_address": lambda t: assert_(
        parse("--config_path", "c.json", "--grpc_bind_address", "localhost").host == "localhost"
    ),
    "rest_bind_address": lambda t: assert_(
        parse("--config_path", "c.json", "--rest_bind_address", "localhost").host == "localhost"
    ),
    "log_level": _log_level,
    "log_path": _log_path,
    "file_system_poll_wait_seconds": lambda t: assert_(
        parse("--config_path", "c.json", "--file_system_poll_wait_seconds", "5").poll_seconds == 5
    ),
    "metrics_enable": lambda t: assert_(parse("--config_path", "c.json", "--metrics_enable").watch),
    "config_path": lambda t: assert_(parse("--config_path", "c.json").config == "c.json"),
    "model_name": lambda t: assert_(one_model(t)["name"] == "m"),
    "model_path": lambda t: assert_(one_model(t)["base_path"] == str((t / "m").resolve())),
    "batch_size": lambda t: assert_(one_model(t, "--batch_size", "4")["batch_size"] == "4"),
    "shape": lambda t: assert_(one_model(t, "--shape", "(1,3)")["shape"] == "(1,3)"),
    "layout": lambda t: assert_(one_model(t, "--layout", "NHWC:NCHW")["layout"] == "NHWC:NCHW"),
    "model_version_policy": lambda t: assert_(
        one_model(t, "--model_version_policy", '{"all": {}}')["model_version_policy"] == {"all": {}}
    ),
    "nireq": lambda t: assert_(one_model(t, "--nireq", "3")["nireq"] == 3),
    "target_device": lambda t: assert_(
        one_model(t, "--target_device", "CPU")["target_device"] == "CPU"
    ),
    "plugin_config": lambda t: assert_(
        one_model(t, "--plugin_config", '{"NUM_STREAMS": "1"}')["plugin_config"]
        == {"NUM_STREAMS": "1"}
    ),
}


def assert_(condition: bool) -> None:
    assert condition


def test_every_mapped_flag_has_a_check() -> None:
    assert sorted(MAPPED) == sorted(f.name for f in FLAGS if f.action == "mapped")


@pytest.mark.parametrize("name", sorted(MAPPED))
def test_mapped_flags_set_what_the_table_says(name: str, tmp_path: Path) -> None:
    MAPPED[name](tmp_path)


def test_port_0_starts_no_server_as_in_ovms() -> None:
    args = parse("--config_path", "c.json", "--port", "0", "--rest_port", "9101")
    assert args.port is None and args.rest_port == 9101


def test_two_bind_addresses_are_refused() -> None:
    with pytest.raises(UserError, match="one address"):
        parse("--config_path", "c.json", "--grpc_bind_address", "127.0.0.1,::1")
    with pytest.raises(UserError, match="one address"):
        parse(
            "--config_path", "c.json",
            "--grpc_bind_address", "127.0.0.1", "--rest_bind_address", "0.0.0.0",
        )  # fmt: skip
