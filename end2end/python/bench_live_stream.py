"""Benchmark: hutch's live stream beside a plain Python relay (plain_relay.py), in one run.

    target/venv-interop/bin/python end2end/python/bench_live_stream.py \\
        [--hutch target/release/hutch] [--seconds 5] [--trials 1000] [--only hutch|relay]

The server is pinned to core 0 and the harness (publisher process, subscriber process) to core 1.
Three measurements, printed as markdown rows for docs/benchmarks.md:

1. **Per-event POST sweep.** A synchronous publisher POSTs one event per request over one
   keep-alive connection, paced to the offered rate, as a bluesky callback does; N subscribers
   follow the run. PASS = every subscriber received >= 95 % of the offered rate, p99 latency
   <= 100 ms, and no request refused.
2. **Subscribe/start race.** Ten clients send their subscribe to a run that does not exist yet,
   and without waiting for `subscribed` the publisher posts start, descriptor, two events and
   stop, each on its own: a trial has a hole if any client misses a document.
3. **Quiet latency.** 250 events a second to 20 subscribers: p50 and p99.

Latency is from the event's `time` (set by the publisher just before its POST) to its arrival
at a subscriber; both clocks are this machine's.
"""
import argparse
import asyncio
import http.client
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "benchkey-0123456789"
AUTH = {"Authorization": f"ApiKey {KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


class Target:
    """A server under test: where to POST and how to follow a run."""

    def __init__(self, kind: str, hutch: str):
        self.kind = kind
        self.http = free_port()
        if kind == "hutch":
            self.ws = self.http
            data = tempfile.mkdtemp(prefix="bench-live-")
            env = dict(os.environ, HUTCH_API_KEY=KEY, HUTCH_CONFIG="/dev/null", RUST_LOG="warn")
            cmd = [hutch, "serve", "--bind", f"127.0.0.1:{self.http}", "--data-dir", data]
        else:
            self.ws = free_port()
            env = dict(os.environ)
            cmd = [sys.executable, os.path.join(HERE, "plain_relay.py"),
                   "--http", str(self.http), "--ws", str(self.ws)]
        self.proc = subprocess.Popen(["taskset", "-c", "0", *cmd], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_port(self.ws, self.proc)
        wait_port(self.http, self.proc)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)

    async def follow(self, run: str):
        """A connected subscriber of `run`; returns the socket once the subscribe is sent."""
        if self.kind == "hutch":
            ws = await websockets.connect(f"ws://127.0.0.1:{self.ws}/api/stream",
                                          additional_headers=AUTH, max_size=None,
                                          compression=None)
            await ws.recv()  # hello
            await ws.send(json.dumps({"type": "subscribe", "topics": [f"run:{run}"]}))
        else:
            ws = await websockets.connect(f"ws://127.0.0.1:{self.ws}/run/{run}",
                                          max_size=None, compression=None)
        return ws


def docs_of(frame: dict):
    """(name, doc) of a frame's documents, pages opened into their event times."""
    data = frame.get("data") or {}
    name, doc = data.get("name"), data.get("doc")
    if name == "event_page":
        return [("event", t) for t in doc["time"]]
    if name == "event":
        return [("event", doc["time"])]
    return [(name, doc)] if name else []


def start_docs(run: str):
    desc = f"{run}-d"
    return [
        ["start", {"uid": run, "time": time.time(), "plan_name": "bench", "scan_id": 1}],
        ["descriptor", {"uid": desc, "run_start": run, "time": time.time(), "name": "primary",
                        "data_keys": {"det": {"source": "sim", "dtype": "number", "shape": []}}}],
    ]


def event(run: str, i: int):
    return ["event", {"uid": f"{run}-e{i}", "time": time.time(), "data": {"det": float(i)},
                      "timestamps": {"det": time.time()}, "seq_num": i, "filled": {},
                      "descriptor": f"{run}-d"}]


def stop_doc(run: str, n: int):
    return ["stop", {"uid": f"{run}-stop", "run_start": run, "time": time.time(),
                     "exit_status": "success", "num_events": {"primary": n}}]


class Poster:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.refused = 0

    def post(self, docs) -> int:
        body = json.dumps(docs)
        self.conn.request("POST", "/api/documents", body,
                          {**AUTH, "Content-Type": "application/json"})
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            self.refused += 1
        return r.status


def publisher(port: int, run: str, rate: float, seconds: float, go, out):
    """Posts start, descriptor, `rate * seconds` events paced to `rate`, then stop."""
    p = Poster(port)
    go.wait()
    p.post(start_docs(run))
    n = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        ahead = t0 + i / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
        p.post([event(run, i)])
    took = time.perf_counter() - t0
    p.post([stop_doc(run, n)])
    out.put({"events": n, "took": took, "refused": p.refused})


async def subscribers(target: Target, run: str, count: int, ready, out):
    socks = [await target.follow(run) for _ in range(count)]
    for ws in socks:
        while json.loads(await ws.recv()).get("type") != "subscribed":
            pass
    ready.set()
    latencies = []

    async def read(ws):
        n = 0
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 30)
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                return n
            now = time.time()
            for name, t in docs_of(json.loads(raw)):
                if name == "event":
                    n += 1
                    latencies.append(now - t)
                elif name == "stop":
                    return n

    counts = await asyncio.gather(*(read(ws) for ws in socks))
    for ws in socks:
        await ws.close()
    latencies.sort()
    out.put({"counts": counts, "latencies": latencies})


