"""Benchmark: hutch's bluesky environment beside bluesky-queueserver's own manager, same profile.

    target/venv-interop/bin/python end2end/python/bench_bluesky_env.py [--plans 100] [--no-qserver]

For each manager: the time `environment/open` of bluesky-queueserver's profile_collection_sim
takes until the environment is idle, and for N x count([det1], num=1) run back to back from the
queue the gap between one run's stop document and the next run's start document (the manager's
own per-plan overhead), read from the documents' own timestamps. hutch reads them from its
database (/api/runs); bluesky-queueserver has no document store, so a RunEngine callback in its
worker records them (uploaded as a script before the queue starts).

Needs `redis-server` (Debian) for start-re-manager; it is started on a free port and stopped.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

sys.path.insert(0, os.path.dirname(__file__))
from conftest import KEY, REPO, bluesky_args, sim_profile, start_hutch, stop_hutch  # noqa: E402

H = {"Authorization": f"ApiKey {KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gaps(runs):
    """Start of each run minus the stop of the one before, in ms."""
    runs = sorted(runs, key=lambda r: r[0])
    return [(b[0] - a[1]) * 1000 for a, b in zip(runs, runs[1:])]


def summary(name, open_s, g, total_s, n):
    g = sorted(g)
    p99 = g[min(len(g) - 1, int(len(g) * 0.99))]
    print(
        f"{name:28s} open {open_s:5.2f} s | {n} plans in {total_s:6.2f} s ({total_s / n * 1000:6.1f} ms/plan) | "
        f"stop->next start: median {statistics.median(g):6.2f} ms, p99 {p99:6.2f} ms, max {g[-1]:6.2f} ms"
    )


def quiet_profile() -> str:
    """profile_collection_sim without its LiveTable: the table's stop sleeps 0.1 s on purpose
    (bluesky/callbacks/core.py, "cosmetic"), which would hide the managers' own overhead."""
    d = tempfile.mkdtemp(prefix="bench-profile-")
    for f in os.listdir(sim_profile()):
        if f.endswith(".py"):
            shutil.copy(os.path.join(sim_profile(), f), d)
    with open(os.path.join(d, "99-zz-bench.py"), "w") as out:
        out.write("bec.disable_table()\n")
    return d


def bench_hutch(n, profile):
    url = start_hutch(*bluesky_args(profile=profile))
    try:
        c = httpx.Client(base_url=url, headers=H, timeout=60)
        t0 = time.monotonic()
        c.post("/api/environment/open", json={})
        while not (s := c.get("/api/status").json())["worker_environment_exists"] or s["manager_state"] != "idle":
            time.sleep(0.01)
        open_s = time.monotonic() - t0
        items = [{"name": "count", "args": [["det1"]], "kwargs": {"num": 1}, "item_type": "plan"}] * n
        assert c.post("/api/queue/item/add/batch", json={"items": items}).json()["success"]
        t0 = time.monotonic()
        c.post("/api/queue/start", json={})
        while (s := c.get("/api/status").json())["items_in_queue"] or s["manager_state"] != "idle":
            time.sleep(0.01)
        total = time.monotonic() - t0
        runs = c.get("/api/runs", params={"limit": 1000}).json()["runs"]
        assert len(runs) == n, len(runs)
        summary(f"hutch ({label(profile)})", open_s, gaps([(r["time_start"], r["time_stop"]) for r in runs]), total, n)
    finally:
        stop_hutch(url)


