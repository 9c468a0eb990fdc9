"""Models and repositories in object storage (S3 API, Google Cloud Storage, Azure Blob).

``urls`` parses ``s3://``, ``gs://``, ``az://`` URLs; ``credentials`` maps OVMS's environment
variables onto the clients' settings; ``filesystem`` opens a client (fsspec: s3fs, gcsfs,
adlfs) with bounded retries and timeouts; ``errors`` turns every client failure into one
line naming the URL, never a secret; ``mirror`` copies what a config serves into a local
cache (as KServe's storage initializer does) so the converter reads local files; ``publish``
uploads a converted repository so that a reader never sees half a model.
"""

from __future__ import annotations

from .errors import StorageError
from .urls import RemoteUrl, is_remote, parse_url

__all__ = ["RemoteUrl", "StorageError", "is_remote", "parse_url"]
