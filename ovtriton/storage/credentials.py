"""OVMS's credential variables (docs/using_cloud_storage.md) -> the fsspec clients' settings.

S3: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``
(else ``AWS_DEFAULT_REGION``), ``S3_ENDPOINT`` (MinIO and other S3 APIs; ``host:port`` means
https unless ``S3_USE_HTTPS=0``), ``AWS_PROFILE``; without them botocore's own chain
(~/.aws, instance roles). GCS: ``GOOGLE_APPLICATION_CREDENTIALS`` (a key file), else Google's
default credentials; ``STORAGE_EMULATOR_HOST`` (the SDKs' emulator variable) talks to an
emulator without credentials. Azure Blob: ``AZURE_STORAGE_CONNECTION_STRING``, else
``AZURE_STORAGE_ACCOUNT_NAME`` with Azure's default credential chain.

Every client gets bounded timeouts; S3 also bounded retries (botocore's standard mode). gcsfs
and adlfs keep their own retries (6 with backoff; Azure's SDK policy), so ``filesystem`` first
checks that their endpoint accepts a connection: an unreachable one fails in seconds.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Mapping

CONNECT_TIMEOUT = 5  # seconds to open a connection
READ_TIMEOUT = 30  # seconds without a byte from the server
ATTEMPTS = 3  # tries per request (the first one included)


def storage_options(scheme: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for the fsspec filesystem of ``scheme`` (s3, gs, az)."""
    env = os.environ if env is None else env
    if scheme == "s3":
        return _s3(env)
    if scheme == "gs":
        return _gcs(env)
    if scheme == "az":
        return _azure(env)
    raise ValueError(scheme)


def _s3(env: Mapping[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "config_kwargs": {
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "retries": {"max_attempts": ATTEMPTS, "mode": "standard"},
        },
    }
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        options["key"] = env["AWS_ACCESS_KEY_ID"]
        options["secret"] = env["AWS_SECRET_ACCESS_KEY"]
        if env.get("AWS_SESSION_TOKEN"):
            options["token"] = env["AWS_SESSION_TOKEN"]
    elif env.get("AWS_PROFILE"):
        options["profile"] = env["AWS_PROFILE"]
    elif not _aws_chain_has_credentials():
        options["anon"] = True  # public buckets, as OVMS reads them without credentials
    client: dict[str, Any] = {}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        client["region_name"] = region
    endpoint = env.get("S3_ENDPOINT", "").strip()
    if endpoint:
        if "://" not in endpoint:
            https = env.get("S3_USE_HTTPS", "1").strip().lower() not in ("0", "false", "no")
            endpoint = f"{'https' if https else 'http'}://{endpoint}"
        options["endpoint_url"] = endpoint
    if client:
        options["client_kwargs"] = client
    return options


def _gcs(env: Mapping[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {"requests_timeout": READ_TIMEOUT}
    emulator = env.get("STORAGE_EMULATOR_HOST", "").strip()
    if emulator:
        options["endpoint_url"] = emulator if "://" in emulator else f"http://{emulator}"
        options["token"] = "anon"
    elif env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        options["token"] = env["GOOGLE_APPLICATION_CREDENTIALS"]
    else:
        options["token"] = "google_default"
    return options


def _azure(env: Mapping[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "connection_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
    }
    if env.get("AZURE_STORAGE_CONNECTION_STRING"):
        options["connection_string"] = env["AZURE_STORAGE_CONNECTION_STRING"]
    elif env.get("AZURE_STORAGE_ACCOUNT_NAME"):
        options["account_name"] = env["AZURE_STORAGE_ACCOUNT_NAME"]
        options["anon"] = False  # Azure's default credential chain
    return options


def endpoint(scheme: str, env: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """(host, port) the GCS or Azure client connects to; None for S3 (botocore's own timeouts
    bound it) or when a proxy is in the way."""
    env = os.environ if env is None else env
    if any(env.get(name) for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")):
        return None
    if scheme == "gs":
        emulator = env.get("STORAGE_EMULATOR_HOST", "").strip()
        return _host_port(emulator, 80) if emulator else ("storage.googleapis.com", 443)
    if scheme == "az":
        parts = dict(
            part.split("=", 1)
            for part in env.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";")
            if "=" in part
        )
        if parts.get("BlobEndpoint"):
            return _host_port(parts["BlobEndpoint"], 443)
        account = parts.get("AccountName") or env.get("AZURE_STORAGE_ACCOUNT_NAME")
        suffix = parts.get("EndpointSuffix", "core.windows.net")
        return (f"{account}.blob.{suffix}", 443) if account else None
    return None


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    from urllib.parse import urlsplit

    split = urlsplit(text if "://" in text else f"http://{text}")
    port = split.port or (443 if split.scheme == "https" else default_port)
    return split.hostname or "", port


@functools.lru_cache(maxsize=1)  # the chain may ask the instance metadata service: once
def _aws_chain_has_credentials() -> bool:
    """Whether botocore's chain (~/.aws, container or instance roles) finds credentials."""
    try:
        import botocore.session

        return botocore.session.get_session().get_credentials() is not None
    except Exception:  # a broken ~/.aws/config: let the client report it
        return True
