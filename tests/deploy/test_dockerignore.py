""".dockerignore lets in what the image's install needs, the seed's package data included."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from tests.deploy.build_context import ROOT, context_paths

SEED = "model_repository"


def package_data_globs() -> list[str]:
    """pyproject.toml's package data of ovtriton.seed, relative to the checkout."""
    with open(ROOT / "pyproject.toml", "rb") as stream:
        data = tomllib.load(stream)["tool"]["setuptools"]["package-data"]["ovtriton.seed"]
    assert all(g.startswith(f"{SEED}/") for g in data), data
    return data


def files_under(paths: set[str], root: Path, folder: str) -> set[str]:
    return {p for p in paths if p.startswith(f"{folder}/") and (root / p).is_file()}


def test_the_context_holds_what_install_sh_needs_and_nothing_else() -> None:
    paths = context_paths()
    for needed in (
        "pyproject.toml",
        "README.md",
        "docker/install.sh",
        "docker/entrypoint.sh",
        "backend/model.py",
        "converter/__init__.py",
        "ovtriton/cli.py",
        "ovtriton/seed/model_repository",  # the symlink to the seed's repository
    ):
        assert needed in paths, needed
    tops = {p.split("/")[0] for p in paths}
    assert tops <= {
        ".dockerignore",  # the engine always reads it
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "Dockerfile",
        "ovtriton",
        "backend",
        "converter",
        "docker",
        SEED,
    }, tops
    assert not [p for p in paths if "__pycache__" in p or p.endswith(".pyc")]


def test_the_seed_files_in_the_context_are_exactly_the_package_data() -> None:
    expected = {str(p.relative_to(ROOT)) for g in package_data_globs() for p in ROOT.glob(g)}
    assert f"{SEED}/config.json" in expected and f"{SEED}/README.md" in expected
    assert any(p.endswith("/1/.gitkeep") for p in expected), expected
    assert files_under(context_paths(), ROOT, SEED) == expected


def test_model_files_built_into_the_seed_stay_out_of_the_context(tmp_path: Path) -> None:
    """What `make demo` writes next to the configs (weights, stray files) is not sent."""
    shutil.copy2(ROOT / ".dockerignore", tmp_path / ".dockerignore")
    wanted = {
        f"{SEED}/config.json",
        f"{SEED}/README.md",
        f"{SEED}/resnet/config.pbtxt",
        f"{SEED}/pipeline/config.pbtxt",
        f"{SEED}/pipeline/1/.gitkeep",
    }
    unwanted = {
        f"{SEED}/resnet/1/model.xml",
        f"{SEED}/resnet/1/model.bin",
        f"{SEED}/resnet/2/model.xml",
        f"{SEED}/resnet/notes.txt",
        f"{SEED}/photos/cat.jpg",
        "build/demo/trace.json",
    }
    for rel in wanted | unwanted:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert files_under(context_paths(tmp_path), tmp_path, SEED) == wanted
