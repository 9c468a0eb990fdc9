"""``ovtriton cluster``: an S3 API server, N serve replicas reading one bucket, nginx in front."""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ovtriton.cluster.scenarios import SCENARIOS

    parser = subparsers.add_parser(
        "cluster",
        help="a cluster on this machine: S3 server, serve replicas, nginx; scenarios under load",
        description="Start a local S3 API server (moto) holding a converted repository, "
        "REPLICAS `ovtriton serve --model-repository s3://…` processes and nginx proxying "
        "HTTP and gRPC to them, all on loopback. With --scenario, run scenarios under steady "
        "client load through nginx and report failed requests, drain and recovery times; "
        "without, keep the cluster up until Ctrl-C.",
        epilog="examples:\n  ovtriton cluster\n"
        "  ovtriton cluster --scenario all --json cluster.json\n"
        "  ovtriton cluster --mode config --scenario all --json cluster-config.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--replicas", type=int, default=3, help="serve replicas (default 3)")
    parser.add_argument(
        "--mode",
        choices=("repository", "config"),
        default="repository",
        help="what the replicas read: 'repository' (default): serve --model-repository "
        "s3://… (a converted repository, explicit reloads); 'config': OVMS's route, serve "
        "--config_path s3://…/config.json --file_system_poll_wait_seconds POLL",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=1.0,
        help="with --mode config: each replica's --file_system_poll_wait_seconds (default 1)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "all"],
        help="run this scenario (repeat for several; 'all': every one, in the order listed)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the report here")
    parser.add_argument(
        "--outage-seconds", type=float, default=10.0, help="storage-outage: how long (default 10)"
    )
    parser.add_argument(
        "--clients", type=int, default=2, help="load clients per protocol (default 2)"
    )
    parser.add_argument(
        "--cold-start",
        type=Path,
        metavar="REPOSITORY",
        help="instead: time tritonserver's start on this Triton repository from the folder and "
        "from the S3 server (tritonserver reading it, and ovtriton's local copy), alternating "
        "(--runs each); report medians and spread",
    )
    parser.add_argument("--runs", type=int, default=5, help="with --cold-start (default 5)")
    parser.add_argument(
        "--workdir", type=Path, help="logs, configs, the converted repository (default: temp)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.replicas <= 8:
        raise UserError(f"--replicas {args.replicas}: choose 1 to 8 (one machine)")
    if args.poll_seconds <= 0:
        raise UserError(f"--poll-seconds {args.poll_seconds}: give a positive number")
    if args.clients < 1:
        raise UserError("--clients must be 1 or more")
    if args.scenario and "all" not in args.scenario:
        from ovtriton.cluster.scenarios import check_names

        check_names(args.mode, args.scenario)  # before anything starts
    if args.cold_start is not None:
        from ovtriton.cluster.coldstart import cold_start

        if args.runs < 1:
            raise UserError("--runs must be 1 or more")
        _write(args, cold_start(args.cold_start, args.runs))
        return 0
    with tempfile.TemporaryDirectory(prefix="ovtriton-cluster-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        return _run(args, workdir)


def _run(args: argparse.Namespace, workdir: Path) -> int:
    from ovtriton.cluster.cluster import Cluster
    from ovtriton.cluster.scenarios import run_scenarios

    started = time.monotonic()
    cluster = Cluster(workdir, size=args.replicas, mode=args.mode, poll_seconds=args.poll_seconds)
    with cluster:
        assert cluster.balancer is not None
        LOGGER.info(
            "cluster up in %.1f s: %d replicas of %s (S3 %s); nginx HTTP %s gRPC %s",
            time.monotonic() - started,
            args.replicas,
            cluster.url,
            cluster.s3.endpoint,
            cluster.balancer.http_url,
            cluster.balancer.grpc_url,
        )
        if not args.scenario:
            LOGGER.info("Press Ctrl-C to stop.")
            try:
                while all(r.running for r in cluster.replicas) and cluster.s3.running:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            return 0
        names = None if "all" in args.scenario else args.scenario
        report = run_scenarios(cluster, names, args.clients, args.outage_seconds)
    _write(args, report)
    for name, result in report["scenarios"].items():
        LOGGER.info("%-22s %5d requests, %d failed", name, result["requests"], result["failed"])
    return 0


def _write(args: argparse.Namespace, report: dict) -> None:
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
        LOGGER.info("report written to %s", args.json)
    else:
        print(text)
