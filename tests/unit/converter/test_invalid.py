"""A corpus of invalid configs: each is rejected with the expected JSON paths, nothing written."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ovtriton.converter import ConfigError, convert

from tests.unit.converter.invalid_cases import BASE, CASES, M, P, _models, _node, _src


def _run(tmp_path: Path, doc: dict) -> ConfigError:
    root = tmp_path / "ovms"
    _models(root)
    config = root / "config.json"
    config.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        convert(config, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ovms"]  # no temporary leftovers either
    return info.value


def test_base_config_is_valid(tmp_path: Path) -> None:
    root = tmp_path / "ovms"
    _models(root)
    (root / "config.json").write_text(json.dumps(BASE))
    convert(root / "config.json", tmp_path / "repo")
    assert (tmp_path / "repo" / "pipe" / "config.pbtxt").is_file()


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_reports_json_path_when_config_is_invalid(case: str, tmp_path: Path) -> None:
    mutate, expected = CASES[case]
    error = _run(tmp_path, mutate(copy.deepcopy(BASE)))
    assert error.paths == expected, str(error)
    assert all(p.message for p in error.problems)


def test_convert_reports_all_problems_at_once(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc[M][0]["config"]["base_pth"] = "x"
    doc[M][1]["config"]["nireq"] = -1
    _node(doc, 1)["inputs"][0]["a"]["data_item"] = "zz"
    error = _run(tmp_path, doc)
    assert error.paths == [
        f"{M}[0].config.base_pth",
        f"{M}[1].config.nireq",
        f"{P}.nodes[1].inputs[0].a.data_item",
    ]


def test_convert_reports_key_in_quotes_when_it_is_not_an_identifier(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    _node(doc, 0)["inputs"] = [{"map/x": _src("request", "zz")}]
    error = _run(tmp_path, doc)
    assert f'{P}.nodes[0].inputs[0]["map/x"].data_item' in error.paths


def test_cli_exits_1_with_paths_and_no_traceback_when_invalid(tmp_path: Path) -> None:
    root = tmp_path / "ovms"
    _models(root)
    doc = copy.deepcopy(BASE)
    doc[M][0]["config"]["base_pth"] = "x"
    (root / "config.json").write_text(json.dumps(doc))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ovtriton",
            "convert",
            str(root / "config.json"),
            "-o",
            str(tmp_path / "repo"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "model_config_list[0].config.base_pth: unknown key 'base_pth'" in done.stderr
    assert "did you mean 'base_path'?" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize(
    "text, path",
    [
        ("{not json", "(file)"),
        ('{"model_config_list": [], "model_config_list": []}', "(file)"),
        ("[]", "(top level)"),
        ("{}", "(top level)"),
    ],
)
def test_convert_rejects_unreadable_documents(text: str, path: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        convert(config, tmp_path / "repo")
    assert info.value.paths == [path]
    assert not (tmp_path / "repo").exists()