def bench_worker_alone(n, profile):
    """hutch's Python worker driven straight over its pipes, the next `run` written the moment
    `finished` is read: the RunEngine's and the worker's own share of the gap, with no manager."""
    import json

    env = dict(os.environ, PYTHONPATH=str(REPO / "server" / "python"))
    t0 = time.monotonic()
    w = subprocess.Popen(
        [sys.executable, "-u", "-m", "hutch_worker", "--startup-dir", profile],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )

    def until(kind):
        for line in w.stdout:
            m = json.loads(line)
            if m["type"] == kind:
                return m
            if m["type"] == "document":
                times.append((m["name"], m["doc"].get("time")))
        raise AssertionError(f"worker ended before {kind}")

    times = []
    until("ready")
    open_s = time.monotonic() - t0
    t0 = time.monotonic()
    for i in range(n):
        item = {"name": "count", "args": [["det1"]], "kwargs": {"num": 1}, "item_type": "plan",
                "item_uid": f"b{i}", "user": "bench", "user_group": "primary"}
        w.stdin.write(json.dumps({"type": "run", "item": item, "scan_id": i + 1}) + "\n")
        w.stdin.flush()
        until("finished")
    total = time.monotonic() - t0
    w.stdin.write(json.dumps({"type": "close"}) + "\n")
    w.stdin.flush()
    w.wait(timeout=30)
    starts = [t for k, t in times if k == "start"]
    stops = [t for k, t in times if k == "stop"]
    summary(f"worker alone ({label(profile)})", open_s, gaps(list(zip(starts, stops))), total, n)


RECORDER = """
import json as _json
_bench_times = []
def _bench_cb(name, doc):
    if name in ("start", "stop"):
        _bench_times.append((name, doc["time"]))
RE.subscribe(_bench_cb)
def func_for_test_bench_times():
    return list(_bench_times)
"""


def bench_qserver(n, profile):
    from bluesky_queueserver_api import BFunc, BPlan
    from bluesky_queueserver_api.zmq import REManagerAPI

    if not shutil.which("redis-server"):
        print("bluesky-queueserver: skipped (no redis-server; apt-get install redis-server)")
        return
    work = tempfile.mkdtemp(prefix="bench-qserver-")
    rport, zport, iport = free_port(), free_port(), free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--dir", work],
        stdout=subprocess.DEVNULL,
    )
    perms = os.path.join(sim_profile(), "user_group_permissions.yaml")
    manager = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "start-re-manager"),
            "--startup-dir", profile,
            "--redis-addr", f"127.0.0.1:{rport}",
            "--zmq-control-addr", f"tcp://127.0.0.1:{zport}",
            "--zmq-info-addr", f"tcp://127.0.0.1:{iport}",
            "--existing-plans-devices", os.path.join(work, "existing.yaml"),
            "--user-group-permissions", perms,
            "--keep-re",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    RM = REManagerAPI(zmq_control_addr=f"tcp://127.0.0.1:{zport}", zmq_info_addr=f"tcp://127.0.0.1:{iport}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                RM.status()
                break
            except Exception:
                assert time.monotonic() < deadline, "start-re-manager did not answer"
                time.sleep(0.1)
        t0 = time.monotonic()
        RM.environment_open()
        RM.wait_for_idle(timeout=120)
        open_s = time.monotonic() - t0
        RM.wait_for_completed_task(RM.script_upload(RECORDER)["task_uid"], timeout=30)
        RM.item_add_batch([BPlan("count", ["det1"], num=1)] * n)
        t0 = time.monotonic()
        RM.queue_start()
        RM.wait_for_idle(timeout=600)
        total = time.monotonic() - t0
        reply = RM.function_execute(BFunc("func_for_test_bench_times"), run_in_background=True)
        RM.wait_for_completed_task(reply["task_uid"], timeout=30)
        times = RM.task_result(reply["task_uid"])["result"]["return_value"]
        starts = [t for k, t in times if k == "start"]
        stops = [t for k, t in times if k == "stop"]
        summary(f"qserver ({label(profile)})", open_s, gaps(list(zip(starts, stops))), total, n)
        RM.environment_close()
        RM.wait_for_idle(timeout=60)
    finally:
        RM.close()
        manager.terminate()
        manager.wait(timeout=30)
        redis.terminate()
        redis.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def label(profile):
    return "as shipped" if profile == sim_profile() else "no table"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plans", type=int, default=100)
    ap.add_argument("--no-qserver", action="store_true", help="only hutch")
    a = ap.parse_args()
    for profile in (sim_profile(), quiet_profile()):
        bench_worker_alone(a.plans, profile)
        bench_hutch(a.plans, profile)
        if not a.no_qserver:
            bench_qserver(a.plans, profile)


if __name__ == "__main__":
    main()
