"""Open the fsspec client of a RemoteUrl, fresh each time (credentials and listings current)."""

from __future__ import annotations

import logging
import socket
from typing import Any

from .credentials import ATTEMPTS, CONNECT_TIMEOUT, endpoint, storage_options
from .errors import StorageError, storage_errors
from .urls import RemoteUrl

LOGGER = logging.getLogger(__name__)

_MODULES = {"s3": "s3fs", "gs": "gcsfs", "az": "adlfs"}
CLIENT_LOGGERS = ("botocore", "aiobotocore", "s3fs", "gcsfs", "google", "azure", "adlfs", "fsspec",
                  "urllib3", "aiohttp")  # fmt: skip


def open_filesystem(url: RemoteUrl) -> Any:
    """The fsspec filesystem for ``url``; StorageError when its client is not installed."""
    # The clients log request headers (session tokens, signatures) at DEBUG and azure-core every
    # request at INFO: they stay at WARNING even with --verbose, so no secret reaches a log.
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import fsspec

        __import__(_MODULES[url.scheme])
    except ImportError:
        raise StorageError(
            url,
            f"the {_MODULES[url.scheme]} client is not installed",
            "pip install 'ovtriton[storage]'",
        ) from None
    _probe(url)
    options = dict(
        skip_instance_cache=True,  # credentials may change between calls
        use_listings_cache=False,  # a watcher must see every change
        **storage_options(url.scheme),
    )
    with storage_errors(url, "cannot open the storage client"):
        if url.scheme == "gs":
            # The plain client: gcsfs's default (ExtendedGcsFileSystem) first asks a gRPC
            # control API for each bucket's layout, waiting up to a minute where it is absent.
            from gcsfs.core import GCSFileSystem

            fs = GCSFileSystem(**options)
        else:
            fs = fsspec.filesystem(url.protocol, **options)
    if hasattr(fs, "retries"):
        fs.retries = ATTEMPTS  # gcsfs retries 6 times with backoff by default
    return fs


def file_entries(fs: Any, url: RemoteUrl) -> dict[str, dict[str, Any]]:
    """Every object below ``url`` (relative path -> fsspec info); {} when there is none."""
    with storage_errors(url, "cannot list"):
        try:
            found = fs.find(url.path, detail=True)
        except FileNotFoundError:
            return {}
    return {
        url.relative(path): info
        for path, info in found.items()
        if info.get("type") != "directory" and url.relative(path)
    }


def version_tag(info: dict[str, Any]) -> str:
    """What changes when an object is replaced: its ETag (or generation), size and time."""
    keys = (
        "ETag",
        "etag",
        "generation",
        "size",
        "LastModified",
        "last_modified",
        "mtime",
        "updated",
    )
    return "|".join(str(info.get(k, "")) for k in keys)


def _probe(url: RemoteUrl) -> None:
    """Fail in seconds when the GCS or Azure endpoint does not answer: their clients retry a
    refused connection for half a minute or more with backoff."""
    where = endpoint(url.scheme)
    if where is None or not where[0]:
        return
    try:
        socket.create_connection(where, timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise StorageError(
            url,
            f"storage endpoint unreachable ({where[0]}:{where[1]}: {exc.strerror or exc})",
            "check the endpoint (STORAGE_EMULATOR_HOST, the connection string's BlobEndpoint) "
            "and the network",
        ) from None
