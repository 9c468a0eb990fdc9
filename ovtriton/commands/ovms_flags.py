"""OVMS's command line on ``ovtriton serve``: its flags (:mod:`.ovms_flag_table`) acted on.

``--config_path`` is ``--config`` (watched, as OVMS does, every
``--file_system_poll_wait_seconds``); ``--model_path`` + ``--model_name`` (one-model mode) become
a generated OVMS config with the model flags OVMS puts in ``config.json``; ``--port`` and
``--rest_port`` start the TFS + KServe front on OVMS's ports while Triton keeps its own.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ovtriton import __version__
from ovtriton.commands.ovms_flag_table import FLAGS, OvmsFlag
from ovtriton.errors import UserError
from ovtriton.server.ports import Ports

if TYPE_CHECKING:  # imported when the front starts: serve's --help and port checks stay light
    from ovtriton.server.process import TritonServer
    from ovtriton.tfs.front import TfsFront
    from ovtriton.server.reload import ConfigReload

LOGGER = logging.getLogger(__name__)


def json_value(text: str) -> Any:
    """A JSON flag value (``--plugin_config '{"NUM_STREAMS": "1"}'``), or a usage error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): {text!r}") from None


# One-model flags → the config.json key OVMS maps them to (value parsed by the type given).
_MODEL_FLAGS: dict[str, Any] = {
    "target_device": str,
    "nireq": int,
    "plugin_config": json_value,
    "shape": str,
    "batch_size": str,
    "layout": str,
    "model_version_policy": json_value,
}
_TYPES: dict[str, Any] = {
    **_MODEL_FLAGS,
    "port": int,
    "rest_port": int,
    "file_system_poll_wait_seconds": float,
}
_SOURCES = ("config_path", "model_path")  # in serve's group of what to serve
_LOG_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}


def add_ovms_arguments(parser: argparse.ArgumentParser, source: Any) -> None:
    """Add every OVMS flag of :data:`FLAGS`; ``source`` is serve's group of what to serve."""
    source.add_argument(
        "--config_path", metavar="CONFIG", help="OVMS's --config_path: as --config, "
        "and watched like OVMS does (--file_system_poll_wait_seconds, 0 = never)",
    )  # fmt: skip
    source.add_argument(
        "--model_path", metavar="DIR", help="OVMS's one-model mode, with --model_name: the "
        "model's folder (version subfolders inside)",
    )  # fmt: skip
    ovms = parser.add_argument_group(
        "OVMS's flags", "OVMS's command line works unchanged: the TensorFlow Serving API and "
        "KServe answer on --port (gRPC) and --rest_port (REST); Triton keeps its own ports. "
        "Each flag is mapped, accepted with a warning or refused (docs/migration.md)",
    )  # fmt: skip
    ovms.add_argument(
        "--front-shared-memory", nargs="?", const="on", default="on", choices=("on", "off"),
        help="ovtriton's own: on (default) = the front passes tensors to Triton through system "
        "shared memory instead of a second gRPC copy, falling back to gRPC while /dev/shm has "
        "no room (ovtriton/tfs/shm_pool.py; regions released when serve stops); off = always "
        "the second gRPC copy",
    )  # fmt: skip
    for flag in FLAGS:
        if flag.name in _SOURCES or flag.name == "help":
            continue
        text = f"{flag.action}: {flag.what}"
        if flag.name == "version":
            ovms.add_argument(flag.option, action="version", version=f"ovtriton {__version__}")
        elif flag.value == "switch":
            ovms.add_argument(flag.option, dest=flag.dest, nargs="?", const="true", help=text)
        else:
            kind = _TYPES.get(flag.dest, str)
            ovms.add_argument(flag.option, dest=flag.dest, type=kind, help=text, default=None)


def _given(args: argparse.Namespace, action: str) -> list[OvmsFlag]:
    return [f for f in FLAGS if f.action == action and getattr(args, f.dest, None) is not None]


def apply_ovms_arguments(args: argparse.Namespace) -> None:
    """Turn OVMS's flags into serve's own settings (``config``, ``watch``, Triton's ports)."""
    refused = _given(args, "refused")
    if refused:
        raise UserError(
            "OVMS flags ovtriton cannot honour (ignoring them would change answers):\n"
            + "\n".join(f"  {f.option}: {f.what}" for f in refused)
        )
    for flag in _given(args, "warned"):
        LOGGER.warning("%s is accepted and changes nothing here: %s", flag.option, flag.what)
    _apply_logging(args)
    _apply_bind_address(args)
    for name in ("port", "rest_port"):  # OVMS: 0 (its default) = that server is not started
        if getattr(args, name) == 0:
            setattr(args, name, None)
    model_flags = {f: getattr(args, f) for f in _MODEL_FLAGS if getattr(args, f) is not None}
    if args.model_path is not None:
        if not args.model_name:
            raise UserError("--model_path needs --model_name (the name clients call the model by)")
        args.config = _one_model_config(args.model_name, args.model_path, model_flags)
    elif args.model_name or model_flags:
        given = ["--model_name"] * bool(args.model_name) + [f"--{f}" for f in model_flags]
        raise UserError(
            f"{', '.join(given)} go with --model_path (OVMS's one-model mode); with a "
            'config file put these settings in its model\'s "config" object'
        )
    if args.config_path is not None:
        args.config = args.config_path
        wait = args.file_system_poll_wait_seconds
        args.watch = args.watch or wait is None or wait > 0
        if wait:
            args.poll_seconds = wait
    _move_colliding_triton_ports(args)


