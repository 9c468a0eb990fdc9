"""Writing the Triton model repository: atomically, linking unless asked to copy."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from ovtriton.converter.repository import (
    PlannedFile,
    PlannedModel,
    check_target,
    write_repository,
)

from ovtriton.errors import UserError


def planned(source: Path, config: str = 'name: "m"\n') -> PlannedModel:
    files = (
        PlannedFile(PurePosixPath("1", "model.onnx"), source=source),
        PlannedFile(PurePosixPath("1", "extra.txt"), data=b"data"),
    )
    return PlannedModel("m", "model", config, (1,), files)


def test_write_repository_links_sources_writes_data_and_config(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx")
    out = tmp_path / "repo"
    write_repository([planned(source)], out, force=False, copy=False)
    assert (out / "m" / "config.pbtxt").read_text() == 'name: "m"\n'
    assert (out / "m" / "1" / "extra.txt").read_bytes() == b"data"
    assert os.path.samefile(out / "m" / "1" / "model.onnx", source)  # a hard link
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "repo"]  # no leftovers


def test_write_repository_copies_when_asked(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx")
    write_repository([planned(source)], tmp_path / "repo", force=False, copy=True)
    assert not os.path.samefile(tmp_path / "repo" / "m" / "1" / "model.onnx", source)


def test_force_replaces_the_whole_old_repository(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx")
    out = tmp_path / "repo"
    (out / "old").mkdir(parents=True)
    write_repository([planned(source)], out, force=True, copy=False)
    assert sorted(p.name for p in out.iterdir()) == ["m"]


def test_a_model_name_that_climbs_out_is_never_written(tmp_path: Path) -> None:
    bad = PlannedModel("../x", "model", "", (), ())
    with pytest.raises(ValueError):
        write_repository([bad], tmp_path / "repo", force=False, copy=False)
    assert not (tmp_path / "repo").exists() and not (tmp_path / "x").exists()


def test_check_target_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "repo" / "a").mkdir(parents=True)
    with pytest.raises(UserError) as info:
        check_target(tmp_path / "repo", False, [])
    assert str(info.value) == (
        f"output {tmp_path / 'repo'} exists and is not empty; pass --force to replace it"
    )
    check_target(tmp_path / "repo", True, [])


def test_check_target_refuses_an_output_that_holds_an_input(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "m").mkdir(parents=True)
    with pytest.raises(UserError) as info:
        check_target(models, True, [models / "m"])
    assert str(info.value).startswith(f"output {models} contains the input {models / 'm'}")


def test_digest_changes_with_the_config_and_the_files(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx")
    first = planned(source).digest
    assert planned(source).digest == first
    assert planned(source, 'name: "n"\n').digest != first
    source.write_bytes(b"onnx, longer")
    assert planned(source).digest != first
