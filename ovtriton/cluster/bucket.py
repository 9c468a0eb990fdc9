"""The cluster's bucket: upload a repository folder to an S3 API server, delete a prefix.

The server itself is ``ovtriton.storage.emulators.MotoS3`` (started on loopback, identity
checked, stopped by pid); these helpers take its boto3 client (``MotoS3.client()``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from ovtriton.errors import UserError
from ovtriton.storage.publish import MARKER

# Empty folders do not exist in object storage: this object marks one (an ensemble's version),
# the same marker ``convert -o s3://…`` writes.
FOLDER_MARK = MARKER


def split_url(url: str) -> tuple[str, str]:
    """``s3://[host:port/]bucket/prefix`` -> (bucket, prefix) for a server given separately."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if ":" in parsed.netloc:  # Triton's form: the endpoint first
        if not parts:
            raise UserError(f"{url}: no bucket after the endpoint (s3://host:port/bucket/prefix)")
        return parts[0], "/".join(parts[1:])
    return parsed.netloc, "/".join(parts)


def ensure_bucket(client, bucket: str) -> None:
    """Create ``bucket`` in the client's region unless it exists."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        region = client.meta.region_name
        where = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}
        }  # fmt: skip
        client.create_bucket(Bucket=bucket, **where)


def upload_tree(
    client, local: Path, bucket: str, prefix: str = "", create_bucket: bool = True
) -> list[str]:
    """Upload the files under ``local`` to ``bucket/prefix``; empty folders get FOLDER_MARK.

    Returns the keys written, in upload order (files first, deepest first, so a folder's
    config.pbtxt is written after everything it refers to).
    """
    if create_bucket:
        ensure_bucket(client, bucket)
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
