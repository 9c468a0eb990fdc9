"""OVMS's command line on ``ovtriton serve``: its flags, mapped onto serve's own and the TFS front.

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
_ACCEPTED_WITHOUT_EFFECT = {
    "grpc_workers": "the front's gRPC server is asynchronous; Triton sizes its own threads",
    "rest_workers": "the front's REST server is asynchronous",
    "metrics_enable": "metrics are always on: Triton's port, and /metrics on --rest_port",
}


def add_ovms_arguments(parser: argparse.ArgumentParser, source: Any) -> None:
    """Add OVMS's flags; ``source`` is serve's mutually exclusive group of what to serve."""
    source.add_argument(
        "--config_path", type=Path, metavar="CONFIG", help="OVMS's --config_path: as --config, "
        "and watched like OVMS does (--file_system_poll_wait_seconds, 0 = never)",
    )  # fmt: skip
    source.add_argument(
        "--model_path", metavar="DIR", help="OVMS's one-model mode, with --model_name: the "
        "model's folder (version subfolders inside)",
    )  # fmt: skip
    ovms = parser.add_argument_group(
        "OVMS's flags", "OVMS's command line works unchanged: the TensorFlow Serving API and "
        "KServe answer on --port (gRPC) and --rest_port (REST); Triton keeps its own ports",
    )  # fmt: skip
    ovms.add_argument("--model_name", help="with --model_path: the name clients call")
    ovms.add_argument("--port", type=int, help="gRPC port of the TFS + KServe front")
    ovms.add_argument("--rest_port", type=int, help="REST port of the TFS + KServe front")
    ovms.add_argument(
        "--file_system_poll_wait_seconds", type=float, default=None, metavar="S",
        help="with --config_path: how often the config is checked (default 1; 0 = never)",
    )  # fmt: skip
    for flag, kind in _MODEL_FLAGS.items():
        ovms.add_argument(f"--{flag}", type=kind, help="with --model_path: as in config.json")
    ovms.add_argument("--grpc_workers", type=int, help="accepted; no effect here")
    ovms.add_argument("--rest_workers", type=int, help="accepted; no effect here")
    ovms.add_argument("--metrics_enable", action="store_true", help="accepted; metrics are on")


def apply_ovms_arguments(args: argparse.Namespace) -> None:
    """Turn OVMS's flags into serve's own settings (``config``, ``watch``, Triton's ports)."""
    for flag, why in _ACCEPTED_WITHOUT_EFFECT.items():
        if getattr(args, flag, None):
            LOGGER.info("--%s has no effect with ovtriton: %s", flag, why)
    model_flags = {f: getattr(args, f) for f in _MODEL_FLAGS if getattr(args, f) is not None}
    if args.model_path is not None:
        if not args.model_name:
            raise UserError("--model_path needs --model_name (the name clients call the model by)")
        args.config = _one_model_config(args.model_name, Path(args.model_path), model_flags)
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


def _one_model_config(name: str, path: Path, settings: dict[str, Any]) -> Path:
    if not path.is_dir():
        raise UserError(f"--model_path {path}: no such folder (it holds version folders 1/, 2/ …)")
    folder = Path(tempfile.mkdtemp(prefix="ovtriton-ovms-"))
    atexit.register(shutil.rmtree, folder, True)
    config = {
        "model_config_list": [
            {"config": {"name": name, "base_path": str(path.resolve()), **settings}}
        ]
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    LOGGER.info("one-model mode: serving %s from %s", name, path)
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
    from ovtriton.tfs.front import start_front_for

    try:
        front = start_front_for(server, args.host, args.port, args.rest_port, reload)
    except OSError as error:
        raise UserError(f"cannot start the TFS front on OVMS's ports: {error}") from None
    LOGGER.info(
        "TFS and KServe APIs on OVMS's ports: gRPC %s:%s  REST %s:%s",
        args.host, args.port or "-", args.host, args.rest_port or "-",
    )  # fmt: skip
    return front
