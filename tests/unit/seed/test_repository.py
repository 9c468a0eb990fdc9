"""The seed's model repository ships as package data: found through importlib.resources, copied
into any folder, and built into a wheel that carries it (so demo and bench need no checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ovtriton.errors import UserError
from ovtriton.seed import repository

ROOT = Path(__file__).resolve().parents[3]
SEED_MODELS = ("efficientnet-lite0", "efficientnet-lite1", "argmax")
SHIPPED = (
    "config.json",
    "README.md",
    *(f"{name}/config.pbtxt" for name in (*SEED_MODELS, repository.PIPELINE)),
    f"{repository.PIPELINE}/1/.gitkeep",
)


def test_the_shipped_repository_is_the_checkouts_model_repository() -> None:
    shipped = repository.shipped()
    for name in SHIPPED:
        assert (
            shipped.joinpath(name).read_bytes() == (ROOT / "model_repository" / name).read_bytes()
        )


def test_copy_to_writes_the_config_and_every_config_pbtxt_and_keeps_built_weights(
    tmp_path: Path,
) -> None:
    weights = tmp_path / "argmax" / "1" / "model.bin"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"built")
    config = repository.copy_to(tmp_path)
    assert config == tmp_path / "config.json"
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert found == sorted([*SHIPPED, "argmax/1/model.bin"])
    assert weights.read_bytes() == b"built"


def test_model_folders_are_the_repositorys_model_folders(tmp_path: Path) -> None:
    config = repository.copy_to(tmp_path / "repo")
    assert repository.model_folders(config) == {
        name: (tmp_path / "repo" / name).resolve() for name in SEED_MODELS
    }


def test_the_wheel_carries_the_repository_and_finds_it_without_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("ovtriton-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in SHIPPED:
        assert f"ovtriton/seed/model_repository/{name}" in names, name
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    probe = (
        "import ovtriton, pathlib\nfrom ovtriton.seed import repository\n"
        "print(ovtriton.__file__)\n"
        "config = repository.copy_to(pathlib.Path('copy'))\n"
        "print(sorted(repository.model_folders(config)))\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=empty, env={"PYTHONPATH": str(site)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    where, models = result.stdout.splitlines()
    assert where.startswith(str(site))
    assert models == str(sorted(SEED_MODELS))
    assert (empty / "copy" / "efficientnet-lite0" / "config.pbtxt").is_file()


def test_model_folders_of_a_broken_config_is_a_user_error_with_the_json_path(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"model_config_list": [{"config": {"name": "a"}}]}')
    with pytest.raises(UserError, match=r"model_config_list\[0\]\.config.*base_path"):
        repository.model_folders(config)
