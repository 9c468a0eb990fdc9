"""Every mode of a bench run as a session factory, and the check that they answer alike.

A mode is a way to run the pipeline: in this process with OpenVINO in one of the searched
configurations (the best of them is "the limit"), the Triton ensemble over three transports,
the pipeline model (``convert --pipelines model``) over two, Triton's floor (zero-compute
models with the same tensors) and client-side chaining. A factory takes the batch size and
returns a callable making one client thread's session.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from ovtriton.server.process import TritonServer

from .floor import FLOOR, FLOOR_ENSEMBLE, FLOOR_OPENVINO
from .inprocess import InProcessDag
from .remote import ChainGrpc, Ensemble, EnsembleShm
from .stats import CHAIN, FLOOR_MODES, INPROCESS
from .workload import Dag, Workload

LOGGER = logging.getLogger(__name__)

Factory = Callable[[int], Callable[[], Any]]
_THREAD_KNOBS = ("INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT")


def variant(
    configs: Mapping[str, Mapping[str, Any]], models: tuple[str, ...], **knobs: str
) -> dict[str, dict[str, Any]]:
    """``configs`` with the thread knobs of ``models`` replaced by ``knobs`` (none: OpenVINO's
    defaults)."""
    out = {name: copy.deepcopy(dict(config)) for name, config in configs.items()}
    for model in models:
        parameters = out[model].setdefault("parameters", {})
        for key in _THREAD_KNOBS:
            parameters.pop(key, None)
        parameters.update({k: {"string_value": v} for k, v in knobs.items()})
    return out


def local_dags(workload: Workload) -> dict[str, InProcessDag]:
    """The in-process configurations searched for the limit (each compiles its models)."""
    dag, repo, configs = workload.dag, workload.repository, workload.configs
    found = {
        INPROCESS: InProcessDag(dag, repo, configs),
        "inprocess_latency": InProcessDag(
            dag, repo, variant(configs, dag.models, PERFORMANCE_HINT="LATENCY")
        ),
        "inprocess_ovdefault": InProcessDag(dag, repo, variant(configs, dag.models)),
    }
    if workload.dag_1t is not None:
        found["inprocess_1t"] = InProcessDag(workload.dag_1t, repo, configs)
    return found


def factories(
    local: Mapping[str, InProcessDag], server: TritonServer, workload: Workload
) -> dict[str, Factory]:
    """Mode -> (batch -> session factory); only shared memory sizes its session by the batch."""
    dag = workload.dag

    def named(name: str) -> Dag:
        return Dag(name, dag.inputs, dag.outputs, ())

    def remote(name: str, protocol: str) -> Factory:
        url = server.grpc_url if protocol == "grpc" else server.http_url
        return lambda batch: lambda: Ensemble(url, protocol, named(name))

    def shm(batch: int) -> Callable[[], Any]:
        sizes = {t.name: 64 + 8 * int(np.prod(t.shape(batch))) for t in dag.outputs}
        return lambda: EnsembleShm(
            server.grpc_url, dag, dag.sample(batch), sizes, server.admin_headers
        )

    def inprocess(dags: InProcessDag) -> Factory:
        return lambda batch: dags.session

    found: dict[str, Factory] = {name: inprocess(dags) for name, dags in local.items()}
    found.update(
        {
            "ensemble_grpc": remote(dag.name, "grpc"),
            "ensemble_http": remote(dag.name, "http"),
            "ensemble_shm": shm,
            "pipeline_grpc": remote(workload.pipeline_model, "grpc"),
            "pipeline_http": remote(workload.pipeline_model, "http"),
            "floor_grpc": remote(dag.name + FLOOR, "grpc"),
            "floor_http": remote(dag.name + FLOOR, "http"),
            "floor_openvino_grpc": remote(dag.name + FLOOR_OPENVINO, "grpc"),
            "floor_ensemble_grpc": remote(dag.name + FLOOR_ENSEMBLE, "grpc"),
            CHAIN: lambda batch: lambda: ChainGrpc(server.grpc_url, dag),
        }
    )
    return found


def check_outputs(
    modes: Mapping[str, Factory], inputs: Mapping[int, Mapping[str, np.ndarray]]
) -> list[str]:
    """Run every mode once per batch; what differs from the in-process outputs.

    Integer outputs must be equal, floating ones close (rtol 1e-3: the same OpenVINO kernels
    may split work differently); the floors answer zeros, so only names and shapes count."""
    problems = []
    for batch, tensors in inputs.items():
        reference = None
        for mode, factory in modes.items():
            session = factory(batch)()
            try:
                got = session(tensors)
            finally:
                getattr(session, "close", lambda: None)()
            if reference is None:
                reference = got
                continue
            for name, want in reference.items():
                have = got.get(name)
                if have is None or have.shape != want.shape:
                    problems.append(f"{mode} batch {batch}: {name} missing or of another shape")
                elif mode in FLOOR_MODES:
                    continue
                elif want.dtype.kind == "f":
                    if not np.allclose(have, want, rtol=1e-3, atol=1e-5):
                        problems.append(f"{mode} batch {batch}: {name} differs")
                elif not np.array_equal(have, want):
                    problems.append(f"{mode} batch {batch}: {name} differs")
    return problems
