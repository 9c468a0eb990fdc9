"""One line for every storage failure: the URL, the cause, a fix; never a secret.

Client exceptions (botocore, google-auth, azure-core, aiohttp, OSError) are turned into
``StorageError`` by ``storage_errors``; anything that looks like a configured secret is
masked in the message even if a client library put it there.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from ovtriton.errors import UserError

# Environment variables whose values must never appear in a message or a log line.
SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)


class StorageError(UserError):
    """Object storage failed or refused: ``url`` and ``cause`` (and a ``hint``) in one line."""

    def __init__(self, url: object, cause: str, hint: str = "") -> None:
        self.url = str(url)
        self.cause = mask(cause)
        self.hint = hint
        super().__init__(f"{self.url}: {self.cause}" + (f" ({hint})" if hint else ""))


def mask(text: str) -> str:
    """``text`` with the value of every secret variable (and its parts) replaced by ***."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name, "")
        parts = [value, *(p.split("=", 1)[-1] for p in value.split(";"))] if value else []
        for part in sorted(parts, key=len, reverse=True):
            if len(part) >= 8:
                text = text.replace(part, "***")
    return text


CREDENTIAL_HINTS = {
    "s3": "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and S3_ENDPOINT",
    "gs": "check GOOGLE_APPLICATION_CREDENTIALS",
    "az": "check AZURE_STORAGE_CONNECTION_STRING",
}


# Words in a client exception's type, code or message -> what went wrong, in this order.
DENIED = ("invalidaccesskeyid", "signaturedoesnotmatch", "authenticationfailed", "authorization",
          "invalid_grant", "unauthorized", "401", "accessdenied", "403", "forbidden",
          "permissionerror", "nocredentials", "credential")  # fmt: skip
NO_BUCKET = ("nosuchbucket", "containernotfound", "bucket does not exist", "specified bucket")
NOT_FOUND = ("nosuchkey", "404", "blobnotfound", "not found")
FAILING = ("slowdown", "throttl", "503", "500", "internalerror", "serviceunavailable",
           "toomanyrequests", "429", "server error")  # fmt: skip
UNREACHABLE = ("connect", "timeout", "timed out", "unreachable", "resolve", "name or service",
               "refused", "endpoint")  # fmt: skip


def cause_of(exc: BaseException, scheme: str = "") -> tuple[str, str]:
    """(cause, hint) for a client exception, judged by its type name, code and message."""
    name = type(exc).__name__
    code = _code(exc)
    text = " ".join(str(exc).split())[:300]
    low = f"{name} {code} {text}".lower()

    def has(words: tuple[str, ...]) -> bool:
        # A status number counts only as the error's code: the message may hold a URL whose
        # port or name contains "403" or "500" (a refused connection to 127.0.0.1:40319).
        return any(word == code if word.isdigit() else word in low for word in words)

    if has(UNREACHABLE) and _connection_type(name):  # judged by its type before its words
        return (
            f"storage endpoint unreachable ({name})",
            "check the endpoint (S3_ENDPOINT, STORAGE_EMULATOR_HOST, the connection string's "
            "BlobEndpoint) and the network",
        )
    if has(DENIED):
        return (
            f"access denied ({code or name})",
            CREDENTIAL_HINTS.get(scheme, "check the credentials"),
        )
    if has(NO_BUCKET):
        return (f"no such bucket or container ({code or name})", "create it or fix the URL")
    if isinstance(exc, FileNotFoundError) or has(NOT_FOUND):
        return ("no such object or folder", "check the path; object names are case-sensitive")
    if has(FAILING):
        return (f"the storage server failed ({code or name}), also when retried", "try again later")
    if has(UNREACHABLE):
        return (
            f"storage endpoint unreachable ({name})",
            "check the endpoint (S3_ENDPOINT, STORAGE_EMULATOR_HOST, the connection string's "
            "BlobEndpoint) and the network",
        )
    return (f"{name}: {text}" if text else name, "")


def _connection_type(name: str) -> bool:
    """Whether an exception's type says the connection failed (botocore's
    EndpointConnectionError, aiohttp's ClientConnectorError, ConnectionRefusedError, …)."""
    low = name.lower()
    return "connect" in low or "timeout" in low or "unreachable" in low


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    for attr in ("error_code", "code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, (str, int)) and value:
            return str(value)
    return ""


@contextmanager
def storage_errors(url: object, action: str = "") -> Iterator[None]:
    """Turn any client failure inside the block into a StorageError naming ``url``."""
    try:
        yield
    except StorageError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # client libraries raise many unrelated types
        from .filesystem import forget_clients  # here: filesystem imports this module

        forget_clients()  # the next call makes its client afresh (rotated keys, a restart)
        cause, hint = cause_of(_root(exc), str(url).partition("://")[0])
        raise StorageError(url, f"{action + ': ' if action else ''}{cause}", hint) from None


def _root(exc: BaseException) -> BaseException:
    """The most telling exception of a chain (fsspec wraps the client's in OSError)."""
    seen = 0
    while exc.__cause__ is not None and seen < 5 and isinstance(exc, OSError):
        if isinstance(exc, FileNotFoundError):
            break
        exc, seen = exc.__cause__, seen + 1
    return exc
