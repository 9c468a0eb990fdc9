"""The demo's OVMS-style ports: the TFS (and KServe) front beside the Triton the demo runs.

The seed's own clients (``grpc_serving_client.py``, step 4; ``get_serving_meta.py``, step 6)
speak the TensorFlow Serving API to OVMS's ``--port``; the demo starts the front there so the
same steps run through that API, next to tritonclient on Triton's ports.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Iterator, Optional

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from ovtriton.errors import UserError
from ovtriton.server import guard
from ovtriton.server.ports import Ports, client_host
from ovtriton.server.process import TritonServer

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class OvmsPorts:
    """Where OVMS's clients connect: ``--port`` (gRPC) and ``--rest_port`` (REST)."""

    host: str
    grpc: int
    rest: int

    @property
    def grpc_url(self) -> str:
        return f"{client_host(self.host)}:{self.grpc}"

    @property
    def rest_url(self) -> str:
        return f"{client_host(self.host)}:{self.rest}"


@contextlib.contextmanager
def ovms_front(
    server: TritonServer, grpc_port: Optional[int] = None, rest_port: Optional[int] = None
) -> Iterator[OvmsPorts]:
    """The front on ``grpc_port``/``rest_port`` (None: free ones), verified to reach ``server``."""
    from ovtriton.server.tfs_front import start_front_for

    spare = Ports.free(client_host(server.host))
    ports = OvmsPorts(server.host, grpc_port or spare.http, rest_port or spare.grpc)
    try:
        front = start_front_for(server, server.host, ports.grpc, ports.rest)
    except OSError as error:
        raise UserError(
            f"cannot start the TFS front on gRPC {ports.grpc_url} / REST {ports.rest_url}: "
            f"{error}; choose other ports with --port/--rest_port"
        ) from None
    try:
        verify(ports, server.expected_id)
        yield ports
    finally:
        front.stop()


def verify(ports: OvmsPorts, expected: str) -> None:
    """Both OVMS ports lead to our Triton: KServe's server metadata names its ``--id``."""
    guard.verify(ports.rest_url, expected)  # REST: GET /v2 through the front
    client = grpcclient.InferenceServerClient(ports.grpc_url)
    try:
        name = client.get_server_metadata(client_timeout=10).name
    except InferenceServerException as error:
        raise UserError(f"the TFS front on {ports.grpc_url} does not answer: {error}") from None
    finally:
        client.close()
    if name != expected:
        raise UserError(
            f"gRPC {ports.grpc_url} leads to server {name!r}, not ovtriton's {expected!r}"
        )
    LOGGER.info("TFS front verified on gRPC %s and REST %s", ports.grpc_url, ports.rest_url)
