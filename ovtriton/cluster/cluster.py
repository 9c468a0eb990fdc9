"""One machine, real parts: an S3 API server holding a converted repository, N ``serve``
replicas reading the bucket, nginx in front. Everything on loopback, every process ours.

The repository is converted by ovtriton from an OVMS config.json whose one model, ``scale``
(y = factor * x), is written by OpenVINO here; version N multiplies by ``factor_of(N)``, so
every answer tells which version served it.

Two routes (``mode``): ``repository`` — the converted repository is in the bucket and each
replica runs ``serve --model-repository s3://…`` (tritonserver's own S3 code; reloads are
explicit); ``config`` — OVMS's route: the bucket holds an OVMS ``config.json`` and model
folders, and each replica runs ``serve --config_path s3://…/config.json
--file_system_poll_wait_seconds N``, mirroring and converting what the config names and
applying every change it sees at a poll. In that mode "version N" is the model folder
``ovms/scale-vN`` (one version folder, ``1``, answering ``factor_of(N)``).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ovtriton.cluster.balancer import Balancer
from ovtriton.cluster.load import INPUT, MODEL, OUTPUT
from ovtriton.cluster.replicas import Replica
from ovtriton.errors import UserError
from ovtriton.storage.emulators import MotoS3
from ovtriton.cluster.bucket import ensure_bucket, upload_tree

LOGGER = logging.getLogger(__name__)

BUCKET = "models"
PREFIX = "repository"
OVMS_PREFIX = "ovms"  # the config route: ovms/config.json and ovms/scale-vN/1/model.{xml,bin}
MODES = ("repository", "config")


def factor_of(version: int) -> float:
    return float(version + 1)


def write_model(version_dir: Path, factor: float) -> None:
    import openvino as ov
    from openvino import opset13 as ops

    x = ops.parameter([-1, 4], np.float32, name=INPUT)
    y = ops.multiply(x, ops.constant(np.array(factor, np.float32)))
    y.output(0).get_tensor().set_names({OUTPUT})
    version_dir.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov.Model([y], [x], MODEL), str(version_dir / "model.xml"), compress_to_fp16=False)


def converted_repository(workdir: Path, versions: int) -> Path:
    """Versions 1..``versions`` of ``scale`` in an OVMS config, converted to a Triton repository."""
    from ovtriton.converter import ConversionOptions, convert

    models = workdir / "ovms" / MODEL
    for version in range(1, versions + 1):
        if not (models / str(version) / "model.xml").exists():
            write_model(models / str(version), factor_of(version))
    config = workdir / "ovms" / "config.json"
    entry = {"name": MODEL, "base_path": str(models)}
    config.write_text(json.dumps({"model_config_list": [{"config": entry}]}), encoding="utf-8")
    out = workdir / f"triton-v{versions}"
    if not out.exists():  # the same versions always convert to the same repository
        convert(config, out, options=ConversionOptions(copy=True))
    return out


@dataclass
class Cluster:
    workdir: Path
    size: int = 3
    s3: MotoS3 = field(default_factory=MotoS3)
    replicas: list[Replica] = field(default_factory=list)
    balancer: Optional[Balancer] = None
    version: int = 1  # newest version uploaded (config mode: the one config.json names)
    mode: str = "repository"  # or "config" (OVMS's route), see the module's docstring
    poll_seconds: float = 1.0  # config mode: --file_system_poll_wait_seconds of each replica

    @property
    def url(self) -> str:
        """What every replica reads, in OVMS's spelling (S3_ENDPOINT says where)."""
        if self.mode == "config":
            return f"s3://{BUCKET}/{OVMS_PREFIX}/config.json"
        return f"s3://{BUCKET}/{PREFIX}"

    def model_folder(self, version: int) -> str:
        """Config mode: the key prefix of version ``version``'s model folder."""
        return f"{OVMS_PREFIX}/{MODEL}-v{version}"

    def upload_model(self, version: int, files: tuple[str, ...] = ("model.xml", "model.bin")):
        """Config mode: ``files`` of version ``version``'s model folder (all: complete)."""
        folder = self.workdir / "build" / "ovms" / MODEL / str(version)
        if not (folder / "model.xml").exists():
            write_model(folder, factor_of(version))
        client = self.s3.client()
        ensure_bucket(client, BUCKET)
        for name in files:
            client.upload_file(str(folder / name), BUCKET, f"{self.model_folder(version)}/1/{name}")

    def upload_config(self, version: int) -> None:
        """Config mode: a config.json whose model ``scale`` is version ``version``'s folder."""
        base = f"s3://{BUCKET}/{self.model_folder(version)}"
        document = {"model_config_list": [{"config": {"name": MODEL, "base_path": base}}]}
        self.s3.client().put_object(
            Bucket=BUCKET,
            Key=f"{OVMS_PREFIX}/config.json",
            Body=json.dumps(document, indent=2).encode(),
        )
        self.version = version

    def publish(self, version: int) -> None:
        """What the replicas serve now: version ``version`` (model first, then what names it)."""
        if self.mode == "config":
            self.upload_model(version)
            self.upload_config(version)
        else:
            self.upload(version)

    def upload(self, versions: int) -> list[str]:
        """Upload the repository with versions 1..``versions`` (new objects only matter)."""
        keys = upload_tree(
            self.s3.client(), converted_repository(self.workdir / "build", versions), BUCKET, PREFIX
        )
        self.version = versions
        return keys

    def start(self) -> "Cluster":
        if self.mode not in MODES:
            raise UserError(f"cluster mode {self.mode!r}: choose one of {', '.join(MODES)}")
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.s3.start()
            self.publish(1)
            key_file = self.workdir / "admin-key"
            key_file.write_text(secrets.token_hex(16), encoding="utf-8")
            key_file.chmod(0o600)
            env = self.s3.env()  # OVMS's variables
            self.replicas = [
                Replica(
                    i,
                    self.url,
                    self.workdir / f"replica-{i}",
                    key_file,
                    env,
                    poll_seconds=self.poll_seconds if self.mode == "config" else None,
                )  # fmt: skip
                for i in range(self.size)
            ]
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                seconds = replica.wait_ready()
                LOGGER.info("%s ready in %.1f s (pid %d)", replica.name, seconds, replica.pid)
            self.balancer = Balancer(self.workdir / "nginx", [r.ports for r in self.replicas])
            self.balancer.start()
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> list[int]:
        """Every process of the cluster now running (S3 server, nginx, replicas)."""
        found = [self.s3.pid] if self.s3.running else []
        if self.balancer is not None and self.balancer.pid:
            found.append(self.balancer.pid)
        return found + [r.pid for r in self.replicas if r.running]

    def restart_s3(self) -> None:
        """Start the S3 server again on its port; its objects were in memory: upload again."""
        self.s3.start()
        self.publish(self.version)

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        for replica in self.replicas:
            replica.terminate()
        self.s3.stop()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
