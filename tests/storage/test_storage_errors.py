"""Storage faults end `convert` with exit 1 and one line naming the URL and the cause, never a
secret: wrong credentials, a missing bucket, object or model folder, an unreachable endpoint,
a failing server, an unsupported scheme."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from ovtriton.storage.emulators import AZURITE_KEY, Emulator, MotoS3, free_port
from tests.storage.conftest import new_bucket, upload

SECRET = "wrong-secret-that-must-never-be-printed"


def convert(
    source: str, env: dict[str, str], tmp_path: Path, *flags: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ovtriton", *flags, "convert", source, "-o", str(tmp_path / "out")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, url: str, cause: str) -> str:
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "ERROR"))]
    assert len(errors) == 1, result.stderr
    assert url in errors[0] and cause in errors[0], errors[0]
    assert "Traceback" not in result.stderr
    for secret in (SECRET, AZURITE_KEY):
        assert secret not in result.stderr + result.stdout
    return errors[0]


def test_wrong_s3_credentials(tmp_path: Path) -> None:
    with MotoS3(check_keys=True) as server:  # refuses keys it does not know
        env = {**server.env(), "AWS_SECRET_ACCESS_KEY": SECRET}
        url = "s3://models/config.json"
        assert_one_line_error(convert(url, env, tmp_path), url, "access denied")


def test_wrong_azure_key(servers: dict[str, Emulator], tmp_path: Path) -> None:
    good = servers["az"].env()["AZURE_STORAGE_CONNECTION_STRING"]
    env = {"AZURE_STORAGE_CONNECTION_STRING": good.replace(AZURITE_KEY, "d3Jvbmc=" * 11)}
    url = "az://models/config.json"
    assert_one_line_error(convert(url, env, tmp_path), url, "access denied")


def test_missing_bucket_object_and_model_folder(
    servers: dict[str, Emulator], storage_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**servers["s3"].env()}
    url = f"s3://{new_bucket('s3')}"
    missing_bucket = "s3://no-such-bucket-here/config.json"
    assert_one_line_error(convert(missing_bucket, env, tmp_path), missing_bucket, "no such")
    assert_one_line_error(convert(f"{url}/config.json", env, tmp_path), url, "no such object")
    config = {"model_config_list": [{"config": {"name": "m", "base_path": f"{url}/nowhere"}}]}
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "config.json").write_text(json.dumps(config))
    upload(tmp_path / "up", url)
    line = assert_one_line_error(convert(f"{url}/config.json", env, tmp_path), url, "no such")
    assert f"{url}/nowhere" in line
    assert not (tmp_path / "out").exists()  # nothing half written


@pytest.mark.parametrize("scheme", ["s3", "gs", "az"])
def test_unreachable_endpoint(scheme: str, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        "s3": {
            **MotoS3().env(),
            "S3_ENDPOINT": f"http://{address}",
            "AWS_SECRET_ACCESS_KEY": SECRET,
        },
        "gs": {"STORAGE_EMULATOR_HOST": f"http://{address}"},
        "az": {
            "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=a;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://{address}/a;"
        },
    }[scheme]
    url = f"{scheme}://models/config.json"
    assert_one_line_error(convert(url, env, tmp_path, "--verbose"), url, "unreachable")


class Failing(BaseHTTPRequestHandler):
    """A storage server that fails every request: HTTP 500, or 503 SlowDown (throttling)."""

    status = 500

    def _fail(self) -> None:
        body = b"<Error><Code>SlowDown</Code></Error>" if self.status == 503 else b""
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _fail

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[500, 503])
def failing_server(request: pytest.FixtureRequest) -> Iterator[int]:
    handler = type("Handler", (Failing,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_failing_or_throttling_server(failing_server: int, tmp_path: Path) -> None:
    env = {**MotoS3().env(), "S3_ENDPOINT": f"http://127.0.0.1:{failing_server}"}
    url = "s3://models/config.json"
    assert_one_line_error(convert(url, env, tmp_path), url, "the storage server failed")


def test_azure_files_urls_are_named_as_unsupported(tmp_path: Path) -> None:
    url = "azfs://share/models/config.json"
    assert_one_line_error(convert(url, {}, tmp_path), url, "Azure Files")
