"""Object-storage URLs as OVMS writes them: ``s3://bucket/key``, ``gs://…``, ``az://container/…``."""

from __future__ import annotations

from dataclasses import dataclass
from posixpath import join, normpath

from .errors import StorageError

# URL scheme -> fsspec protocol. OVMS's azfs:// (Azure Files shares) has no fsspec client.
PROTOCOLS = {"s3": "s3", "gs": "gcs", "az": "abfs"}
UNSUPPORTED = {
    "azfs": "Azure Files shares (azfs://) are not supported by ovtriton; copy the share's "
    "models into a blob container and use az://container/path",
}
REMOTE_PREFIXES = tuple(f"{scheme}://" for scheme in (*PROTOCOLS, *UNSUPPORTED))


def is_remote(text: object) -> bool:
    """Whether ``text`` names an object-storage location (supported or not)."""
    return isinstance(text, str) and text.strip().lower().startswith(REMOTE_PREFIXES)


@dataclass(frozen=True)
class RemoteUrl:
    """``scheme://bucket/key``; ``key`` has no leading or trailing slash ('' for the bucket)."""

    scheme: str
    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}".rstrip("/")

    @property
    def protocol(self) -> str:
        return PROTOCOLS[self.scheme]

    @property
    def path(self) -> str:
        """The location as fsspec names it: ``bucket/key``."""
        return f"{self.bucket}/{self.key}".rstrip("/")

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def child(self, relative: str) -> RemoteUrl:
        """``relative`` below this location (``..`` is refused by the callers' checks)."""
        key = normpath(join(self.key, relative)) if self.key else normpath(relative)
        return RemoteUrl(self.scheme, self.bucket, "" if key == "." else key.strip("/"))

    def parent(self) -> RemoteUrl:
        return RemoteUrl(
            self.scheme, self.bucket, self.key.rsplit("/", 1)[0] if "/" in self.key else ""
        )

    def relative(self, path: str) -> str:
        """A fsspec ``path`` below this location, relative to it."""
        path = path.strip("/")
        return path[len(self.path) :].lstrip("/") if path.startswith(self.path) else path


def parse_url(text: str) -> RemoteUrl:
    """``text`` as a RemoteUrl, or StorageError saying what is wrong with it."""
    stripped = text.strip()
    scheme, sep, rest = stripped.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (*PROTOCOLS, *UNSUPPORTED):
        raise StorageError(
            stripped, "not an object-storage URL", "use s3://bucket/path, gs://… or az://…"
        )
    if scheme in UNSUPPORTED:
        raise StorageError(stripped, UNSUPPORTED[scheme])
    bucket, _, key = rest.partition("/")
    if not bucket or "@" in bucket:
        raise StorageError(
            stripped,
            "the URL names no bucket" if not bucket else "credentials do not belong in the URL",
            "write scheme://bucket/path; credentials come from the environment",
        )
    key = key.strip("/")
    if ".." in key.split("/"):
        raise StorageError(stripped, "the path escapes with '..'", "write it without '..'")
    return RemoteUrl(scheme, bucket, key)
