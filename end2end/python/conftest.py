"""Starts the real `hutch` binary on a free loopback port with a fresh data directory."""
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import httpx
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
KEY = "interopkey"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def hutch():
    port = free_port()
    data = tempfile.mkdtemp(prefix="hutch-interop-")
    binary = os.environ.get("HUTCH_BIN", str(REPO / "target" / "debug" / "hutch"))
    env = dict(os.environ, HUTCH_API_KEY=KEY, HUTCH_CONFIG="/dev/null", RUST_LOG="info", NO_COLOR="1")
    proc = subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", data],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(f"{url}/api/status", headers={"Authorization": f"ApiKey {KEY}"}).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "hutch did not start within 20 s"
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
