"""``ovtriton serve``: run the embedded tritonserver on a Triton model repository."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Union

from ovtriton.commands import add_server_options
from ovtriton.commands.conversion import add_conversion_options, conversion_flags_given
from ovtriton.commands.conversion import conversion_options
from ovtriton.errors import UserError
from ovtriton.server import guard
from ovtriton.server.admin import ENV_VAR, HEADER, AdminAccess
from ovtriton.server.ports import Ports
from ovtriton.server.remote import RemoteRepository, repository_argument, resolve
from ovtriton.server.http_guard import add_guard_options, entrance_from

if TYPE_CHECKING:  # imported when serving: a busy port is reported before OpenVINO loads
    from ovtriton.server.process import ModelState, TritonServer
    from ovtriton.server.reload import ConfigReload
    from ovtriton.server.watch import ConfigWatcher
from ovtriton.commands.ovms_flags import add_ovms_arguments, apply_ovms_arguments
from ovtriton.commands.serve_cache import add_cache_option, cache_wanted, serve_cached

LOGGER = logging.getLogger(__name__)


def add_admin_options(parser: argparse.ArgumentParser) -> None:
    """Who may use Triton's control APIs."""
    admin = parser.add_mutually_exclusive_group()
    admin.add_argument(
        "--admin-key-file",
        type=Path,
        metavar="FILE",
        help=f"the key of Triton's control APIs (model repository, shared memory, logging, "
        f"trace): requests to them must send the header '{HEADER}: <key>'. Default: "
        f"${ENV_VAR}, else a random key per start (written to <workdir>/admin-key)",
    )
    admin.add_argument(
        "--open-control-apis",
        action="store_true",
        help="UNSAFE: leave the control APIs open to every client that reaches the ports "
        "(anyone could load Python code as a model); only on a private network",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a Triton model repository or an OVMS config with the embedded tritonserver",
        description="Start tritonserver (from the nvidia-pytriton wheel) with the openvino_py "
        "backend, on a Triton model repository or on an OVMS config.json (converted into a "
        "managed repository). Arguments after `--` go to tritonserver unchanged.",
        epilog="examples:\n  ovtriton serve --model-repository repo -- --log-verbose=1\n"
        "  ovtriton serve --config config.json --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model-repository",
        type=repository_argument,
        metavar="DIR|URL",
        help="Triton model repository: a folder, or s3://[host:port/]bucket/prefix, gs://..., "
        "az://container/prefix read by tritonserver (credentials as for OVMS: AWS_*, "
        "S3_ENDPOINT, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_CONNECTION_STRING)",
    )
    source.add_argument(
        "--config",
        metavar="CONFIG",
        help="OVMS config.json (or YAML) to convert and serve: a path, or s3://, gs://, az:// "
        "(its models may be in object storage too; see README, object storage)",
    )
    add_cache_option(parser)
    parser.add_argument(
        "--watch",
        action="store_true",
        help="with --config: re-convert when CONFIG changes and reload only what "
        "changed; an invalid new config is reported and the old one keeps serving "
        "(with a local repository cache: copy and reload changed models)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=1.0,
        help="with --watch: how often CONFIG is checked (default 1, as OVMS)",
    )
    add_conversion_options(parser, when="with --config/--config_path: ")
    add_server_options(parser)
    add_guard_options(parser)
    add_admin_options(parser)
    add_ovms_arguments(parser, source)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to lay out the backend folder, the server log and, with "
        "--config, the converted repository (default: a temporary folder)",
    )
    parser.set_defaults(run=run)


def server_from_args(args: argparse.Namespace, repository: Union[Path, str]) -> TritonServer:
    from ovtriton.server.process import TritonServer

    where: Union[Path, RemoteRepository] = (
        repository.resolve() if isinstance(repository, Path) else resolve(repository)
    )
    return TritonServer(
        repository=where,
        host=args.host,
        ports=Ports(args.http_port, args.grpc_port, args.metrics_port),
        extra_args=tuple(args.passthrough),
        workdir=args.workdir.resolve() if getattr(args, "workdir", None) else None,
        admin=AdminAccess.from_sources(args.admin_key_file, args.open_control_apis),
        http_entrance=entrance_from(args),
    )


