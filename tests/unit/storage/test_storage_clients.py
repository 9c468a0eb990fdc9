"""Storage clients are reused while their credentials stay the same
(``ovtriton/storage/filesystem.py``): made afresh when the environment or a credential file
changes, and after any storage error. No server is needed: making an s3fs client connects to
nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from ovtriton.storage import filesystem
from ovtriton.storage.errors import StorageError, storage_errors
from ovtriton.storage.urls import parse_url

URL = parse_url("s3://models/ovms/config.json")


@pytest.fixture(autouse=True)
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9")
    filesystem.forget_clients()
    yield credentials
    filesystem.forget_clients()


def test_a_client_is_reused_while_nothing_changes() -> None:
    assert filesystem.open_filesystem(URL) is filesystem.open_filesystem(URL)


def test_new_keys_in_the_environment_make_a_new_client(monkeypatch: pytest.MonkeyPatch) -> None:
    first = filesystem.open_filesystem(URL)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rotated-secret")
    second = filesystem.open_filesystem(URL)
    assert second is not first and second.secret == "rotated-secret"


def test_a_rewritten_credentials_file_makes_a_new_client(s3_env: Path) -> None:
    first = filesystem.open_filesystem(URL)
    stat = s3_env.stat()
    os.utime(s3_env, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert filesystem.open_filesystem(URL) is not first


def test_a_storage_error_forgets_every_client() -> None:
    first = filesystem.open_filesystem(URL)
    with pytest.raises(StorageError, match="cannot list"):
        with storage_errors(URL, "cannot list"):
            raise ConnectionRefusedError("refused")
    assert filesystem.open_filesystem(URL) is not first


def test_the_key_never_holds_a_secret() -> None:
    options = {"key": "first-key", "secret": "first-secret"}
    key = filesystem._client_key("s3", options)
    assert "first-secret" not in key and "first-key" not in key
