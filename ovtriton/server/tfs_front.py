"""The TFS front started for a running :class:`TritonServer` (serve's and the demo's OVMS ports):
the front (``ovtriton.tfs``) knows Triton's addresses only, the server knows the front."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ovtriton.tfs.front import FrontConfig, TfsFront
from ovtriton.server.reload import ConfigReload

if TYPE_CHECKING:
    from ovtriton.server.process import TritonServer


def start_front_for(
    server: TritonServer,
    host: str,
    grpc_port: Optional[int],
    rest_port: Optional[int],
    reload: Optional[ConfigReload] = None,
    shared_memory: bool = True,
) -> TfsFront:
    """Start the front for a running ``server`` on OVMS's ports; a port in use is an ``OSError``.

    Neither socket is shared (no SO_REUSEPORT), so a started front owns its ports.
    """
    front = TfsFront(
        FrontConfig(
            host=host,
            grpc_port=grpc_port,
            rest_port=rest_port,
            triton_grpc=server.grpc_url,
            triton_http=server.http_url,
            triton_metrics=server.metrics_url,
            triton_headers=tuple(server.admin_headers.items()),
            reload=reload,
            admission=server.http_entrance.admission,
            shared_memory=shared_memory,
        )
    )
    guard_refusals = server.http_entrance.refusals
    if guard_refusals is not None:  # the HTTP guard's counts on the front's /metrics too
        front.metrics.refusals.by_interface["HTTP guard"] = guard_refusals
    front.start()
    return front
