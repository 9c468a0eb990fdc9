"""`ovtriton convert` on the seed: exit codes, linking, --copy, --force, --dry-run, YAML, atomicity."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ovtriton.converter import ConversionOptions, convert, plan

from ovtriton.cli import main
from ovtriton.errors import UserError
from tests.unit.converter.seed_models import write_seed


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    return write_seed(tmp_path / "ovms")


def test_convert_links_version_files_when_not_copying(seed: Path, tmp_path: Path) -> None:
    convert(seed, tmp_path / "repo")
    source = seed.parent / "public" / "argmax" / "1" / "saved_model.xml"
    target = tmp_path / "repo" / "argmax" / "1" / "saved_model.xml"
    assert target.stat().st_ino == source.stat().st_ino
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == [
        "argmax",
        "googlenet",
        "image_classification_pipeline",
        "resnet",
    ]
    assert list((tmp_path / "repo" / "image_classification_pipeline" / "1").iterdir()) == []


def test_convert_copies_version_files_when_asked(seed: Path, tmp_path: Path) -> None:
    convert(seed, tmp_path / "repo", options=ConversionOptions(copy=True))
    source = seed.parent / "public" / "argmax" / "1" / "saved_model.bin"
    target = tmp_path / "repo" / "argmax" / "1" / "saved_model.bin"
    assert target.stat().st_ino != source.stat().st_ino
    assert target.read_bytes() == source.read_bytes()


def test_convert_never_modifies_its_inputs(seed: Path, tmp_path: Path) -> None:
    before = _tree_digest(seed.parent)
    convert(seed, tmp_path / "repo")
    convert(seed, tmp_path / "repo", force=True)
    assert _tree_digest(seed.parent) == before


def test_convert_refuses_non_empty_output_unless_forced(seed: Path, tmp_path: Path) -> None:
    out = tmp_path / "repo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="--force"):
        convert(seed, out)
    assert (out / "keep.txt").read_text() == "mine"
    convert(seed, out, force=True)
    assert not (out / "keep.txt").exists() and (out / "argmax" / "config.pbtxt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ovms", "repo"]  # no leftovers


def test_convert_accepts_an_existing_empty_output(seed: Path, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    convert(seed, tmp_path / "repo")
    assert (tmp_path / "repo" / "resnet" / "config.pbtxt").is_file()


def test_convert_refuses_output_that_contains_the_models(seed: Path) -> None:
    with pytest.raises(UserError, match="contains the input"):
        convert(seed, seed.parent, force=True)
    assert (seed.parent / "public" / "argmax" / "1" / "saved_model.xml").is_file()


def test_convert_reads_yaml_with_the_same_structure(seed: Path, tmp_path: Path) -> None:
    config = seed.with_suffix(".yaml")
    config.write_text(yaml.safe_dump(json.loads(seed.read_text())))
    convert(config, tmp_path / "from_yaml")
    convert(seed, tmp_path / "from_json")
    for name in ("argmax", "image_classification_pipeline"):
        assert (tmp_path / "from_yaml" / name / "config.pbtxt").read_text() == (
            tmp_path / "from_json" / name / "config.pbtxt"
        ).read_text()


def test_cli_dry_run_prints_plan_and_writes_nothing(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["convert", str(seed), "-o", str(tmp_path / "repo"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write 3 model(s) (3 version(s)) and 1 ensemble(s)" in out
    assert "ensemble image_classification_pipeline" in out
    assert not (tmp_path / "repo").exists()


def test_cli_prints_summary_when_written(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["convert", str(seed), "-o", str(tmp_path / "repo")]) == 0
    out = capsys.readouterr().out
    assert (
        f"wrote 3 model(s) (3 version(s), files linked) and 1 ensemble(s) to {tmp_path / 'repo'}"
        in out
    )


def test_cli_exits_2_on_usage_error(seed: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ovtriton", "convert", str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "-o/--output" in done.stderr


def test_plan_changed_names_only_what_differs(seed: Path) -> None:
    first = plan(seed)
    assert first.changed(None) == {"googlenet", "resnet", "argmax", "image_classification_pipeline"}
    assert plan(seed).changed(first) == set()
    doc = json.loads(seed.read_text())
    doc["model_config_list"][2]["config"]["model_version_policy"] = {"all": {}}
    doc["pipeline_config_list"][0]["outputs"][0] = {
        "class": doc["pipeline_config_list"][0]["outputs"][0]["label"]
    }
    seed.write_text(json.dumps(doc))
    assert plan(seed).changed(first) == {"argmax", "image_classification_pipeline"}
    (seed.parent / "public" / "resnet-50-tf" / "1" / "resnet-50-tf.bin").touch()  # newer mtime
    assert "resnet" in plan(seed).changed(first)


def test_plan_warns_and_drops_unused_pipeline_inputs(seed: Path) -> None:
    doc = json.loads(seed.read_text())
    doc["pipeline_config_list"][0]["inputs"].append("unused")
    doc["monitoring"] = {"metrics": {"enable": True}}
    seed.write_text(json.dumps(doc))
    result = plan(seed)
    messages = {w.path: w.message for w in result.warnings}
    assert "not used; dropped" in messages["pipeline_config_list[0].inputs"]
    assert "Prometheus" in messages["monitoring"]
    ensemble = next(m for m in result.models if m.name == "image_classification_pipeline")
    assert '"unused"' not in ensemble.config_text


@pytest.mark.parametrize(
    "flags, deprecated",
    [
        (["--pipelines", "model"], None),
        (["--pipeline-model", "image_classification_pipeline"], None),
        (["--pipelines", "fused"], "--pipelines fused is deprecated; write --pipelines model"),
        (
            ["--fuse", "image_classification_pipeline"],
            "--fuse is deprecated; write --pipeline-model image_classification_pipeline",
        ),
    ],
)
def test_pipeline_model_flags_and_their_deprecated_spellings(
    seed: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, flags: list, deprecated: str
) -> None:
    caplog.set_level("WARNING")
    assert main(["convert", str(seed), "-o", str(tmp_path / "repo"), *flags]) == 0
    pipeline = tmp_path / "repo" / "image_classification_pipeline"
    assert (pipeline / "1" / "pipeline.json").is_file()
    assert 'backend: "openvino_py"' in (pipeline / "config.pbtxt").read_text()
    warned = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert warned == ([deprecated] if deprecated else [])


def test_pipeline_model_naming_no_pipeline_is_refused(seed: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        plan(seed, options=ConversionOptions(pipeline_models=frozenset({"nope"})))
    assert "$.pipeline_config_list: --pipeline-model nope: no pipeline has that name" in str(
        info.value
    )
