"""`ovtriton convert` with a config, models and repositories in object storage (S3 API, GCS,
Azure Blob), each served by a real local server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ovtriton.cli import main
from tests.models import save, scale_model
from tests.storage.conftest import SCHEMES, listing, new_bucket, upload

MAPPING = {"inputs": {"INPUT/x:0": "x"}, "outputs": {"out.y": "y"}}


def remote_models(folder: Path) -> None:
    """scale: version 1 (factor 2, with a mapping_config.json) and version 2 (factor 3)."""
    save(scale_model((1, 4), factor=2.0), folder / "scale" / "1")
    (folder / "scale" / "1" / "mapping_config.json").write_text(json.dumps(MAPPING))
    save(scale_model((1, 4), factor=3.0), folder / "scale" / "2")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_convert_reads_the_config_and_the_served_versions_from_object_storage(
    scheme: str, storage_env: dict[str, str], tmp_path: Path
) -> None:
    bucket = new_bucket(scheme)
    remote_models(tmp_path / "up" / "models")
    config = {
        "model_config_list": [
            {  # an absolute URL, and the policy serving version 1 only
                "config": {
                    "name": "scale",
                    "base_path": f"{scheme}://{bucket}/models/scale",
                    "model_version_policy": {"specific": {"versions": [1]}},
                }
            },
            {"config": {"name": "copy", "base_path": "scale"}},  # relative to the config
        ]
    }
    (tmp_path / "up" / "models" / "config.json").write_text(json.dumps(config))
    upload(tmp_path / "up", f"{scheme}://{bucket}")

    out = tmp_path / "repo"
    assert main(["convert", f"{scheme}://{bucket}/models/config.json", "-o", str(out)]) == 0

    assert sorted(p.name for p in (out / "scale").iterdir()) == ["1", "config.pbtxt"]
    assert sorted(p.name for p in (out / "copy").iterdir()) == ["2", "config.pbtxt"]  # latest
    pbtxt = (out / "scale" / "config.pbtxt").read_text()
    assert 'name: "x"' in pbtxt and 'name: "y"' in pbtxt  # mapping_config.json was mirrored
    for version, model in (("1", out / "scale" / "1"), ("2", out / "copy" / "2")):
        local = tmp_path / "up" / "models" / "scale" / version / "model.bin"
        copied = model / "model.bin"
        # Real copies: the repository does not depend on the mirror, which is gone by now.
        assert not copied.is_symlink() and copied.read_bytes() == local.read_bytes()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_convert_writes_a_repository_to_object_storage(
    scheme: str, storage_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    remote_models(tmp_path / "models")
    config = {
        "model_config_list": [{"config": {"name": "scale", "base_path": "models/scale"}}],
        "pipeline_config_list": [
            {
                "name": "pipe",
                "inputs": ["x"],
                "nodes": [
                    {
                        "name": "node",
                        "model_name": "scale",
                        "type": "DL model",
                        "inputs": [{"INPUT/x:0": {"node_name": "request", "data_item": "x"}}],
                        "outputs": [{"data_item": "out.y", "alias": "y"}],
                    }
                ],
                "outputs": [{"y": {"node_name": "node", "data_item": "y"}}],
            }
        ],
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    url = f"{scheme}://{new_bucket(scheme)}/repo"
    assert main(["convert", str(tmp_path / "config.json"), "-o", url]) == 0
    expected = {
        "pipe/config.pbtxt",
        "pipe/1/.keep",  # object storage has no empty folders: the ensemble's version is marked
        "scale/config.pbtxt",
        "scale/2/model.xml",
        "scale/2/model.bin",
    }
    assert listing(url) == expected
    assert f"to {url}" in capsys.readouterr().out

    # An existing repository is replaced only with --force.
    assert main(["convert", str(tmp_path / "config.json"), "-o", url]) == 1
    assert main(["convert", str(tmp_path / "config.json"), "-o", url, "--force"]) == 0
    assert listing(url) == expected


def test_one_model_mode_takes_a_model_path_url(storage_env: dict[str, str], tmp_path: Path) -> None:
    from ovtriton.cli import build_parser
    from ovtriton.commands.ovms_flags import apply_ovms_arguments

    bucket = new_bucket("s3")
    remote_models(tmp_path / "up")
    upload(tmp_path / "up", f"s3://{bucket}")
    argv = ["serve", "--model_path", f"s3://{bucket}/scale", "--model_name", "m"]
    policy = '{"specific": {"versions": [1]}}'
    args = build_parser(argv).parse_args([*argv, "--model_version_policy", policy])
    apply_ovms_arguments(args)
    assert main(["convert", str(args.config), "-o", str(tmp_path / "repo")]) == 0
    assert sorted(p.name for p in (tmp_path / "repo" / "m").iterdir()) == ["1", "config.pbtxt"]


def test_single_model_files_and_custom_node_libraries_are_mirrored(
    storage_env: dict[str, str], tmp_path: Path
) -> None:
    from ovtriton.storage.mirror import Mirror
    from tests.integration.conftest import onnx_file

    bucket = new_bucket("gs")
    onnx_file(tmp_path / "up" / "onnx" / "model.onnx")
    (tmp_path / "up" / "lib" / "libnode.so").parent.mkdir(parents=True)
    (tmp_path / "up" / "lib" / "libnode.so").write_bytes(b"\x7fELF not really")
    config = {
        "model_config_list": [{"config": {"name": "add", "base_path": "onnx/model.onnx"}}],
        "custom_node_library_config_list": [{"name": "lib", "base_path": "lib/libnode.so"}],
    }
    (tmp_path / "up" / "config.json").write_text(json.dumps(config))
    upload(tmp_path / "up", f"gs://{bucket}")

    mirror = Mirror(f"gs://{bucket}/config.json", tmp_path / "cache")
    assert mirror.sync() and not mirror.sync()  # nothing changed the second time
    local = json.loads(mirror.config_path.read_text())
    library = Path(local["custom_node_library_config_list"][0]["base_path"])
    assert library.read_bytes() == b"\x7fELF not really"
    model = Path(local["model_config_list"][0]["config"]["base_path"])
    assert model.read_bytes() == (tmp_path / "up" / "onnx" / "model.onnx").read_bytes()

    # A replaced object is seen, mirrored into a new generation; the unchanged one is linked.
    (tmp_path / "up" / "lib" / "libnode.so").write_bytes(b"\x7fELF version 2")
    upload(tmp_path / "up" / "lib", f"gs://{bucket}/lib")
    assert mirror.sync()
    again = json.loads(mirror.config_path.read_text())
    assert (
        Path(again["custom_node_library_config_list"][0]["base_path"]).read_bytes().endswith(b"2")
    )
    assert Path(again["model_config_list"][0]["config"]["base_path"]).stat().st_nlink == 2

    out = tmp_path / "repo"
    assert main(["convert", f"gs://{bucket}/config.json", "-o", str(out)]) == 0
    assert (out / "add" / "1" / "model.onnx").is_file()


def test_without_credentials_a_public_bucket_is_read_anonymously(
    storage_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=storage_env["S3_ENDPOINT"],
        region_name=storage_env["AWS_REGION"],
        aws_access_key_id=storage_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=storage_env["AWS_SECRET_ACCESS_KEY"],
    )
    bucket = f"public-{uuid.uuid4().hex[:8]}"
    where = {"LocationConstraint": storage_env["AWS_REGION"]}
    s3.create_bucket(Bucket=bucket, ACL="public-read", CreateBucketConfiguration=where)
    remote_models(tmp_path / "up")
    config = {"model_config_list": [{"config": {"name": "m", "base_path": "scale"}}]}
    (tmp_path / "up" / "config.json").write_text(json.dumps(config))
    for path in sorted(p for p in (tmp_path / "up").rglob("*") if p.is_file()):
        key = path.relative_to(tmp_path / "up").as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ACL="public-read")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["convert", f"s3://{bucket}/config.json", "-o", str(tmp_path / "repo")]) == 0
    assert (tmp_path / "repo" / "m" / "2" / "model.xml").is_file()


def test_a_half_uploaded_version_is_refused_until_its_upload_completes(
    storage_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """model.xml without model.bin (an upload in progress): the mirror refuses it, naming the
    version; once model.bin is there the same config converts."""
    from ovtriton.storage.mirror import Mirror

    bucket = new_bucket("s3")
    save(scale_model((1, 4), factor=2.0), tmp_path / "up" / "scale" / "1")
    weights = (tmp_path / "up" / "scale" / "1" / "model.bin").read_bytes()
    (tmp_path / "up" / "scale" / "1" / "model.bin").unlink()
    config = {"model_config_list": [{"config": {"name": "scale", "base_path": "scale"}}]}
    (tmp_path / "up" / "config.json").write_text(json.dumps(config))
    upload(tmp_path / "up", f"s3://{bucket}")
    url = f"s3://{bucket}/config.json"

    assert main(["convert", url, "-o", str(tmp_path / "repo")]) == 1
    error = caplog.text
    assert f"s3://{bucket}/scale/1: version 1 is incomplete: model.xml without model.bin" in error
    assert not (tmp_path / "repo").exists()  # nothing half written

    mirror = Mirror(url, tmp_path / "cache")
    with pytest.raises(Exception, match="incomplete"):
        mirror.sync()
    (tmp_path / "up" / "scale" / "1" / "model.bin").write_bytes(weights)
    upload(tmp_path / "up", f"s3://{bucket}")
    assert mirror.sync()  # the next poll mirrors the completed upload
    mirrored = Path(
        json.loads(mirror.config_path.read_text())["model_config_list"][0]["config"]["base_path"]
    )
    assert (mirrored / "1" / "model.bin").read_bytes() == weights
