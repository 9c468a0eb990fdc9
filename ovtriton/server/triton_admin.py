"""The one client ovtriton uses for Triton's own HTTP API: health, identity, repository, shared
memory (with the admin key where Triton restricts the call).

Built on ``tritonclient.http``, whose client runs on gevent: a client object used from two
threads crashes ("Cannot switch to a different thread"). So ``TritonAdmin`` holds no client:
each call opens a ``tritonclient.http`` client in the calling thread and closes it at once.
Admin calls are rare (a few a second at most: readiness polls, the watchdog, reloads), so one
TCP connection per call costs nothing that matters, and a ``TritonAdmin`` may be shared by any
number of threads (the stub watchdog, ``--watch``, ``POST /v1/config/reload``, the supervisor)
without a lock or per-thread clients that would outlive their threads.
"""

from __future__ import annotations

import http.client

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, TypeVar

import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
# What a call that did not get an answer raises: nothing listens, the connection dropped
# (OSError, or geventhttpclient's HTTPConnectionClosed, an http.client.HTTPException, when it
# drops mid-answer: a server starting or dying), a timeout, or an HTTP error status
# (InferenceServerException).
CallFailed = (OSError, http.client.HTTPException, InferenceServerException)


@dataclass(frozen=True)
class TritonAdmin:
    """Triton's HTTP API at ``url`` (host:port) with ``headers`` (the admin key)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 600.0  # a load can take minutes (OpenVINO compiles)

    @contextmanager
    def _client(
        self, timeout: Optional[float] = None
    ) -> Iterator[httpclient.InferenceServerClient]:
        limit = self.timeout if timeout is None else timeout
        client = httpclient.InferenceServerClient(
            self.url, connection_timeout=min(limit, 10.0), network_timeout=limit
        )
        try:
            yield client
        finally:
            client.close()

    def _call(
        self, call: Callable[[httpclient.InferenceServerClient], T], timeout: Optional[float] = None
    ) -> T:
        with self._client(timeout) as client:
            return call(client)

    # -- health and identity: never raise -------------------------------------------------
    def live(self, timeout: float = 2.0) -> bool:
        return self._answers(lambda c: c.is_server_live(), timeout)

    def ready(self, timeout: float = 2.0) -> bool:
        return self._answers(lambda c: c.is_server_ready(), timeout)

    def _answers(
        self, check: Callable[[httpclient.InferenceServerClient], bool], timeout: float
    ) -> bool:
        try:
            return bool(self._call(check, timeout))
        except CallFailed:
            return False

    def server_name(self, timeout: float = 2.0) -> Optional[str]:
        """The ``name`` ``GET /v2`` answers with (the server's --id); None when nothing answers."""
        try:
            return str(self._call(lambda c: c.get_server_metadata(), timeout).get("name"))
        except (*CallFailed, ValueError, AttributeError):
            return None

    def verify(self, expected: str) -> None:
        """Raise UserError when another server answers (ConnectionError: nothing answers)."""
        name = self.server_name()
        if name is None:
            raise ConnectionError(f"no server answers GET /v2 on {self.url}")
        if name != expected:
            raise UserError(
                f"the server answering on {self.url} is {name!r}, not ovtriton's {expected!r}; "
                "another process took the port"
            )

    def loaded(self) -> list[tuple[str, str]]:
        """(name, version) of every model version Triton has loaded and ready, read from its
        statistics. Unlike the repository index this never lists the repository: on object
        storage that listing hangs while the storage is unreachable, and holds one of Triton's
        HTTP threads meanwhile, with every request queued on that thread's connections."""
        stats = self._call(lambda c: c.get_inference_statistics(), 30.0)
        return [(str(m["name"]), str(m.get("version", ""))) for m in stats.get("model_stats", ())]

    # -- repository (restricted: sends the admin key) -------------------------------------
    def index(self) -> list[dict[str, Any]]:
        """Every model of the repository: name, version, state, reason."""
        return list(self._call(lambda c: c.get_model_repository_index(headers=dict(self.headers))))

    def load(self, name: str) -> None:
        self._call(lambda c: c.load_model(name, headers=dict(self.headers)))

    def unload(self, name: str) -> None:
        self._call(lambda c: c.unload_model(name, headers=dict(self.headers)))

    def model_config(self, name: str) -> dict[str, Any]:
        return dict(self._call(lambda c: c.get_model_config(name), 30.0))

    def model_versions(self, name: str) -> tuple[int, ...]:
        """The versions of ``name`` Triton serves now (from its metadata)."""
        versions = self._call(lambda c: c.get_model_metadata(name), 30.0).get("versions", ())
        return tuple(sorted(int(v) for v in versions if str(v).isdigit()))

    # -- shared memory (restricted) -------------------------------------------------------
    def system_shared_memory(self) -> list[dict[str, Any]]:
        """The system shared-memory regions clients registered."""
        status = self._call(
            lambda c: c.get_system_shared_memory_status(headers=dict(self.headers)), 30.0
        )
        return list(status)

    def unregister_system_shared_memory(self, region: str = "") -> None:
        """Unregister ``region`` (every region when empty)."""
        self._call(
            lambda c: c.unregister_system_shared_memory(region, headers=dict(self.headers)), 30.0
        )


def message(exc: BaseException) -> str:
    """What went wrong with a call, in one line."""
    if isinstance(exc, InferenceServerException):
        return str(exc.message())
    return str(exc) or type(exc).__name__
