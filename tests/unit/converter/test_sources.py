"""Where a model's files are: base_path resolved, version folders found, the policy applied."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ovtriton.converter.errors import Problems
from ovtriton.converter.ovms import ModelEntry, VersionPolicy
from ovtriton.converter.sources import find_versions

WHERE = "model_config_list[0].config"


def entry(base_path: str, policy: VersionPolicy = VersionPolicy()) -> ModelEntry:
    return ModelEntry(WHERE, "m", base_path, version_policy=policy)


def version(root: Path, number: str, *files: str) -> None:
    for name in files:
        (root / "m" / number / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "m" / number / name).write_bytes(b"x")


def test_latest_policy_serves_the_highest_version_with_all_its_files(tmp_path: Path) -> None:
    version(tmp_path, "1", "model.xml", "model.bin")
    version(tmp_path, "2", "model.xml", "model.bin", "sub/extra.txt")
    (tmp_path / "m" / "notes").mkdir()  # not a number: skipped
    problems = Problems()
    (found,) = find_versions(entry("m"), tmp_path, problems)
    assert not problems and found.number == 2
    assert [rel for rel, _ in found.files] == [
        PurePosixPath("model.bin"),
        PurePosixPath("model.xml"),
        PurePosixPath("sub/extra.txt"),
    ]


def test_specific_policy_serves_existing_versions_and_warns_about_the_others(
    tmp_path: Path,
) -> None:
    version(tmp_path, "1", "model.onnx")
    version(tmp_path, "3", "model.onnx")
    problems = Problems()
    found = find_versions(
        entry("m", VersionPolicy("specific", versions=(1, 2))), tmp_path, problems
    )
    assert [v.number for v in found] == [1]
    assert not problems
    assert [w.message for w in problems.warnings] == [
        "version(s) [2] do not exist; serving [1] (as OVMS does)"
    ]


def test_version_zero_is_skipped_with_a_warning(tmp_path: Path) -> None:
    version(tmp_path, "0", "model.onnx")
    version(tmp_path, "1", "model.onnx")
    problems = Problems()
    assert [v.number for v in find_versions(entry("m"), tmp_path, problems)] == [1]
    assert [w.message for w in problems.warnings] == [
        "skipped folder '0': versions start at 1 (as in OVMS)"
    ]


def test_missing_base_path_says_where_relative_paths_are_read(tmp_path: Path) -> None:
    problems = Problems()
    assert find_versions(entry("nowhere"), tmp_path, problems) == []
    assert [str(p) for p in problems.items] == [
        f"{WHERE}.base_path: {tmp_path / 'nowhere'} does not exist\n    hint: relative paths "
        "are read from the config file's folder"
    ]


def test_remote_and_dotdot_base_paths_are_refused(tmp_path: Path) -> None:
    problems = Problems()
    find_versions(entry("s3://bucket/m"), tmp_path, problems)
    find_versions(entry("a/../m"), tmp_path, problems)
    assert [p.message for p in problems.items] == [
        "remote base_path 's3://bucket/m' is read through a local mirror",
        "base_path 'a/../m' escapes with '..'",
    ]


def test_a_single_model_file_is_version_one_and_needs_its_companion(tmp_path: Path) -> None:
    (tmp_path / "model.xml").write_text("<net/>")
    problems = Problems()
    assert find_versions(entry("model.xml"), tmp_path, problems) == []
    assert [p.message for p in problems.items] == ["model.xml needs model.bin beside it"]
    (tmp_path / "model.bin").write_bytes(b"")
    problems = Problems()
    (found,) = find_versions(entry("model.xml"), tmp_path, problems)
    assert (found.number, found.model_file) == (1, tmp_path / "model.xml")
    assert [rel.name for rel, _ in found.files] == ["model.xml", "model.bin"]


def test_a_single_file_of_another_kind_is_refused_with_the_known_suffixes(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"")
    problems = Problems()
    find_versions(entry("saved_model.pb"), tmp_path, problems)
    assert [str(p) for p in problems.items] == [
        f"{WHERE}.base_path: saved_model.pb is not a model file\n    hint: use a folder of "
        "versions, or a .xml, .onnx, .pdmodel, .tflite file"
    ]


def test_a_symlink_out_of_the_base_path_is_refused_unless_followed(tmp_path: Path) -> None:
    version(tmp_path, "1", "model.onnx")
    outside = tmp_path / "secret.txt"
    outside.write_text("s")
    os.symlink(outside, tmp_path / "m" / "1" / "link.txt")
    problems = Problems()
    assert find_versions(entry("m"), tmp_path, problems) == []
    assert [p.message for p in problems.items] == [
        f"{tmp_path / 'm' / '1' / 'link.txt'} is a symlink leading out of the base path, to "
        f"{outside}"
    ]
    problems = Problems()
    (found,) = find_versions(entry("m"), tmp_path, problems, follow_symlinks=True)
    assert not problems and len(found.files) == 2
