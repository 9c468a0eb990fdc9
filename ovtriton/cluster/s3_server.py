"""A local S3 API server (moto's server mode) for the cluster and the tests, and uploads to it.

The server is a child process bound to a free loopback port; ovtriton trusts the port only
when the process it started is the one listening on it (psutil), and stops it by that pid.
Its objects live in memory: a restart starts with no buckets (``upload_tree`` again).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import psutil

from ovtriton.errors import UserError
from ovtriton.server.ports import Ports

LOGGER = logging.getLogger(__name__)

# Any key works with moto; these are only what the clients send (never real credentials).
ACCESS_KEY = "ovtriton-local"
SECRET_KEY = "ovtriton-local-secret"
REGION = "us-east-1"
# Empty folders do not exist in object storage: this object marks one (an ensemble's version).
FOLDER_MARK = ".ovtriton-folder"


def free_port(host: str = "127.0.0.1") -> int:
    return Ports.free(host).http


@dataclass
class S3Server:
    """``moto_server`` on ``host:port`` (a free port unless given). Use as a context manager."""

    host: str = "127.0.0.1"
    port: int = 0
    log_path: Optional[Path] = None
    startup_timeout: float = 60.0
    _process: Optional[subprocess.Popen] = field(default=None, init=False, repr=False)

    @property
    def endpoint(self) -> str:
        """The endpoint URL of boto3/s3fs clients (``S3_ENDPOINT`` of OVMS)."""
        return f"http://{self.host}:{self.port}"

    def url(self, bucket: str, prefix: str = "") -> str:
        """Triton's spelling of a repository in this server: ``s3://host:port/bucket/prefix``."""
        return f"s3://{self.host}:{self.port}/{bucket}" + (
            f"/{prefix.strip('/')}" if prefix else ""
        )

    def environment(self) -> dict[str, str]:
        """Credentials and endpoint as OVMS and the AWS SDKs read them."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "S3_ENDPOINT": self.endpoint,
        }

    @property
    def pid(self) -> int:
        if self._process is None:
            raise UserError("the S3 server is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> "S3Server":
        if self.running:
            return self
        if not self.port:
            self.port = free_port(self.host)
        command = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if self.log_path:
                log.close()  # type: ignore[union-attr]
        try:
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        LOGGER.info("S3 server (moto, pid %d) on %s", self._process.pid, self.endpoint)
        return self

    def _wait_listening(self) -> None:
        """Wait until OUR process listens on the port (another listener is an error)."""
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise UserError(
                    f"the S3 server (moto_server) exited with code {self._process.returncode} "
                    f"during start-up on {self.endpoint}; is `moto[server]` installed "
                    "(pip install -e '.[cluster]')?"
                )
            if self.owns_port():
                return
            time.sleep(0.1)
        raise UserError(
            f"the S3 server did not listen on {self.endpoint} within {self.startup_timeout:.0f} s"
        )

    def owns_port(self) -> bool:
        """True when the process we started (or its children) listens on our port."""
        if self._process is None:
            return False
        try:
            process = psutil.Process(self._process.pid)
            family = [process, *process.children(recursive=True)]
            return any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self.port
                for p in family
                for c in p.net_connections(kind="inet")
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server by its pid (SIGTERM, then SIGKILL of its process group)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                LOGGER.warning("the S3 server did not stop within %.0f s; killing it", timeout)
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._process.wait()
        self._process = None

    def client(self):  # -> botocore S3 client
        """A boto3 S3 client of this server (after checking the port is ours)."""
        if not self.owns_port():
            raise UserError(f"the S3 server on {self.endpoint} is not the one ovtriton started")
        return s3_client(self.endpoint)

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def s3_client(endpoint: str):  # -> botocore S3 client
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


def split_url(url: str) -> tuple[str, str]:
    """``s3://[host:port/]bucket/prefix`` -> (bucket, prefix) for a server given separately."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if ":" in parsed.netloc:  # Triton's form: the endpoint first
        if not parts:
            raise UserError(f"{url}: no bucket after the endpoint (s3://host:port/bucket/prefix)")
        return parts[0], "/".join(parts[1:])
    return parsed.netloc, "/".join(parts)


def upload_tree(
    client, local: Path, bucket: str, prefix: str = "", create_bucket: bool = True
) -> list[str]:
    """Upload the files under ``local`` to ``bucket/prefix``; empty folders get FOLDER_MARK.

    Returns the keys written, in upload order (files first, deepest first, so a folder's
    config.pbtxt is written after everything it refers to).
    """
    if create_bucket:
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
    base = prefix.strip("/")
    keys: list[str] = []
    paths = sorted(local.rglob("*"), key=lambda p: (-len(p.parts), p.name == "config.pbtxt", p))
    for path in paths:
        relative = path.relative_to(local).as_posix()
        key = f"{base}/{relative}" if base else relative
        if path.is_dir():
            if not any(path.iterdir()):
                client.put_object(Bucket=bucket, Key=f"{key}/{FOLDER_MARK}", Body=b"")
                keys.append(f"{key}/{FOLDER_MARK}")
            continue
        client.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def delete_prefix(client, bucket: str, prefix: str) -> int:
    """Delete every object under ``bucket/prefix/``; returns how many."""
    count = 0
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix.strip("/") + "/"):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
            count += len(objects)
    return count
