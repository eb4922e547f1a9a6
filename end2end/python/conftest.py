"""Starts the real `hutch` binary on a free loopback port with a fresh data directory."""
import os
import pathlib
import socket
import subprocess
import sys
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


class Hutch(str):
    """The URL of a running hutch (a str, so tests use it as one), with its process and data."""

    proc: subprocess.Popen
    data: str


def start_hutch(*extra: str, data: str | None = None) -> Hutch:
    port = free_port()
    data = data or tempfile.mkdtemp(prefix="hutch-interop-")
    binary = os.environ.get("HUTCH_BIN", str(REPO / "target" / "debug" / "hutch"))
    env = dict(os.environ, HUTCH_API_KEY=KEY, HUTCH_CONFIG="/dev/null", RUST_LOG="info", NO_COLOR="1")
    proc = subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", data, *extra],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = Hutch(f"http://127.0.0.1:{port}")
    url.proc, url.data = proc, data
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
    return url


def stop_hutch(url: Hutch) -> None:
    url.proc.terminate()
    url.proc.wait(timeout=20)


def sim_profile() -> str:
    """bluesky-queueserver's simulated startup profile, shipped inside the package."""
    import bluesky_queueserver

    return os.path.join(os.path.dirname(bluesky_queueserver.__file__), "profile_collection_sim")


def bluesky_args(profile: str | None = None, python: str | None = None) -> list[str]:
    """`hutch serve` flags for a real RunEngine running `profile` in this venv's Python."""
    return [
        "--environment", "bluesky",
        "--startup-dir", profile or sim_profile(),
        "--python", python or sys.executable,
    ]


@pytest.fixture()
def hutch():
    url = start_hutch()
    yield url
    stop_hutch(url)


@pytest.fixture(params=["sim", "bluesky"])
def any_hutch(request):
    """hutch with its simulated environment, then with bluesky's profile_collection_sim."""
    url = start_hutch(*([] if request.param == "sim" else bluesky_args()))
    yield url
    stop_hutch(url)
