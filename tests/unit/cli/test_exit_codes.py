"""The CLI's error contract: 0 ok, 1 user error, 2 usage, 3 bug (traceback only with -v), 130
interrupted; and `ovtriton --help` imports no subcommand (it must stay fast)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ovtriton.cli import COMMANDS, dispatch, main
from ovtriton.errors import UserError
from tests.models import save, scale_model


def _args(verbose: bool = False) -> argparse.Namespace:
    return argparse.Namespace(verbose=verbose)


def _config(root: Path) -> Path:
    save(scale_model(), root / "scale" / "1")
    path = root / "config.json"
    path.write_text(
        json.dumps({"model_config_list": [{"config": {"name": "scale", "base_path": "scale"}}]})
    )
    return path


def test_a_command_that_succeeds_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["convert", str(config), "-o", str(tmp_path / "repo"), "--dry-run"]) == 0
    assert "would write 1 model(s)" in capsys.readouterr().out


def test_a_user_error_exits_1_with_the_message_and_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "nope.json"
    assert main(["convert", str(missing), "-o", str(tmp_path / "repo")]) == 1
    assert str(missing) in caplog.text and "Traceback" not in caplog.text


def test_a_usage_error_exits_2_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--concurrency", "1,x"]) == 2
    assert (
        "--concurrency: '1,x' is not a comma-separated list of integers" in capsys.readouterr().err
    )
    assert main(["no-such-command"]) == 2
    assert main(["--help"]) == 0


def _bug(args: argparse.Namespace) -> int:
    raise KeyError("boom")


def test_a_bug_exits_3_with_a_hint_and_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert dispatch(_bug, _args()) == 3
    assert (
        "unexpected error: KeyError: 'boom' (a bug in ovtriton; run with --verbose" in caplog.text
    )
    assert not any(record.exc_info for record in caplog.records)


def test_a_bug_with_verbose_still_exits_3_and_logs_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        assert dispatch(_bug, _args(verbose=True)) == 3
    assert "Traceback" in caplog.text and 'raise KeyError("boom")' in caplog.text


def test_an_interrupt_exits_130() -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert dispatch(interrupted, _args()) == 130


def test_user_error_raised_by_a_command_exits_1() -> None:
    def refuse(args: argparse.Namespace) -> int:
        raise UserError("bad input; fix it")

    assert dispatch(refuse, _args()) == 1


def test_help_imports_no_subcommand_and_nothing_heavy() -> None:
    probe = (
        "import sys\nfrom ovtriton.cli import main\nassert main(['--help']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('openvino', 'tritonclient', 'numpy', 'google') or m.startswith('ovtriton.commands.'))\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_only_the_chosen_subcommand_is_imported() -> None:
    probe = (
        "import sys\nfrom ovtriton.cli import main\nmain(['metadata', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('ovtriton.commands.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "['ovtriton.commands.metadata']"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_names_no_path_of_this_machine_and_no_issue_number(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: ovtriton {command}")
    checkout = str(Path(__file__).resolve().parents[3])
    assert checkout not in text and str(Path.home()) not in text
    assert not re.search(r"issue|#\d", text, re.IGNORECASE), text