def _apply_logging(args: argparse.Namespace) -> None:
    """``--log_level`` and ``--log_path``: serve's own log (DEBUG: Triton's verbose log too)."""
    if args.log_level is not None:
        level = _LOG_LEVELS.get(args.log_level.upper())
        if level is None:
            raise UserError(
                f"--log_level {args.log_level!r}: give one of {', '.join(_LOG_LEVELS)} (as OVMS)"
            )
        logging.getLogger().setLevel(level)
        passthrough = list(getattr(args, "passthrough", None) or [])
        if level == logging.DEBUG and not any("--log-verbose" in a for a in passthrough):
            args.passthrough = [*passthrough, "--log-verbose=1"]
    if args.log_path is not None:
        try:
            handler = logging.FileHandler(args.log_path, encoding="utf-8")
        except OSError as error:
            raise UserError(f"--log_path {args.log_path}: cannot write it ({error})") from None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)


def _apply_bind_address(args: argparse.Namespace) -> None:
    """``--grpc_bind_address``/``--rest_bind_address``: one address, serve's ``--host``."""
    given = [v for v in (args.grpc_bind_address, args.rest_bind_address) if v is not None]
    addresses = {a.strip() for value in given for a in value.split(",") if a.strip()}
    if len(addresses) > 1:
        raise UserError(
            f"--grpc_bind_address/--rest_bind_address name {sorted(addresses)}: ovtriton binds "
            "every port to one address; give the same single address to both"
        )
    if addresses:
        args.host = addresses.pop()


def _one_model_config(name: str, model_path: str, settings: dict[str, Any]) -> Path:
    from ovtriton.storage.urls import is_remote

    if is_remote(model_path):  # mirrored by serve, as any remote base_path
        base_path = model_path.strip()
    elif not Path(model_path).is_dir():
        raise UserError(
            f"--model_path {model_path}: no such folder (it holds version folders 1/, 2/ …)"
        )
    else:
        base_path = str(Path(model_path).resolve())
    folder = Path(tempfile.mkdtemp(prefix="ovtriton-ovms-"))
    atexit.register(shutil.rmtree, folder, True)
    config = {"model_config_list": [{"config": {"name": name, "base_path": base_path, **settings}}]}
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    LOGGER.info("one-model mode: serving %s from %s", name, base_path)
    return folder / "config.json"


def _move_colliding_triton_ports(args: argparse.Namespace) -> None:
    """OVMS's ports win: a Triton port equal to --port/--rest_port moves to a free one."""
    taken = {p for p in (args.port, args.rest_port) if p}
    if args.port and args.port == args.rest_port:
        raise UserError(f"--port and --rest_port are both {args.port}; give them different ports")
    spare = iter(Ports.free(args.host if args.host != "0.0.0.0" else "127.0.0.1").flags()[1::2])
    for flag in ("http_port", "grpc_port", "metrics_port"):
        if getattr(args, flag) in taken:
            moved = int(next(spare))
            LOGGER.info(
                "Triton's --%s %s is OVMS's port here; Triton uses %d",
                flag.replace("_", "-"), getattr(args, flag), moved,
            )  # fmt: skip
            setattr(args, flag, moved)


def start_front(
    args: Optional[argparse.Namespace],
    server: TritonServer,
    reload: Optional[ConfigReload] = None,
) -> Optional[TfsFront]:
    """Start the TFS + KServe front when OVMS's ports were asked for."""
    if args is None or (
        getattr(args, "port", None) is None and getattr(args, "rest_port", None) is None
    ):
        return None
    from ovtriton.server.tfs_front import start_front_for

    try:
        front = start_front_for(
            server, args.host, args.port, args.rest_port, reload,
            getattr(args, "front_shared_memory", "on") == "on",
        )  # fmt: skip
    except OSError as error:
        raise UserError(f"cannot start the TFS front on OVMS's ports: {error}") from None
    LOGGER.info(
        "TFS and KServe APIs on OVMS's ports: gRPC %s:%s  REST %s:%s",
        args.host, args.port or "-", args.host, args.rest_port or "-",
    )  # fmt: skip
    return front