def run(args: argparse.Namespace) -> int:
    guard.become_subreaper()  # orphaned stubs of a crashed tritonserver are ours to reap
    apply_ovms_arguments(args)
    given = conversion_flags_given(args)
    if args.config is None and given:
        raise UserError(
            f"{', '.join(given)}: these convert an OVMS config, so they go with --config or "
            "--config_path (a Triton repository given with --model-repository is served as "
            "it is)"
        )
    cached = args.config is None and cache_wanted(args)
    if args.watch and args.config is None and not cached:
        raise UserError(
            "--watch needs --config (a Triton repository is not converted, so "
            "there is nothing to watch; tritonserver's --model-control-mode=poll does that), "
            "or a remote --model-repository with --repository-cache local"
        )
    # Before converting (which can take minutes): serve never shares a port with anyone.
    ovms_ports = [
        (f"OVMS {what}", port)
        for what, port in (
            ("gRPC", getattr(args, "port", None)),
            ("REST", getattr(args, "rest_port", None)),
        )
        if port is not None
    ]
    guard.check_ports_free(
        args.host, Ports(args.http_port, args.grpc_port, args.metrics_port).named() + ovms_ports
    )
    from ovtriton.server.process import EXPLICIT_MODE_ARGS

    if cached:
        return serve_cached(args)
    if args.config is None:
        return _serve(
            server_from_args(args, args.model_repository), watcher=None, poll=0, args=args
        )
    with tempfile.TemporaryDirectory(prefix=guard.temp_prefix("serve-")) as scratch:
        workdir = args.workdir.resolve() if args.workdir else Path(scratch)
        args.workdir = workdir
        watcher = managed_repository(args, workdir)
        server = server_from_args(args, watcher.repository)
        if args.watch:
            server.extra_args = (*EXPLICIT_MODE_ARGS, *server.extra_args)
        return _serve(server, watcher, args.poll_seconds if args.watch else 0, args)


def managed_repository(args: argparse.Namespace, workdir: Path) -> ConfigWatcher:
    """Convert ``args.config`` into ``workdir/repository`` with the conversion flags given,
    exactly as ``convert`` would (the watcher keeps it in step when ``--watch``)."""
    from ovtriton.storage.session import config_watcher

    return config_watcher(str(args.config), workdir, conversion_options(args))


def _serve(
    server: TritonServer,
    watcher: Optional[ConfigWatcher],
    poll: float,
    args: Optional[argparse.Namespace] = None,
) -> int:
    from ovtriton.commands.ovms_flags import start_front
    from ovtriton.server.reload import config_reload
    from ovtriton.server.stop_signals import StopSignals

    with StopSignals() as signals:
        server.start()
        front = None
        try:
            announce_admin(server)
            # --watch and POST /v1/config/reload: one reload at a time, never fatal.
            reload = config_reload(watcher, server.admin_client, server.verify)
            front = start_front(args, server, reload)
            report_started(server)
            signals.deferred = True  # from here a signal only asks the loop to end
            _supervise(server, reload, poll, signals.requested)
            LOGGER.info("stopping tritonserver ...")
        except KeyboardInterrupt:
            LOGGER.info("stopping tritonserver ...")
        finally:
            signals.deferred = True  # a second signal does not cut the stop short
            if front is not None:
                front.stop()
            server.stop()
    LOGGER.info("tritonserver stopped")
    return 0


def _supervise(
    server: TritonServer,
    reload: Optional[ConfigReload],
    poll: float,
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Until ``stopped()``: restart tritonserver whenever it dies and, with ``--watch``, apply
    config changes; neither ever ends serve, except a tritonserver that keeps dying (exit 1)."""
    from ovtriton.server.poll_clock import PollClock
    from ovtriton.server.supervise import Supervisor
    from ovtriton.server.triton_admin import CallFailed, message

    supervisor = Supervisor(server)
    watching = reload if poll > 0 else None
    if watching is not None:
        LOGGER.info("watching %s for changes", watching.watcher.config_path)
    clock = PollClock(poll if watching is not None else 0.5)
    while not clock.wait(stopped):
        if not supervisor.check():
            raise UserError("tritonserver keeps dying; see the log lines above")
        if watching is not None and server.running and watching.poll():
            try:
                report_models(server)
            except CallFailed as exc:  # it died meanwhile: the next check restarts it
                LOGGER.warning("cannot list the models: %s", message(exc))


def announce_admin(server: TritonServer) -> None:
    """Say how the control APIs are protected; store the key for the operator."""
    if not server.admin.enabled:
        LOGGER.warning("control APIs are open to every client (--open-control-apis)")
    elif server.workdir is not None:
        key_file = server.admin.write(server.workdir / "admin-key")
        LOGGER.info("control APIs need the header %s (its value is in %s)", HEADER, key_file)


def report_models(server: TritonServer) -> list[ModelState]:
    """Log every model's state; a model that failed to load is shown with Triton's reason."""
    models = server.models()
    for m in models:
        line = f"  {m.name:<32} version {m.version or '-':<4} {m.state or 'UNLOADED'}"
        if m.reason:
            line += f": {m.reason}"
        (LOGGER.info if m.state == "READY" else LOGGER.warning)(line)
    return models


def report_started(server: TritonServer) -> None:
    models = report_models(server)
    failed = [m for m in models if m.state != "READY"]
    LOGGER.info(
        "tritonserver is up: HTTP http://%s%s  gRPC %s  metrics %s  log %s",
        server.public_http_url,
        " (guarded)" if server.public_http_url != server.http_url else "",
        server.grpc_url,
        server.metrics_url,
        server.log_path,
    )
    LOGGER.info(
        "%d model(s) ready%s. Press Ctrl-C to stop.",
        len(models) - len(failed),
        f", {len(failed)} failed (see above)" if failed else "",
    )
