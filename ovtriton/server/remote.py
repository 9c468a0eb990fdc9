"""Model repositories in object storage, served by tritonserver's own S3/GCS/Azure code.

``serve --model-repository`` takes a folder or a URL. OVMS spells remote places and their
credentials its own way (docs/using_cloud_storage.md); tritonserver 2.51 another:

============================  ===================================================================
OVMS                          tritonserver
============================  ===================================================================
``s3://bucket/p`` +           ``s3://host:port/bucket/p`` (``s3://https://host:port/...`` for
``S3_ENDPOINT=http://h:p``    TLS); without S3_ENDPOINT ``s3://bucket/p`` (AWS)
``AWS_REGION``                ``AWS_DEFAULT_REGION`` (set from AWS_REGION when not set itself)
``AWS_ACCESS_KEY_ID``,        the same names (AWS SDK), inherited
``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``,
``AWS_PROFILE``
``gs://bucket/p`` +           the same (Google SDK); ``STORAGE_EMULATOR_HOST`` (an emulator, for
``GOOGLE_APPLICATION_CREDENTIALS`` Python's clients) becomes CLOUD_STORAGE_EMULATOR_ENDPOINT
``az://container/p`` +        ``as://account/container/p`` + ``AZURE_STORAGE_ACCOUNT`` and
``AZURE_STORAGE_CONNECTION_   ``AZURE_STORAGE_KEY`` (from the connection string's AccountName and
STRING``                      AccountKey); a custom BlobEndpoint is not supported by tritonserver
``azfs://share/p``            not supported by tritonserver (Azure Files): named, refused
============================  ===================================================================

tritonserver copies a remote model into a local folder when it loads it, so serving never reads
the bucket afterwards; a model is read again only when it is (re)loaded.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Union
from urllib.parse import urlparse

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

SCHEMES = ("s3", "gs", "az", "as", "azfs")
HOW = "s3://[host:port/]bucket/prefix, gs://bucket/prefix or az://container/prefix"


def is_url(text: str) -> bool:
    return "://" in text and text.split("://", 1)[0].lower() in SCHEMES


@dataclass(frozen=True)
class RemoteRepository:
    """A repository in object storage: ``url`` as given, what tritonserver gets, its variables."""

    url: str
    triton_url: str
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold credentials

    def __str__(self) -> str:
        return self.url

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()


def repository_argument(text: str) -> Union[Path, str]:
    """argparse type of ``--model-repository``: a folder (Path) or a URL kept verbatim."""
    return text if is_url(text) else Path(text)


def resolve(url: str, environ: Optional[Mapping[str, str]] = None) -> RemoteRepository:
    """Translate an OVMS-style URL and credential variables into tritonserver's."""
    env = dict(os.environ if environ is None else environ)
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if not rest.strip("/"):
        raise UserError(f"model repository {url}: no bucket or container ({HOW})")
    if scheme == "s3":
        return _s3(url, rest, env)
    if scheme == "gs":
        return RemoteRepository(url, url, _gcs_emulator(env))
    if scheme == "as":
        return RemoteRepository(url, url, {})
    if scheme == "az":
        return _azure(url, rest, env)
    raise UserError(
        f"model repository {url}: {scheme}:// (Azure Files) is not supported by tritonserver "
        "2.51; copy the repository to Blob storage (az://container/prefix) or to a folder"
    )


def _gcs_emulator(env: dict[str, str]) -> dict[str, str]:
    """Python's Google clients find an emulator (fake-gcs-server) through STORAGE_EMULATOR_HOST,
    tritonserver's C++ client through CLOUD_STORAGE_EMULATOR_ENDPOINT: give it the same one."""
    host = env.get("STORAGE_EMULATOR_HOST", "").strip()
    if not host or env.get("CLOUD_STORAGE_EMULATOR_ENDPOINT"):
        return {}
    return {"CLOUD_STORAGE_EMULATOR_ENDPOINT": host if "://" in host else f"http://{host}"}


def _s3(url: str, rest: str, env: dict[str, str]) -> RemoteRepository:
    added: dict[str, str] = {}
    if env.get("AWS_REGION") and not env.get("AWS_DEFAULT_REGION"):
        added["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
    first = rest.split("/", 1)[0]
    endpoint = env.get("S3_ENDPOINT", "").strip()
    if ":" in first or rest.startswith(("http://", "https://")) or not endpoint:
        return RemoteRepository(url, url, added)  # already tritonserver's form, or AWS itself
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parsed.hostname:
        raise UserError(f"S3_ENDPOINT {endpoint!r} is not an address (e.g. http://127.0.0.1:9000)")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = f"{parsed.hostname}:{port}"
    triton = f"s3://https://{host}/{rest}" if parsed.scheme == "https" else f"s3://{host}/{rest}"
    return RemoteRepository(url, triton, added)


def _azure(url: str, rest: str, env: dict[str, str]) -> RemoteRepository:
    connection = env.get("AZURE_STORAGE_CONNECTION_STRING", "")
    if not connection:
        if env.get("AZURE_STORAGE_ACCOUNT"):
            return RemoteRepository(url, f"as://{env['AZURE_STORAGE_ACCOUNT']}/{rest}", {})
        raise UserError(
            f"model repository {url}: set AZURE_STORAGE_CONNECTION_STRING (as for OVMS) or "
            "AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY"
        )
    fields = dict(part.split("=", 1) for part in connection.split(";") if "=" in part)
    if "BlobEndpoint" in fields:
        raise UserError(
            f"model repository {url}: the connection string names a custom BlobEndpoint "
            "(an emulator or a private endpoint); tritonserver 2.51 reaches only "
            "<account>.blob.core.windows.net"
        )
    account, key = fields.get("AccountName"), fields.get("AccountKey")
    if not account or not key:
        raise UserError(
            f"model repository {url}: AZURE_STORAGE_CONNECTION_STRING has no AccountName or "
            "AccountKey (shared access signatures are not supported by tritonserver)"
        )
    added = {"AZURE_STORAGE_ACCOUNT": account, "AZURE_STORAGE_KEY": key}
    return RemoteRepository(url, f"as://{account}/{rest}", added)


def check_reachable(repository: RemoteRepository, timeout: float = 10.0) -> None:
    """For S3 (when boto3 is installed): the bucket and prefix exist and can be listed.

    Raises UserError naming the URL and the cause (never a credential). Other schemes are
    left to tritonserver, whose start-up error is reported with its log.
    """
    if repository.scheme != "s3":
        return
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError:
        return
    rest = repository.triton_url.split("://", 1)[1]
    scheme = "http"
    if rest.startswith(("http://", "https://")):
        scheme, _, rest = rest.partition("://")
    parts = rest.split("/")
    endpoint = None
    if ":" in parts[0]:
        endpoint, parts = f"{scheme}://{parts[0]}", parts[1:]
    bucket, prefix = parts[0], "/".join(p for p in parts[1:] if p)
    env = {**os.environ, **repository.env}
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
        config=botocore.config.Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}
        ),
    )
    try:
        found = client.list_objects_v2(
            Bucket=bucket, Prefix=f"{prefix}/" if prefix else "", MaxKeys=1
        )
    except botocore.exceptions.NoCredentialsError:
        raise UserError(
            f"model repository {repository.url}: no S3 credentials (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        ) from None
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise UserError(
            f"model repository {repository.url}: the S3 server answered {code}"
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise UserError(
            f"model repository {repository.url}: cannot reach the S3 server "
            f"({type(exc).__name__}); check S3_ENDPOINT and the network"
        ) from None
    if not found.get("KeyCount"):
        raise UserError(f"model repository {repository.url}: no objects under that prefix")
