"""A throwaway S3-compatible server (moto's standalone server) on loopback, for the file-target tests.

Importable without pytest::

    server = start_s3(workdir)      # python -m moto.server on 127.0.0.1:<free port>
    try:
        ... server.endpoint ...     # "http://127.0.0.1:PORT"
    finally:
        server.stop()

Fixtures (load with ``pytest_plugins`` or import them into a test module):

``s3_endpoint``  (session) the endpoint of a server started for the session
``s3_env``       AWS_* variables pointing botocore at it (fake credentials, no profile files)
``s3_bucket``    a fresh, empty bucket; returns its name

Without moto (``pip install 'moto[server]' s3fs boto3``) the tests are skipped, or fail
when ``CI=true``: CI never skips silently.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
ACCESS_KEY = "laden-test-key"
SECRET_KEY = "laden-test-secret-value"
REGION = "us-east-1"


class S3Server:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.endpoint = f"http://{HOST}:{port}"

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, the server gets SIGTERM when the test process dies, even if killed hard."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG

    return preexec


def _answers(endpoint: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    try:
        with opener.open(f"{endpoint}/moto-api/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


def start_s3(workdir: str | os.PathLike[str], *, timeout: float = STARTUP_TIMEOUT, attempts: int = 3) -> S3Server:
    """Start ``python -m moto.server`` on a free loopback port and wait until it answers.

    The port is picked before the server binds it; if another process takes it meanwhile the
    server exits at once, and another port is tried.
    """
    error = ""
    for attempt in range(attempts):
        log = Path(workdir) / f"moto-{attempt}.log"
        port = _free_port()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        server = S3Server(proc, port, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _answers(server.endpoint):
                return server
            time.sleep(0.1)
        server.stop()
        error = f"exit code {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
    raise RuntimeError(f"moto server did not start ({attempts} attempts, {timeout:.0f}s each); last: {error}")


# -- pytest -----------------------------------------------------------------------------------------


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for module in ("moto.server", "s3fs", "boto3"):
        try:
            __import__(module)
        except ImportError as exc:
            _unavailable(f"S3 tests need {module} (pip install 'moto[server]' s3fs boto3): {exc}")
    try:
        server = start_s3(tmp_path_factory.mktemp("moto"))
    except (OSError, RuntimeError) as exc:
        _unavailable(f"could not start the moto S3 server: {exc}")
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """AWS_* variables for the moto server (as a user would set them); returns the endpoint."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return s3_endpoint


def s3_client(endpoint: str) -> Any:
    """A plain boto3 client (not laden's fsspec path): what the tests read back with."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


_buckets = itertools.count(1)


@pytest.fixture
def s3_bucket(s3_env: str) -> str:
    """A new, empty bucket on the session's server."""
    name = f"laden-test-{os.getpid()}-{next(_buckets)}"
    s3_client(s3_env).create_bucket(Bucket=name)
    return name
