"""serve --model-repository URL: OVMS's spelling of places and credentials -> tritonserver's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovtriton.errors import UserError
from ovtriton.server.remote import repository_argument, resolve


def test_s3_endpoint_moves_into_the_url_and_region_is_copied() -> None:
    env = {"S3_ENDPOINT": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-1"}
    repo = resolve("s3://bucket/models/seed", env)
    assert repo.triton_url == "s3://127.0.0.1:9000/bucket/models/seed"
    assert dict(repo.env) == {"AWS_DEFAULT_REGION": "eu-west-1"}
    assert str(repo) == "s3://bucket/models/seed"


def test_https_endpoint_and_explicit_default_region() -> None:
    env = {
        "S3_ENDPOINT": "https://minio.example:9443",
        "AWS_REGION": "a",
        "AWS_DEFAULT_REGION": "b",
    }
    repo = resolve("s3://bucket/p", env)
    assert repo.triton_url == "s3://https://minio.example:9443/bucket/p"
    assert dict(repo.env) == {}  # AWS_DEFAULT_REGION set by the user wins


def test_tritons_own_form_and_aws_pass_unchanged() -> None:
    assert resolve("s3://10.0.0.1:9000/b/p", {"S3_ENDPOINT": "http://x:1"}).triton_url == (
        "s3://10.0.0.1:9000/b/p"
    )
    assert resolve("s3://bucket/p", {}).triton_url == "s3://bucket/p"
    assert resolve("gs://bucket/p", {}).triton_url == "gs://bucket/p"


def test_azure_connection_string_becomes_account_and_key() -> None:
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=acct;"
        "AccountKey=a2V5==;EndpointSuffix=core.windows.net"
    }
    repo = resolve("az://container/p", env)
    assert repo.triton_url == "as://acct/container/p"
    assert dict(repo.env) == {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "a2V5=="}
    assert "a2V5" not in repr(repo)  # credentials stay out of messages and logs


@pytest.mark.parametrize(
    ("url", "env", "message"),
    [
        ("azfs://share/p", {}, "Azure Files"),
        ("az://c/p", {}, "AZURE_STORAGE_CONNECTION_STRING"),
        (
            "az://c/p",
            {
                "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=http://127.0.0.1:1/a;"
                "AccountName=a;AccountKey=secretkey"
            },
            "custom BlobEndpoint",
        ),
        ("s3://", {}, "no bucket"),
    ],
)
def test_unsupported_places_are_named_without_secrets(url: str, env: dict, message: str) -> None:
    with pytest.raises(UserError, match=message) as error:
        resolve(url, env)
    assert url in str(error.value)
    assert "secretkey" not in str(error.value)


def test_argument_keeps_urls_verbatim() -> None:
    assert repository_argument("s3://127.0.0.1:1/b/p") == "s3://127.0.0.1:1/b/p"
    assert repository_argument("repo") == Path("repo")


def test_a_gcs_emulator_is_given_to_tritonserver_in_its_spelling() -> None:
    repo = resolve("gs://bucket/p", {"STORAGE_EMULATOR_HOST": "127.0.0.1:4443"})
    assert repo.triton_url == "gs://bucket/p"
    assert dict(repo.env) == {"CLOUD_STORAGE_EMULATOR_ENDPOINT": "http://127.0.0.1:4443"}
    assert dict(resolve("gs://bucket/p", {}).env) == {}
