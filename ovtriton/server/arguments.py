"""tritonserver's command line for a :class:`~ovtriton.server.process.TritonServer`: where it
reads models and listens, ovtriton's defaults (each left out when the operator's own arguments
after ``--`` choose), its identity and the control-API restriction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ovtriton.server import embedded
from ovtriton.server.remote import RemoteRepository

if TYPE_CHECKING:
    from ovtriton.server.process import TritonServer

SUMMARIES = "--metrics-config=summary_latencies=true"  # on by default (OVMS's are histograms)
# Explicit model control lets the stub watchdog reload a model (`*`: all at start); Triton
# drains on SIGTERM for EXIT_TIMEOUT s (its default 30 s is spent in full whenever a client
# keeps an idle keep-alive connection open; requests running longer are cut).
EXPLICIT_MODE_ARGS = ("--model-control-mode=explicit", "--load-model=*")
EXIT_TIMEOUT = 5


def unless_given(arg: str, key: str, given: Sequence[str]) -> list[str]:
    """``[arg]``, or nothing when the operator's own arguments (after ``--``) mention ``key``."""
    return [] if any(key in a for a in given) else [arg]


def mode_args(server: TritonServer) -> tuple[str, ...]:
    chosen = any(a.startswith("--model-control-mode") for a in server.extra_args)
    return EXPLICIT_MODE_ARGS if server.revive_stubs and not chosen else ()


def explicit(server: TritonServer) -> bool:
    """Whether the server runs with explicit model control (the stub watchdog needs it)."""
    modes = [
        a.partition("=")[2]
        for a in (*mode_args(server), *server.extra_args)
        if a.startswith("--model-control-mode=")
    ]
    return bool(modes) and modes[-1] == "explicit"


def repository_arg(server: TritonServer) -> str:
    if isinstance(server.repository, RemoteRepository):
        return server.repository.triton_url
    return str(server.repository)


def command(
    server: TritonServer, backend_dir: Path, installation: embedded.Installation
) -> list[str]:
    given = server.extra_args
    return [
        str(installation.binary),
        f"--model-repository={repository_arg(server)}",
        f"--backend-directory={backend_dir}",  # never with a trailing slash
        f"--cache-directory={installation.caches}",
        *server.http_entrance.flags(server.host, server.ports.http),
        *embedded.max_input_size_flag(installation, given),
        f"--grpc-address={server.host}",
        f"--grpc-port={server.ports.grpc}",
        f"--metrics-address={server.host}",
        f"--metrics-port={server.ports.metrics}",
        # Latency quantiles (nv_*_summary_us) on, unless the operator chose after `--`.
        *unless_given(SUMMARIES, "summary_latencies", given),
        # One broken model must not take the others down (OVMS skips invalid servables).
        "--exit-on-error=false",
        *unless_given(f"--exit-timeout-secs={EXIT_TIMEOUT}", "--exit-timeout", given),
        # Unique shared-memory names so several servers can share /dev/shm.
        f"--backend-config=python,shm-region-prefix-name={server.shm_prefix}",
        f"--id={server.server_id}",
        *server.admin.flags(given),
        *mode_args(server),
        *given,
    ]
