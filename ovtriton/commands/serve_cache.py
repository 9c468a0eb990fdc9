"""``serve --model-repository URL --repository-cache``: serve a local copy of a remote
repository kept in step by ovtriton (ovtriton/storage/repository_cache.py)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from ovtriton.server import guard


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repository-cache",
        choices=("auto", "triton", "local"),
        default="auto",
        help="with --model-repository URL: 'triton' reads the URL itself; 'local' serves a "
        "local copy kept in step by ovtriton (with --watch: changed models reloaded whole); "
        "'auto' (default): local only where tritonserver cannot read it (Azure custom endpoint)",
    )


def cache_wanted(args: argparse.Namespace) -> bool:
    """Whether ``args.model_repository`` is a URL to serve from a local copy."""
    from ovtriton.storage.repository_cache import use_local_cache

    url = args.model_repository
    return isinstance(url, str) and use_local_cache(args.repository_cache, url, os.environ)


def serve_cached(args: argparse.Namespace) -> int:
    """Copy the remote repository into the workdir and serve it; ``--watch`` keeps it in step."""
    from ovtriton.commands.serve import _serve, server_from_args
    from ovtriton.server.process import EXPLICIT_MODE_ARGS
    from ovtriton.storage.repository_cache import RepositoryCache

    with tempfile.TemporaryDirectory(prefix=guard.temp_prefix("serve-")) as scratch:
        args.workdir = args.workdir.resolve() if args.workdir else Path(scratch)
        cache = RepositoryCache(args.model_repository, args.workdir / "repository-cache")
        cache.sync()
        server = server_from_args(args, cache.repository)
        if args.watch:
            server.extra_args = (*EXPLICIT_MODE_ARGS, *server.extra_args)
        poll = args.poll_seconds if args.watch else 0
        return _serve(server, cache, poll, args)  # type: ignore[arg-type]  # the watcher's poll
