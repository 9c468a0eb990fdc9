"""Keep Triton's control APIs (model repository, shared memory, logging, trace) behind a key.

tritonserver 2.51 serves every API to every client by default: anyone reaching the port can load
a ``file:`` override holding Python code, unload models, read or overwrite other clients' shared
memory and change logging. ``--http-restricted-api`` and ``--grpc-restricted-protocol`` make
such a request need a header (gRPC: metadata) ``<key>: <value>``; without it Triton answers
HTTP 403 / gRPC UNAVAILABLE ("This protocol is restricted"; 2.51 reads the gRPC metadata
key ``triton-grpc-protocol-<key>``). Inference, health, metadata, model-config and statistics
stay open. The value is random per start unless the operator supplies one.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

HEADER = "ovtriton-admin-key"  # lower case: gRPC metadata keys must be
GRPC_PREFIX = "triton-grpc-protocol-"  # what tritonserver 2.51's gRPC endpoint checks
ENV_VAR = "OVTRITON_ADMIN_KEY"
CONTROL_APIS = ("model-repository", "shared-memory", "logging", "trace")
_FLAGS = ("--http-restricted-api", "--grpc-restricted-protocol")


@dataclass(frozen=True)
class Restriction:
    """One ``--http-restricted-api``/``--grpc-restricted-protocol`` flag, parsed."""

    flag: str
    apis: frozenset[str]
    key: str
    value: str

    @classmethod
    def parse(cls, arg: str) -> Optional["Restriction"]:
        """``--http-restricted-api=a,b:key=value`` -> Restriction; None for any other flag."""
        flag, eq, spec = arg.partition("=")
        if flag not in _FLAGS or not eq:
            return None
        apis, _, header = spec.rpartition(":")
        key, _, value = header.partition("=")
        return cls(flag, frozenset(a.strip() for a in apis.split(",") if a.strip()), key, value)

    def arg(self) -> str:
        return f"{self.flag}={','.join(sorted(self.apis))}:{self.key}={self.value}"


@dataclass(frozen=True)
class AdminAccess:
    """The key ovtriton restricts the control APIs with, and the headers its own calls send."""

    value: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    enabled: bool = True

    @classmethod
    def from_sources(cls, key_file: Optional[Path] = None, open_apis: bool = False) -> AdminAccess:
        """The operator's key (``key_file``, else $OVTRITON_ADMIN_KEY), else a random one."""
        if open_apis:
            return cls(enabled=False)
        if key_file is not None:
            try:
                value = key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UserError(f"--admin-key-file {key_file}: {exc.strerror}") from None
            return cls(_checked(value, f"--admin-key-file {key_file}"))
        if os.environ.get(ENV_VAR):
            return cls(_checked(os.environ[ENV_VAR].strip(), f"${ENV_VAR}"))
        return cls()

    def flags(self, extra_args: Sequence[str] = ()) -> list[str]:
        """Restriction flags for the control APIs the operator's ``extra_args`` leave open
        (Triton refuses an API restricted twice)."""
        if not self.enabled:
            return []
        theirs = _restrictions(extra_args)
        value = next((r.value for r in theirs if r.key == HEADER), self.value)
        flags = []
        for flag in _FLAGS:
            taken = set().union(*(r.apis for r in theirs if r.flag == flag))
            left = frozenset(CONTROL_APIS) - taken
            if left:
                flags.append(Restriction(flag, left, HEADER, value).arg())
        return flags

    def headers(self, extra_args: Sequence[str] = ()) -> dict[str, str]:
        """What ovtriton's own control calls send: its key, plus the operator's own keys; each
        twice, as tritonserver 2.51's gRPC endpoint expects ``triton-grpc-protocol-<key>``. The
        same dict serves HTTP and gRPC clients (each ignores the other's header)."""
        keys = {HEADER: self.value} if self.enabled else {}
        for restriction in _restrictions(extra_args):
            if restriction.key:
                keys[restriction.key] = restriction.value
        return {**keys, **{GRPC_PREFIX + key: value for key, value in keys.items()}}

    def secrets(self, extra_args: Sequence[str] = ()) -> list[str]:
        """The key values tritonserver's command line carries (ours and the operator's)."""
        values = [self.value] if self.enabled else []
        return values + [r.value for r in _restrictions(extra_args) if r.value]

    def write(self, path: Path) -> Path:
        """Store the key for the operator (readable by the owner only)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.value + "\n")
        return path


def _restrictions(args: Sequence[str]) -> list[Restriction]:
    """The operator's restriction flags, written ``--flag=value`` or ``--flag value``."""
    joined = [
        f"{arg}={args[i + 1]}" if arg in _FLAGS and i + 1 < len(args) else arg
        for i, arg in enumerate(args)
    ]
    return [r for r in map(Restriction.parse, joined) if r is not None]


def _checked(value: str, source: str) -> str:
    if not value or any(c in value for c in ",:= \t\n") or not value.isprintable():
        raise UserError(
            f"{source}: the admin key must be one non-empty word without ',', ':', '=' or spaces "
            "(it goes into tritonserver's --http-restricted-api flag and an HTTP header)"
        )
    return value
