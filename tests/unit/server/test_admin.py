"""The admin key: which flags restrict what, which headers ovtriton's own calls send."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovtriton.errors import UserError
from ovtriton.server.admin import CONTROL_APIS, ENV_VAR, HEADER, AdminAccess, Restriction


def test_by_default_both_endpoints_restrict_every_control_api_with_one_random_key() -> None:
    access = AdminAccess()
    http, grpc = access.flags()
    apis = ",".join(sorted(CONTROL_APIS))
    assert http == f"--http-restricted-api={apis}:{HEADER}={access.value}"
    assert grpc == f"--grpc-restricted-protocol={apis}:{HEADER}={access.value}"
    assert "inference" not in http and "health" not in http and "statistics" not in http
    assert len(access.value) >= 32 and AdminAccess().value != access.value


def test_headers_carry_the_key_for_http_and_for_grpc() -> None:
    access = AdminAccess("k3y")
    assert access.headers() == {HEADER: "k3y", f"triton-grpc-protocol-{HEADER}": "k3y"}


def test_opting_out_adds_no_flag_and_no_header() -> None:
    access = AdminAccess.from_sources(open_apis=True)
    assert access.flags() == [] and access.headers() == {}


def test_operator_flags_keep_their_apis_and_ours_cover_the_rest() -> None:
    theirs = ("--http-restricted-api=model-repository,logging:op-key=s3cret", "--log-verbose=1")
    access = AdminAccess("ours")
    flags = access.flags(theirs)
    assert flags == [
        f"--http-restricted-api=shared-memory,trace:{HEADER}=ours",
        f"--grpc-restricted-protocol={','.join(sorted(CONTROL_APIS))}:{HEADER}=ours",
    ]
    headers = access.headers(theirs)
    assert headers["op-key"] == "s3cret" and headers[HEADER] == "ours"
    assert headers["triton-grpc-protocol-op-key"] == "s3cret"


def test_operator_flags_covering_everything_leave_nothing_to_add() -> None:
    apis = ",".join(CONTROL_APIS)
    theirs = (f"--http-restricted-api={apis}:a=b", f"--grpc-restricted-protocol={apis}:a=b")
    assert AdminAccess("ours").flags(theirs) == []


def test_restriction_parses_only_restriction_flags() -> None:
    parsed = Restriction.parse("--grpc-restricted-protocol=trace, logging:k=v")
    assert parsed == Restriction(
        "--grpc-restricted-protocol", frozenset({"trace", "logging"}), "k", "v"
    )
    assert Restriction.parse("--http-port=8000") is None
    assert Restriction.parse("--http-restricted-api") is None  # value in the next argument


def test_the_key_comes_from_a_file_before_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "from-env")
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    assert AdminAccess.from_sources(key_file).value == "from-file"
    assert AdminAccess.from_sources().value == "from-env"
    monkeypatch.delenv(ENV_VAR)
    assert AdminAccess.from_sources().value not in ("from-env", "from-file")


@pytest.mark.parametrize("bad", ["", "a:b", "a,b", "a=b", "two words"])
def test_a_key_that_cannot_go_into_the_flag_is_refused(tmp_path: Path, bad: str) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(bad)
    with pytest.raises(UserError, match=f"--admin-key-file {key_file}: the admin key must be"):
        AdminAccess.from_sources(key_file)


def test_a_missing_key_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--admin-key-file .*nope: No such file"):
        AdminAccess.from_sources(tmp_path / "nope")


def test_the_written_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = AdminAccess("k3y").write(tmp_path / "admin-key")
    assert path.read_text() == "k3y\n" and path.stat().st_mode & 0o777 == 0o600


def test_operator_flags_written_as_two_arguments_count_too() -> None:
    theirs = ("--grpc-restricted-protocol", "model-repository,shared-memory,logging,trace:k=v")
    assert AdminAccess("ours").flags(theirs) == [
        f"--http-restricted-api={','.join(sorted(CONTROL_APIS))}:{HEADER}=ours"
    ]
    assert AdminAccess("ours").headers(theirs)["triton-grpc-protocol-k"] == "v"
