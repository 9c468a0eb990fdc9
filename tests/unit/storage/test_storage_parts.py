"""The storage module's parts without a server: URLs, credential variables, error lines,
version selection, and the order in which a repository is published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ovtriton.storage import publish as publish_module
from ovtriton.storage.credentials import storage_options
from ovtriton.storage.errors import StorageError, cause_of, storage_errors
from ovtriton.storage.mirror import _served
from ovtriton.storage.urls import is_remote, parse_url


def test_urls_are_parsed_and_refused_with_reasons() -> None:
    url = parse_url(" s3://bucket/a/b/ ")
    assert (url.scheme, url.bucket, url.key, str(url)) == ("s3", "bucket", "a/b", "s3://bucket/a/b")
    assert url.child("../c").key == "a/c" and url.parent().key == "a" and url.path == "bucket/a/b"
    assert is_remote("AZ://c/x") and is_remote("azfs://s/x") and not is_remote("/models/x")
    for text, cause in (
        ("s3:///key", "names no bucket"),
        ("s3://key:secret@bucket/x", "credentials do not belong in the URL"),
        ("gs://bucket/a/../../b", "escapes"),
        ("azfs://share/m", "Azure Files"),
    ):
        with pytest.raises(StorageError, match=cause) as caught:
            parse_url(text)
        assert "secret" not in str(caught.value) or "credentials" in str(caught.value)


def test_ovms_variables_become_client_settings() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_REGION": "eu-central-1",
        "S3_ENDPOINT": "minio:9000",
        "S3_USE_HTTPS": "0",
    }
    s3 = storage_options("s3", env)
    assert (s3["key"], s3["secret"], s3["token"]) == ("id", "secret", "token")
    assert s3["endpoint_url"] == "http://minio:9000"
    assert s3["client_kwargs"] == {"region_name": "eu-central-1"}
    assert s3["config_kwargs"]["retries"]["max_attempts"] == 3  # bounded
    assert storage_options("s3", {"AWS_PROFILE": "p"})["profile"] == "p"
    assert "key" not in storage_options("s3", {})  # botocore's own chain, else anonymous
    assert (
        storage_options("gs", {"GOOGLE_APPLICATION_CREDENTIALS": "/k.json"})["token"] == "/k.json"
    )
    emulator = storage_options("gs", {"STORAGE_EMULATOR_HOST": "127.0.0.1:9"})
    assert (emulator["endpoint_url"], emulator["token"]) == ("http://127.0.0.1:9", "anon")
    az = storage_options("az", {"AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=k"})
    assert az["connection_string"] == "AccountName=a;AccountKey=k"


def test_errors_name_the_url_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    with pytest.raises(StorageError) as caught:
        with storage_errors("s3://b/k", "cannot read"):
            raise OSError("SignatureDoesNotMatch for very-secret-value")
    text = str(caught.value)
    assert text.startswith("s3://b/k: cannot read: access denied") and "very-secret" not in text
    assert "AWS_ACCESS_KEY_ID" in text  # the hint names the variables to check
    assert cause_of(FileNotFoundError("x"))[0] == "no such object or folder"
    assert "unreachable" in cause_of(ConnectionRefusedError("connect refused"))[0]


@pytest.mark.parametrize(
    "policy, served",
    [
        (None, ["10"]),
        ({"all": {}}, ["1", "2", "10"]),
        ({"latest": {"num_versions": 2}}, ["2", "10"]),
        ({"specific": {"versions": [1, 3]}}, ["1"]),
        ({"bogus": {}}, ["1", "2", "10"]),  # the converter reports it; nothing is hidden
    ],
)
def test_only_the_served_versions_are_mirrored(policy: Any, served: list[str]) -> None:
    assert _served(policy, ["2", "10", "1"]) == served


class Recorder:
    """A filesystem that records what is done, in order (publish's only contact with storage)."""

    def __init__(self, existing: list[str]) -> None:
        self.calls: list[tuple[str, str]] = []
        self.existing = existing

    def put(self, sources: list[str], targets: list[str]) -> None:
        self.calls += [("put", t) for t in targets]

    def put_file(self, source: str, target: str) -> None:
        self.calls.append(("put", target))

    def rm(self, paths: list[str]) -> None:
        self.calls += [("rm", p) for p in paths]


def test_publish_removes_config_first_and_uploads_it_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "m" / "1").mkdir(parents=True)
    (repo / "m" / "1" / "model.xml").write_text("x")
    (repo / "m" / "config.pbtxt").write_text('name: "m"')
    (repo / "e" / "1").mkdir(parents=True)
    (repo / "e" / "config.pbtxt").write_text('name: "e"\nplatform: "ensemble"')
    old = ["m/1/model.xml", "m/config.pbtxt", "gone/config.pbtxt", "gone/1/a"]
    fs = Recorder(old)
    monkeypatch.setattr(publish_module, "open_filesystem", lambda url: fs)
    monkeypatch.setattr(
        publish_module, "file_entries", lambda fs_, url: {rel: {} for rel in fs.existing}
    )
    publish_module.publish(repo, parse_url("s3://b/r"), force=True)
    assert fs.calls == [
        ("rm", "b/r/gone/config.pbtxt"),
        ("rm", "b/r/gone/1/a"),
        ("rm", "b/r/m/config.pbtxt"),
        ("rm", "b/r/m/1/model.xml"),
        ("put", "b/r/m/1/model.xml"),
        ("put", "b/r/m/config.pbtxt"),
        ("put", "b/r/e/1/.keep"),  # the ensemble after the model it uses
        ("put", "b/r/e/config.pbtxt"),
    ]


def test_watch_logs_a_storage_failure_once_and_again_after_a_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ovtriton.server.watch import ConfigWatcher

    caplog.set_level("INFO", logger="ovtriton.server.watch")
    config = tmp_path / "config.json"
    config.write_text("{}")
    outcomes = iter(
        [StorageError("s3://b/c", "down")] * 3 + [None] + [StorageError("s3://b/c", "down")]
    )

    def sync() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    watcher = ConfigWatcher(config, tmp_path / "repo", sync=sync)
    watcher._fingerprint = watcher._read()[1]  # as after the first conversion
    for _ in range(5):
        assert watcher.poll(lambda name: None, lambda name: None) is False
    failures = [r for r in caplog.records if "keeps serving, retrying" in r.getMessage()]
    assert len(failures) == 2  # polls 1-3: once; after the recovery at poll 4: again
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_a_refused_connection_is_unreachable_whatever_digits_its_url_holds() -> None:
    """A status number counts only as the error's code: a refused connection to a port such as
    40319 once read as "access denied" (the message holds the URL, and "403" matched)."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    for port in (40319, 50012, 40422, 8000):
        refused = EndpointConnectionError(endpoint_url=f"http://127.0.0.1:{port}/b?list-type=2")
        assert (
            cause_of(refused, "s3")[0] == "storage endpoint unreachable (EndpointConnectionError)"
        )
    denied = ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "ListObjectsV2")
    assert cause_of(denied, "s3")[0] == "access denied (403)"
    failing = ClientError({"Error": {"Code": "503", "Message": "Slow"}}, "ListObjectsV2")
    assert cause_of(failing, "s3")[0].startswith("the storage server failed (503)")
