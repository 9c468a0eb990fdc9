"""Issue #6, bad configs: every malformed config is rejected through the real CLI with exit 1,
a message naming its JSON path, no traceback, and nothing written next to the output.

The corpus (``config_mutations.all_cases``, over 200 configs) runs in-process through
``ovtriton.cli.main``; a handful also run as a subprocess. Security: names cannot leave the
output folder, symlinks out of a base path are refused without ``--follow-symlinks``, and YAML
tags cannot construct Python objects.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ovtriton.converter.repository import PlannedModel, write_repository
from ovtriton.converter.schema import MAX_CONFIG_BYTES

from ovtriton.cli import main
from tests.reliability.config_corpus import BASE, MAX_BYTES, M, build_models
from tests.reliability.config_mutations import Case, all_cases

CASES = all_cases()
SUBPROCESS_IDS = ("truncated-7", "latin-1", "yaml-8", "model-name-1", "symlink-link_version")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_configs") / "ovms"
    root.mkdir()
    build_models(root)
    return root


def _write_case(case: Case, models: Path, tmp_path: Path) -> Path:
    """The case's config, placed in the models' folder (so "add" resolves), unique per test."""
    data = case.data
    if case.id == "base-path-absolute-dotdot":  # absolute, but through '..': still refused
        doc = json.loads(json.dumps(BASE))
        doc[M][0]["config"]["base_path"] = f"{models}/../{models.name}/add"
        data = json.dumps(doc).encode()
    config = models / f"{tmp_path.name}{case.suffix}"
    config.write_bytes(data)
    return config


def _run_cli(args: list[str], caplog: pytest.LogCaptureFixture) -> tuple[int, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        code = main(args)
    return code, caplog.text


def _assert_nothing_written(out_parent: Path) -> None:
    assert list(out_parent.iterdir()) == [], "output or temporary folders were left behind"


def test_corpus_has_at_least_200_configs() -> None:
    assert len(CASES) >= 200
    assert len({case.id for case in CASES}) == len(CASES)
    assert MAX_BYTES == MAX_CONFIG_BYTES == 16 << 20


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cli_rejects_bad_config_with_its_json_path_when_converting(
    case: Case, models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _write_case(case, models, tmp_path)
    out_parent = tmp_path / "out"
    out_parent.mkdir()
    try:
        code, text = _run_cli(["convert", str(config), "-o", str(out_parent / "repo")], caplog)
    finally:
        config.unlink()
    assert code == 1, text
    assert "Traceback" not in text and "unexpected error" not in text, text
    assert "nothing was written" in text, text
    assert f"  {case.path}" in text, f"expected the path {case.path!r} in:\n{text}"
    _assert_nothing_written(out_parent)


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_cli_process_exits_1_without_traceback_when_config_is_bad(
    case_id: str, models: Path, tmp_path: Path
) -> None:
    case = next(case for case in CASES if case.id == case_id)
    config = _write_case(case, models, tmp_path)
    out_parent = tmp_path / "out"
    out_parent.mkdir()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ovtriton", "convert", str(config), "-o", str(out_parent / "r")],
            capture_output=True,
            text=True,
            errors="backslashreplace",
            check=False,
            timeout=120,
        )
    finally:
        config.unlink()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and f"  {case.path}" in done.stderr, done.stderr
    _assert_nothing_written(out_parent)


def test_yaml_python_tags_are_never_constructed(
    models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "PWNED"
    config = models / f"{tmp_path.name}.yaml"
    config.write_text(
        f"model_config_list: !!python/object/apply:os.system ['touch {marker}']\n"
        f"pipeline_config_list: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n"
    )
    try:
        code, text = _run_cli(["convert", str(config), "-o", str(tmp_path / "repo")], caplog)
    finally:
        config.unlink()
    assert code == 1 and "python/object" in text, text
    assert not marker.exists()


def test_symlink_out_of_base_path_converts_only_with_follow_symlinks(
    models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = models / f"{tmp_path.name}.json"
    config.write_text(json.dumps({M: [{"config": {"name": "m", "base_path": "link_version"}}]}))
    out = tmp_path / "repo"
    try:
        refused, text = _run_cli(["convert", str(config), "-o", str(out)], caplog)
        assert refused == 1 and "--follow-symlinks" in text, text
        code, text = _run_cli(["convert", str(config), "-o", str(out), "--follow-symlinks"], caplog)
    finally:
        config.unlink()
    assert code == 0, text
    assert (out / "m" / "1" / "model.xml").is_file()


def test_absolute_base_path_stays_valid(models: Path, tmp_path: Path) -> None:
    config = models / f"{tmp_path.name}.json"
    config.write_text(
        json.dumps({M: [{"config": {"name": "m", "base_path": str(models / "add")}}]})
    )
    try:
        assert main(["convert", str(config), "-o", str(tmp_path / "repo")]) == 0
    finally:
        config.unlink()
    assert (tmp_path / "repo" / "m" / "1" / "model.xml").is_file()


def test_symlink_loop_inside_a_version_folder_ends(models: Path, tmp_path: Path) -> None:
    base = tmp_path / "looped"
    (base / "1").mkdir(parents=True)
    for name in ("model.xml", "model.bin"):
        (base / "1" / name).write_bytes((models / "add" / "1" / name).read_bytes())
    os.symlink(base / "1", base / "1" / "again")  # 1/again -> 1
    config = tmp_path / "config.json"
    config.write_text(json.dumps({M: [{"config": {"name": "m", "base_path": "looped"}}]}))
    assert main(["convert", str(config), "-o", str(tmp_path / "repo")]) == 0


@pytest.mark.parametrize("name", ["..", "../escape", "a/b", "/abs", ""])
def test_repository_refuses_to_write_a_model_outside_the_output(name: str, tmp_path: Path) -> None:
    """Defence in depth: even a plan that bypassed the name rules cannot leave the output."""
    bad = PlannedModel(name, "model", "", (1,), ())
    with pytest.raises(ValueError, match="outside"):
        write_repository([bad], tmp_path / "out" / "repo", force=False, copy=False)
    assert not (tmp_path / "out").exists() and sorted(tmp_path.iterdir()) == []
