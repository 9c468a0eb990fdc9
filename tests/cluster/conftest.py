"""A local S3 API server per module, with a small converted-style repository uploaded."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from ovtriton.cluster.bucket import upload_tree
from ovtriton.storage.emulators import MotoS3
from tests.models import scale_model
from tests.repository import add_model

BUCKET = "models"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def small_repository(repo: Path, factor: float = 2.0) -> Path:
    """One model, ``scale``: y = factor * x on [batch, 4]."""
    add_model(repo, "scale", scale_model((1, 4), factor=factor), max_batch_size=8)
    return repo


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    folder = tmp_path_factory.mktemp("s3")
    with MotoS3() as server:
        upload_tree(server.client(), small_repository(folder / "repo"), BUCKET, "v1")
        yield server
