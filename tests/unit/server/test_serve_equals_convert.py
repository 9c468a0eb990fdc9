"""``serve --config X [options]`` (and OVMS's ``--config_path X``) builds byte for byte the
repository ``convert X [same options]`` writes: for every golden config, the custom-node DAG
config and the bench's small workload, with several sets of the conversion flags, both parsed
from a real command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from ovtriton.bench.small import write_small_workload
from ovtriton.cli import build_parser, main
from ovtriton.commands.conversion import PIPELINE_FORMS, conversion_options
from ovtriton.commands.serve import managed_repository
from ovtriton.converter import ConversionOptions
from ovtriton.converter.options import PIPELINE_FORMS as CONVERTER_FORMS
from ovtriton.commands.ovms_flags import apply_ovms_arguments
from tests.custom_nodes.dag_cases import write_dag_config
from tests.unit.converter.golden_cases import CASES

# the golden configs, the custom-node DAG and the bench's small workload (the issue's
# measurement: two parallel small models, 15 % slower through serve --config without budgets)
CONFIGS: dict[str, Callable[[Path], Path]] = {
    **CASES,
    "custom_dag": write_dag_config,
    "bench_small": write_small_workload,
}
FLAGS = {
    "defaults": [],
    "cores_3": ["--cores", "3"],
    "pipeline_models": ["--pipelines", "model", "--cores", "4"],
    "no_budget_copy_limit": ["--cores", "0", "--copy", "--max-input-bytes", "4096"],
}


def tree(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Relative path -> (kind, content): a file's bytes, a link's target, a folder's nothing.
    Hardlinked model files count as their bytes (both trees link the same source file)."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = ("dir", "")
            else:
                found[key] = ("file", path.read_bytes())
    return found


def inodes(root: Path) -> dict[str, int]:
    """Hardlinked files (model files linked from their source) -> their inode."""
    return {
        str(p.relative_to(root)): p.stat().st_ino
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p.stat().st_nlink > 1
    }


def serve_args(flag: str, config: Path, extra: list[str], workdir: Path):  # noqa: ANN201
    args = build_parser(["serve"]).parse_args(["serve", flag, str(config), *extra])
    apply_ovms_arguments(args)  # --config_path -> --config, as serve's run does first
    args.workdir = workdir
    return args


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("configs")
    return {name: write(root / name) for name, write in CONFIGS.items()}


@pytest.mark.parametrize("flags", sorted(FLAGS))
@pytest.mark.parametrize("case", sorted(CONFIGS))
@pytest.mark.parametrize("source", ["--config", "--config_path"])
def test_serve_config_builds_the_repository_convert_writes(
    case: str, flags: str, source: str, configs: dict[str, Path], tmp_path: Path
) -> None:
    config, extra = configs[case], FLAGS[flags]
    converted = tmp_path / "convert"
    assert main(["convert", str(config), "-o", str(converted), *extra]) == 0
    args = serve_args(source, config, extra, tmp_path / "serve")
    served = managed_repository(args, tmp_path / "serve").repository
    assert served == tmp_path / "serve" / "repository"
    expected = tree(converted)
    assert any(k.endswith("config.pbtxt") for k in expected)  # the comparison compares something
    assert tree(served) == expected
    linked = inodes(converted)
    assert inodes(served) == linked  # both trees link the same source files (or copy them)
    assert bool(linked) == ("--copy" not in extra)


def test_both_commands_read_the_flags_into_the_same_options(tmp_path: Path) -> None:
    extra = ["--cores", "5", "--pipeline-model", "p", "--max-input-bytes", "7", "--follow-symlinks"]
    convert_args = build_parser(["convert"]).parse_args(["convert", "c.json", "-o", "r", *extra])
    serve = serve_args("--config", Path("c.json"), extra, tmp_path)
    expected = ConversionOptions(
        cores=5, pipeline_models=frozenset({"p"}), max_input_bytes=7, follow_symlinks=True
    )
    assert conversion_options(convert_args) == conversion_options(serve) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "c.json", "-o", "r"],
        ["serve", "--config", "c.json"],
        ["serve", "--config_path", "c.json"],
        ["demo"],
        ["bench"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_every_command_defaults_to_the_library_options_cores_auto(argv: list[str]) -> None:
    args = build_parser(argv).parse_args(argv)
    assert conversion_options(args) == ConversionOptions()
    assert ConversionOptions().cores is None  # auto: this machine's cores, on every path


def test_the_flag_helper_and_the_converter_name_the_same_pipeline_forms() -> None:
    assert PIPELINE_FORMS == CONVERTER_FORMS


def test_conversion_flags_without_a_config_are_refused_by_name(tmp_path: Path) -> None:
    from ovtriton.commands.serve import run
    from ovtriton.errors import UserError

    argv = ["serve", "--model-repository", str(tmp_path), "--cores", "2", "--copy"]
    args = build_parser(argv).parse_args(argv)
    with pytest.raises(UserError, match=r"--copy, --cores: these convert an OVMS config"):
        run(args)


def test_serve_config_gives_the_issues_workload_its_thread_budgets(
    configs: dict[str, Path], tmp_path: Path
) -> None:
    """The measured case: two parallel small models. Served without budgets each took every
    core (193 vs 227 req/s at concurrency 4); now serve's repository has them, as convert's."""
    extra = ["--cores", "4", "--schedule", "even"]  # the even split: 2 threads each
    args = serve_args("--config_path", configs["bench_small"], extra, tmp_path)
    served = managed_repository(args, tmp_path).repository
    for model in ("conv_a", "conv_b"):
        text = (served / model / "config.pbtxt").read_text()
        assert 'key: "INFERENCE_NUM_THREADS"' in text and 'string_value: "2"' in text, text