def sub_main(kind, http, ws, run, count, ready, out):
    t = Target.__new__(Target)
    t.kind, t.http, t.ws = kind, http, ws
    asyncio.run(subscribers(t, run, count, ready, out))


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")


def one_step(target: Target, subs: int, rate: float, seconds: float, tag: str):
    run = f"{tag}-{subs}-{int(rate)}-{time.monotonic_ns()}"
    ctx = mp.get_context("fork")
    ready, go, out_p, out_s = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    s = ctx.Process(target=sub_main, args=(target.kind, target.http, target.ws, run, subs, ready, out_s))
    p = ctx.Process(target=publisher, args=(target.http, run, rate, seconds, go, out_p))
    s.start()
    ready.wait(30)
    p.start()
    go.set()
    pub = out_p.get(timeout=seconds * 20 + 60)
    got = out_s.get(timeout=120)
    p.join()
    s.join()
    lat = got["latencies"]
    delivered = min(got["counts"]) / pub["events"]
    reached = pub["events"] / pub["took"]
    ok = delivered >= 0.95 and reached >= 0.95 * rate and pct(lat, 0.99) <= 100 and pub["refused"] == 0
    return {"reached": reached, "delivered": delivered, "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
            "refused": pub["refused"], "ok": ok}


def pin_self():
    os.sched_setaffinity(0, {1})


async def race(target: Target, trials: int) -> tuple[int, int]:
    """Trials with a hole, and trials run."""
    clients = 10
    poster = Poster(target.http)
    holes = 0
    if target.kind == "hutch":
        socks = []
        for _ in range(clients):
            ws = await websockets.connect(f"ws://127.0.0.1:{target.ws}/api/stream",
                                          additional_headers=AUTH, compression=None)
            await ws.recv()
            socks.append(ws)
    for t in range(trials):
        run = f"race-{t}-{time.monotonic_ns()}"
        topic = f"run:{run}"
        if target.kind == "hutch":
            for ws in socks:
                await ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
        else:
            # The relay's clients subscribe by connecting; connect without waiting for it.
            pending = [asyncio.ensure_future(target.follow(run)) for _ in range(clients)]
            await asyncio.sleep(0)
        docs = [*start_docs(run), event(run, 1), event(run, 2), stop_doc(run, 2)]
        loop = asyncio.get_running_loop()
        for d in docs:
            await loop.run_in_executor(None, poster.post, [d])
        if target.kind != "hutch":
            socks = await asyncio.gather(*pending)

        async def seen(ws):
            names = []
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 2)
                except asyncio.TimeoutError:
                    return names
                f = json.loads(raw)
                if f.get("topic") != topic:
                    continue
                names += [n for n, _ in docs_of(f)]
                if "stop" in names:
                    return names

        got = await asyncio.gather(*(seen(ws) for ws in socks))
        if any(len(g) != len(docs) for g in got):
            holes += 1
        if target.kind == "hutch":
            for ws in socks:
                await ws.send(json.dumps({"type": "unsubscribe", "topics": [topic]}))
        else:
            for ws in socks:
                await ws.close()
    return holes, trials


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--hutch", default="target/release/hutch")
    a.add_argument("--seconds", type=float, default=5)
    a.add_argument("--trials", type=int, default=1000)
    a.add_argument("--only", choices=["hutch", "relay"])
    a.add_argument("--rates", default="250,500,1000,2000,3000,4000")
    a.add_argument("--subs", default="1,5,20")
    args = a.parse_args()
    pin_self()
    kinds = [args.only] if args.only else ["hutch", "relay"]
    rates = [float(r) for r in args.rates.split(",")]
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {os.uname().nodename}, {os.cpu_count()} cores; "
          f"{args.seconds} s a step; server on core 0, harness on core 1")
    for kind in kinds:
        target = Target(kind, args.hutch)
        try:
            print(f"\n## {kind}\n\n| subscribers | offered ev/s | reached ev/s | delivered (worst) | "
                  f"p50 ms | p99 ms | refused | pass |\n|---|---|---|---|---|---|---|---|")
            for subs in [int(s) for s in args.subs.split(",")]:
                for rate in rates:
                    r = one_step(target, subs, rate, args.seconds, kind)
                    print(f"| {subs} | {rate:.0f} | {r['reached']:.0f} | {r['delivered'] * 100:.1f} % | "
                          f"{r['p50']:.1f} | {r['p99']:.1f} | {r['refused']} | "
                          f"{'PASS' if r['ok'] else 'fail'} |", flush=True)
                    if not r["ok"]:
                        break
            q = one_step(target, 20, 250, args.seconds, kind)
            print(f"\nquiet: 250 ev/s to 20 subscribers: p50 {q['p50']:.2f} ms, p99 {q['p99']:.2f} ms, "
                  f"delivered {q['delivered'] * 100:.1f} %", flush=True)
            if args.trials:
                holes, n = asyncio.run(race(target, args.trials))
                print(f"race: {holes} of {n} trials had a hole (10 clients each)", flush=True)
        finally:
            target.stop()


if __name__ == "__main__":
    main()
