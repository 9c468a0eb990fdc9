"""docker/entrypoint.sh chooses its mode and flags right (fake tritonserver and ovtriton: fast)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


@pytest.fixture
def fakes(tmp_path: Path) -> dict[str, str]:
    """A backend folder, a tritonserver that prints its arguments, an ovtriton that records them."""
    (tmp_path / "backends" / "openvino_py").mkdir(parents=True)
    server = tmp_path / "tritonserver"
    server.write_text('#!/bin/sh\nfor a in "$@"; do echo "server $a"; done\n')
    converter = tmp_path / "ovtriton"
    converter.write_text('#!/bin/sh\necho "ovtriton $*"\nmkdir -p "$4"\n')
    # Runs the HTTP guard (records its arguments) and the admin key's hider (ignored here).
    python = tmp_path / "python3"
    python.write_text(
        "#!/bin/sh\n"
        f'case "$2" in ovtriton.server.http_guard) echo "$*" > {tmp_path / "guard.args"} ;; esac\n'
    )
    for f in (server, converter, python):
        f.chmod(0o755)
    return {
        "PATH": os.environ["PATH"],
        "TRITONSERVER": str(server),
        "OVTRITON": str(converter),
        "OVTRITON_PYTHON": str(python),
        "OVTRITON_BACKEND_DIRECTORY": str(tmp_path / "backends") + "/",
        "OVTRITON_CONVERTED_REPOSITORY": str(tmp_path / "converted" / "repository"),
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, check=False, capture_output=True, text=True
    )


def test_entrypoint_serves_a_triton_repository_when_there_is_no_ovms_config(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "repo").mkdir()
    result = run({**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo")}, "--log-verbose=1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not any(line.startswith("ovtriton") for line in lines)
    assert lines[0] == f"server --model-repository={tmp_path / 'repo'}"
    # No trailing slash on the backend directory (server #7410); the image's defaults; extra
    # flags last so they win.
    assert f"server --backend-directory={tmp_path / 'backends'}" in lines
    # All interfaces: the HTTP guard on 8000, tritonserver's own HTTP on loopback behind it.
    assert "server --http-address=127.0.0.1" in lines and "server --http-port=18000" in lines
    assert (tmp_path / "guard.args").read_text().split() == [
        "-m", "ovtriton.server.http_guard", "--die-with-parent",
        "--listen", "0.0.0.0:8000", "--upstream", "127.0.0.1:18000",
    ]  # fmt: skip
    assert "server --grpc-address=0.0.0.0" in lines
    assert "server --grpc-port=8001" in lines and "server --metrics-port=8002" in lines
    assert lines[-1] == "server --log-verbose=1"


def test_entrypoint_converts_a_mounted_ovms_folder(fakes: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "config.json").write_text('{"model_config_list": []}')
    result = run({**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "models")})
    assert result.returncode == 0, result.stderr
    converted = fakes["OVTRITON_CONVERTED_REPOSITORY"]
    lines = result.stdout.splitlines()
    assert (
        lines[0] == f"ovtriton convert {tmp_path / 'models' / 'config.json'} -o {converted} --force"
    )
    assert lines[1] == f"server --model-repository={converted}"


def test_entrypoint_converts_the_config_named_in_the_environment(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "elsewhere" / "ovms.json"
    config.parent.mkdir()
    config.write_text("{}")
    result = run(
        {
            **fakes,
            "OVTRITON_OVMS_CONFIG": str(config),
            "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "absent"),
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(f"ovtriton convert {config} -o ")


def test_entrypoint_converts_with_the_max_input_bytes_of_the_environment(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "config.json").write_text('{"model_config_list": []}')
    env = {**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "models")}
    result = run({**env, "OVTRITON_MAX_INPUT_BYTES": "67108864"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(" --force --max-input-bytes=67108864")
    unset = run(env)  # unset: the converter's own default
    assert "--max-input-bytes" not in unset.stdout


def test_entrypoint_passes_object_storage_to_tritonserver(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    result = run(
        {**fakes, "OVTRITON_MODEL_REPOSITORY": "s3://bucket/repo", "OVTRITON_HTTP_PORT": "8080"}
    )
    assert result.returncode == 0, result.stderr
    assert "server --model-repository=s3://bucket/repo" in result.stdout.splitlines()
    assert "server --http-port=18000" in result.stdout.splitlines()  # the guard has 8080
    assert "--listen 0.0.0.0:8080" in (tmp_path / "guard.args").read_text()


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://minio.storage:9000", "s3://minio.storage:9000/bucket/repo"),
        ("https://minio.storage", "s3://https://minio.storage:443/bucket/repo"),
        ("", "s3://bucket/repo"),
    ],
)
def test_entrypoint_maps_ovms_s3_variables(
    fakes: dict[str, str], tmp_path: Path, endpoint: str, expected: str
) -> None:
    server = tmp_path / "tritonserver-env"
    server.write_text(
        '#!/bin/sh\nfor a in "$@"; do echo "server $a"; done\n'
        'echo "region $AWS_DEFAULT_REGION"\necho "key $AWS_SECRET_ACCESS_KEY"\n'
    )
    server.chmod(0o755)
    env = {
        **fakes,
        "TRITONSERVER": str(server),
        "OVTRITON_MODEL_REPOSITORY": "s3://bucket/repo",
        "AWS_REGION": "eu-west-1",
        "AWS_SECRET_ACCESS_KEY": "not-logged-secret",
    }
    if endpoint:
        env["S3_ENDPOINT"] = endpoint
    result = run(env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"server --model-repository={expected}" in lines
    assert "region eu-west-1" in lines
    assert "key not-logged-secret" in lines  # passed to tritonserver ...
    assert "not-logged-secret" not in result.stderr  # ... and never logged


def test_entrypoint_leaves_a_repository_flag_alone(fakes: dict[str, str], tmp_path: Path) -> None:
    result = run(
        {**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "absent")},
        "--model-store=/mnt/models",
    )
    assert result.returncode == 0, result.stderr
    repos = [line for line in result.stdout.splitlines() if "--model-" in line]
    assert repos == ["server --model-store=/mnt/models"]


def test_entrypoint_runs_a_command_instead(fakes: dict[str, str]) -> None:
    result = run(fakes, "echo", "hello")
    assert (result.returncode, result.stdout) == (0, "hello\n")


def test_entrypoint_fails_when_the_repository_is_missing(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    result = run({**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "absent")})
    assert result.returncode == 1
    assert f"model repository {tmp_path / 'absent'} is not a directory" in result.stderr
    assert "server" not in result.stdout


def test_entrypoint_fails_when_the_ovms_config_is_missing(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    result = run({**fakes, "OVTRITON_OVMS_CONFIG": str(tmp_path / "nope.json")})
    assert result.returncode == 1
    assert f"OVMS config {tmp_path / 'nope.json'} is not a file" in result.stderr


def test_entrypoint_stops_when_conversion_fails(fakes: dict[str, str], tmp_path: Path) -> None:
    failing = tmp_path / "failing-ovtriton"
    failing.write_text("#!/bin/sh\necho 'error: bad config' >&2\nexit 1\n")
    failing.chmod(0o755)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "config.json").write_text("{")
    result = run(
        {**fakes, "OVTRITON": str(failing), "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "models")}
    )
    assert result.returncode == 1
    assert "error: bad config" in result.stderr and "conversion of" in result.stderr
    assert "server" not in result.stdout


def test_entrypoint_fails_without_the_backend(fakes: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    result = run(
        {
            **fakes,
            "OVTRITON_BACKEND_DIRECTORY": str(tmp_path / "repo"),
            "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo"),
        }
    )
    assert result.returncode == 1
    assert "no openvino_py backend" in result.stderr


def restriction_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "restricted" in line]


def test_entrypoint_closes_the_control_apis_with_a_random_key_per_start(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "repo").mkdir()
    env = {**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo")}
    first, second = run(env), run(env)
    assert first.returncode == 0, first.stderr
    apis = "logging,model-repository,shared-memory,trace"
    http, grpc = restriction_lines(first.stdout)
    assert http.startswith(f"server --http-restricted-api={apis}:ovtriton-admin-key=")
    assert grpc.startswith(f"server --grpc-restricted-protocol={apis}:ovtriton-admin-key=")
    key = http.rpartition("=")[2]
    assert len(key) == 48 and grpc.endswith(f"={key}")
    assert restriction_lines(second.stdout)[0].rpartition("=")[2] != key


def test_entrypoint_takes_the_key_from_a_secret_file_before_the_environment(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "repo").mkdir()
    secret = tmp_path / "admin-key"
    secret.write_text("from-secret\n")
    env = {**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo")}
    result = run({**env, "OVTRITON_ADMIN_KEY_FILE": str(secret), "OVTRITON_ADMIN_KEY": "env"})
    assert [line.rpartition("=")[2] for line in restriction_lines(result.stdout)] == [
        "from-secret",
        "from-secret",
    ]
    result = run({**env, "OVTRITON_ADMIN_KEY": "from-env"})
    assert restriction_lines(result.stdout)[0].endswith(":ovtriton-admin-key=from-env")
    result = run({**env, "OVTRITON_ADMIN_KEY": "a:b"})
    assert result.returncode == 1 and "the admin key must be one non-empty word" in result.stderr


def test_entrypoint_opt_out_and_operator_flags_replace_ours(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "repo").mkdir()
    env = {**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo")}
    opened = run({**env, "OVTRITON_OPEN_CONTROL_APIS": "1"})
    assert opened.returncode == 0 and restriction_lines(opened.stdout) == []
    assert "control APIs open to every client" in opened.stderr
    own = run(env, "--http-restricted-api=model-repository:k=v")
    assert restriction_lines(own.stdout) == ["server --http-restricted-api=model-repository:k=v"]


@pytest.mark.parametrize(
    ("host", "guard", "guarded"),
    [("127.0.0.1", "auto", False), ("0.0.0.0", "off", False), ("127.0.0.1", "on", True)],
)
def test_entrypoint_guard_modes(
    fakes: dict[str, str], tmp_path: Path, host: str, guard: str, guarded: bool
) -> None:
    (tmp_path / "repo").mkdir()
    env = {
        **fakes,
        "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo"),
        "OVTRITON_HOST": host,
        "OVTRITON_HTTP_GUARD": guard,
    }
    result = run(env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (tmp_path / "guard.args").exists() == guarded
    expected = ("127.0.0.1", "18000") if guarded else (host, "8000")
    assert f"server --http-address={expected[0]}" in lines
    assert f"server --http-port={expected[1]}" in lines
    if guard == "off":
        assert "no HTTP guard" in result.stderr


def test_entrypoint_refuses_an_unknown_guard_mode(fakes: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    env = {
        **fakes,
        "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo"),
        "OVTRITON_HTTP_GUARD": "yes",
    }
    result = run(env)
    assert result.returncode == 1 and "must be auto, on or off" in result.stderr


def test_entrypoint_passes_http_max_input_size_when_tritonserver_knows_it(
    fakes: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "repo").mkdir()
    newer = tmp_path / "newer-tritonserver"  # lists the flag in --help, as Triton > 2.51 may
    newer.write_text(
        '#!/bin/sh\n[ "$1" = --help ] && { echo "  --http-max-input-size <integer>"; exit 0; }\n'
        'for a in "$@"; do echo "server $a"; done\n'
    )
    newer.chmod(0o755)
    env = {**fakes, "OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo"), "TRITONSERVER": str(newer)}
    lines = run(env).stdout.splitlines()
    assert "server --http-max-input-size=1073741823" in lines
    assert not any(
        "max-input-size" in line
        for line in run(
            fakes | {"OVTRITON_MODEL_REPOSITORY": str(tmp_path / "repo")}
        ).stdout.splitlines()
    )
    given = run(env, "--http-max-input-size=5").stdout.splitlines()
    assert [line for line in given if "max-input-size" in line] == [
        "server --http-max-input-size=5"
    ]
