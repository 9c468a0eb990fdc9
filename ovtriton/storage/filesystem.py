"""Open the fsspec client of a RemoteUrl: listings always current, clients reused while the
credentials they were made with stay the same.

Making a client is the dear part of a poll (S3: a botocore session and client, 0.1–0.5 s of CPU
measured against a local S3 server, where one listing on a client already made takes ~7 ms), so
a client is kept per protocol and set of options (the credentials from the environment) plus the
modification times of the credential files the SDKs read; a changed environment or file makes a
new one, and any storage error forgets every client (``forget_clients``), so a poll after a
failure (rotated keys, a restarted server) starts afresh. Listings are never cached.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from pathlib import Path
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
        __import__("fsspec")
        __import__(_MODULES[url.scheme])
    except ImportError:
        raise StorageError(
            url,
            f"the {_MODULES[url.scheme]} client is not installed",
            "pip install 'ovtriton[storage]'",
        ) from None
    _probe(url)
    options = dict(
        skip_instance_cache=True,  # this module keeps the clients (see _client_key)
        use_listings_cache=False,  # a watcher must see every change
        **storage_options(url.scheme),
    )
    key = _client_key(url.protocol, options)
    with _LOCK:
        known = _CLIENTS.get(key)
    if known is not None:
        return known
    fs = _make(url, options)
    with _LOCK:
        _CLIENTS[key] = fs
    return fs


def forget_clients() -> None:
    """Make every client again at its next use (after any storage error)."""
    with _LOCK:
        _CLIENTS.clear()


_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()
# Credential files the SDKs read, besides the environment (their content may be rotated).
_CREDENTIAL_FILES = ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
                     "GOOGLE_APPLICATION_CREDENTIALS")  # fmt: skip
_DEFAULT_FILES = ("~/.aws/credentials", "~/.aws/config")


def _client_key(protocol: str, options: dict[str, Any]) -> str:
    """A digest of what a client was made with (never the secrets themselves)."""
    digest = hashlib.sha256(protocol.encode())
    digest.update(repr(sorted(options.items(), key=lambda item: item[0])).encode())
    files = [os.environ.get(name, "") for name in _CREDENTIAL_FILES] + list(_DEFAULT_FILES)
    for name in filter(None, files):
        try:
            stamp = Path(name).expanduser().stat().st_mtime_ns
        except OSError:
            stamp = -1
        digest.update(f"\0{name}\0{stamp}".encode())
    return digest.hexdigest()


def _make(url: RemoteUrl, options: dict[str, Any]) -> Any:
    with storage_errors(url, "cannot open the storage client"):
        if url.scheme == "gs":
            # The plain client: gcsfs's default (ExtendedGcsFileSystem) first asks a gRPC
            # control API for each bucket's layout, waiting up to a minute where it is absent.
            from gcsfs.core import GCSFileSystem

            fs = GCSFileSystem(**options)
        else:
            import fsspec

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
