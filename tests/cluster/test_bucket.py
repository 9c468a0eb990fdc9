"""The cluster's bucket on the one S3 launcher (MotoS3): started on a free loopback port, ours,
stopped by pid; uploads mark empty folders and write configs last."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from ovtriton.cluster.bucket import FOLDER_MARK, split_url, upload_tree
from ovtriton.storage.emulators import MotoS3
from ovtriton.errors import UserError


def test_upload_marks_empty_folders_and_stop_ends_the_process(tmp_path: Path) -> None:
    (tmp_path / "model" / "1").mkdir(parents=True)
    (tmp_path / "model" / "1" / "model.xml").write_bytes(b"<net/>")
    (tmp_path / "model" / "config.pbtxt").write_text('name: "model"')
    (tmp_path / "ensemble" / "1").mkdir(parents=True)
    server = MotoS3()
    with server:
        pid = server.pid
        assert server.owns_port()
        client = server.client()
        keys = upload_tree(client, tmp_path, "bucket", "repo")
        listed = sorted(o["Key"] for o in client.list_objects_v2(Bucket="bucket")["Contents"])
        body = client.get_object(Bucket="bucket", Key="repo/model/1/model.xml")["Body"].read()
    assert (
        listed
        == sorted(keys)
        == [
            f"repo/ensemble/1/{FOLDER_MARK}",
            "repo/model/1/model.xml",
            "repo/model/config.pbtxt",
        ]
    )
    assert keys[-1] == "repo/model/config.pbtxt"  # a model's config is written last
    assert body == b"<net/>"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not server.running


def test_split_url_reads_both_spellings() -> None:
    assert split_url("s3://127.0.0.1:9000/bucket/a/b") == ("bucket", "a/b")
    assert split_url("s3://bucket/a/b") == ("bucket", "a/b")
    with pytest.raises(UserError, match="no bucket"):
        split_url("s3://127.0.0.1:9000/")
