"""hutch_publisher.HutchPublisher: against a small fake server, and against the real hutch with a
real bluesky RunEngine and the recorded documents in server/tests/fixtures/bluesky-docs."""
import json
import logging
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conftest import KEY, REPO, free_port
from hutch_publisher import HutchPublisher

AUTH = {"Authorization": f"ApiKey {KEY}"}
FIXTURES = REPO / "server" / "tests" / "fixtures" / "bluesky-docs"


# ------------------------------------------------------------------------------------ helpers


def docs(n, run="r"):
    """n small documents with distinct uids (the fake server does not check the event model)."""
    return [["event", {"uid": f"{run}-{i}", "seq_num": i + 1, "data": {"x": i * 0.5}}] for i in range(n)]


def plain(doc):
    """A document as it reads back from JSON (numpy values as lists and numbers, tuples as lists)."""
    return json.loads(json.dumps(doc, default=lambda o: o.tolist()))


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class FakeHutch:
    """POST /api/documents in a thread, storing batches whole or not at all, like hutch.

    fail_first: answer the first N requests with fail_status. gate: an Event each request waits for
    before it is answered. max_docs: 413 for larger batches. reject_uid: 422 for a batch holding a
    document with that uid. lose_first_reply: store the first batch, then hang up without a reply.
    """

    def __init__(self, fail_first=0, fail_status=503, gate=None, max_docs=None, reject_uid=None,
                 lose_first_reply=False):
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.gate = gate
        self.max_docs = max_docs
        self.reject_uid = reject_uid
        self.lose_first_reply = lose_first_reply
        self.stored = []
        self.requests = 0
        self.entered = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with fake.lock:
                    fake.requests += 1
                    n = fake.requests
                fake.entered.set()
                if fake.gate is not None:
                    fake.gate.wait(60)
                if self.path != "/api/documents":
                    return self.reply(404, {"success": False, "msg": "no such route"})
                if self.headers.get("Authorization") != f"ApiKey {KEY}":
                    return self.reply(401, {"success": False, "msg": "Invalid API key"})
                if n <= fake.fail_first:
                    return self.reply(fake.fail_status, {"success": False, "msg": "not now"})
                batch = json.loads(body)
                if batch and isinstance(batch[0], str):
                    batch = [batch]
                if fake.max_docs is not None and len(batch) > fake.max_docs:
                    return self.reply(413, {"success": False, "msg": "too large"})
                with fake.lock:
                    known = {d["uid"] for _, d in fake.stored}
                    for i, (name, doc) in enumerate(batch):
                        if doc.get("uid") in known:
                            msg = f"document {i} ({name}): a document with this uid is already stored"
                            return self.reply(422, {"success": False, "msg": msg})
                        if doc.get("uid") == fake.reject_uid:
                            return self.reply(422, {"success": False, "msg": f"document {i} ({name}): bad"})
                    fake.stored.extend(batch)
                    if fake.lose_first_reply and n == 1:
                        self.close_connection = True
                        return  # stored, but the client never hears so
                self.reply(200, {"success": True, "stored": len(batch)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake_hutch():
    servers = []

    def make(**kwargs):
        servers.append(FakeHutch(**kwargs))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.fixture()
def publishers():
    made = []

    def make(url, **kwargs):
        made.append(HutchPublisher(url, KEY, **kwargs))
        return made[-1]

    yield make
    for p in made:
        p.close(timeout=1)


# ------------------------------------------------------------------------ against a fake server


def test_transient_failures_are_retried_in_order_and_delivered_once(fake_hutch, publishers):
    fake = fake_hutch(fail_first=3, fail_status=503)
    pub = publishers(fake.url, batch_size=7)
    sent = docs(50) + [["stop", {"uid": "stop-1"}]]
    for name, doc in sent:
        pub(name, doc)
    assert pub.flush(timeout=30)
    assert fake.stored == sent
    assert (pub.sent, pub.rejected, pub.dropped, pub.pending) == (51, 0, 0, 0)
    assert fake.requests >= 3 + 8


@pytest.mark.parametrize("status", [500, 502, 429, 408])
def test_other_transient_statuses_are_retried(fake_hutch, publishers, status):
    fake = fake_hutch(fail_first=1, fail_status=status)
    pub = publishers(fake.url)
    for name, doc in docs(3):
        pub(name, doc)
    assert pub.flush(timeout=30)
    assert fake.stored == docs(3)
    assert pub.rejected == 0


def test_call_returns_while_the_server_is_stuck(fake_hutch, publishers):
    gate = threading.Event()
    fake = fake_hutch(gate=gate)
    pub = publishers(fake.url, batch_size=100)
    sent = docs(2001)
    pub(*sent[0])
    assert fake.entered.wait(10), "the publisher never sent the first document"
    started = time.monotonic()
    for name, doc in sent[1:]:
        pub(name, doc)
    took = time.monotonic() - started
    # The first request is still waiting for its reply: none of those calls waited for it.
    assert not gate.is_set() and fake.requests == 1
    assert pub.pending == 2001 and pub.sent == 0
    assert took < 5, f"2000 calls took {took:.1f} s"
    gate.set()
    assert pub.flush(timeout=30)
    assert fake.stored == sent
    assert pub.sent == 2001


def test_unreachable_server_never_blocks_and_close_drops(publishers, caplog):
    caplog.set_level(logging.WARNING, logger="hutch_publisher")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    pub = publishers(url)
    started = time.monotonic()
    for name, doc in docs(1000):
        pub(name, doc)
    assert time.monotonic() - started < 5
    assert pub.pending == 1000
    assert not pub.flush(timeout=0.3)
    assert pub.pending == 1000 and pub.sent == 0
    assert not pub.close(timeout=0.3)
    assert wait_until(lambda: pub.pending == 0)
    assert (pub.sent, pub.rejected, pub.dropped) == (0, 0, 1000)
    assert any("cannot reach hutch" in r.getMessage() for r in caplog.records)
    pub("event", {"uid": "late"})  # after close: dropped, no exception
    assert pub.dropped == 1001


def test_backlog_past_max_pending_warns_once_and_keeps_everything(publishers, caplog):
    caplog.set_level(logging.WARNING, logger="hutch_publisher")
    pub = publishers(f"http://127.0.0.1:{free_port()}", max_pending=10)
    for name, doc in docs(50):
        pub(name, doc)
    assert pub.pending == 50 and pub.dropped == 0
    warnings = [r.getMessage() for r in caplog.records if "max_pending" in r.getMessage()]
    assert len(warnings) == 1 and "11 documents are waiting" in warnings[0]
    pub.close(timeout=0)
    pub("event", {"uid": "late-1"})
    pub("event", {"uid": "late-2"})
    assert wait_until(lambda: pub.pending == 0)
    assert (pub.sent, pub.rejected, pub.dropped) == (0, 0, 52)


def test_rejected_batch_is_logged_dropped_and_later_batches_go_on(fake_hutch, publishers, caplog):
    caplog.set_level(logging.INFO, logger="hutch_publisher")
    fake = fake_hutch(reject_uid="bad")
    pub = publishers(fake.url, flush_interval=60)  # batches are made by flush() alone
    first, bad, last = docs(2, "a"), [["event", {"uid": "bad"}], ["event", {"uid": "b-1"}]], docs(2, "c")
    for group in (first, bad, last):
        for name, doc in group:
            pub(name, doc)
        assert pub.flush(timeout=30)
    assert fake.stored == first + last
    assert (pub.sent, pub.rejected, pub.dropped) == (4, 2, 0)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "document 0 (event): bad" in errors[0] and "422" in errors[0]


def test_wrong_api_key_is_a_rejection(fake_hutch, caplog):
    caplog.set_level(logging.ERROR, logger="hutch_publisher")
    fake = fake_hutch()
    pub = HutchPublisher(fake.url, "wrong")
    try:
        pub("start", {"uid": "s"})
        assert pub.flush(timeout=30)
    finally:
        pub.close()
    assert (pub.sent, pub.rejected) == (0, 1)
    assert any("Invalid API key" in r.getMessage() for r in caplog.records)


def test_too_large_batches_are_split(fake_hutch, publishers):
    fake = fake_hutch(max_docs=4)
    pub = publishers(fake.url, flush_interval=60)
    for name, doc in docs(10):
        pub(name, doc)
    assert pub.flush(timeout=30)
    assert fake.stored == docs(10)
    assert (pub.sent, pub.rejected) == (10, 0)


def test_lost_reply_then_already_stored_counts_as_sent(fake_hutch, publishers):
    fake = fake_hutch(lose_first_reply=True)
    pub = publishers(fake.url, flush_interval=60)
    for name, doc in docs(5):
        pub(name, doc)
    assert pub.flush(timeout=30)
    assert fake.stored == docs(5)
    assert (pub.sent, pub.rejected) == (5, 0)
    assert fake.requests == 2


def test_only_a_refused_first_document_means_already_stored():
    from hutch_publisher import _already_stored

    stored = "a document with this uid is already stored; nothing of this batch was stored"
    assert _already_stored(f"document 0 (start): {stored}")
    assert not _already_stored(f"document 2 (event): {stored}")
    assert not _already_stored("document 0 (event): unknown descriptor 'abc'")


def test_batches_respect_batch_size_and_end_at_stop(fake_hutch, publishers):
    fake = fake_hutch()
    pub = publishers(fake.url, batch_size=3, flush_interval=60)
    sent = docs(2, "a") + [["stop", {"uid": "stop-a"}]] + docs(4, "b")
    for name, doc in sent:
        pub(name, doc)
    assert pub.flush(timeout=30)
    assert fake.stored == sent
    assert fake.requests == 3  # [a0 a1 stop] [b0 b1 b2] [b3]


def test_stop_is_sent_without_waiting_for_the_interval(fake_hutch, publishers):
    fake = fake_hutch()
    pub = publishers(fake.url, flush_interval=60)
    pub("start", {"uid": "s"})
    time.sleep(0.2)
    assert fake.requests == 0, "a lone start went out before the 60 s interval"
    pub("stop", {"uid": "t", "run_start": "s"})
    assert wait_until(lambda: len(fake.stored) == 2, timeout=10), "the stop was not sent promptly"
    assert fake.stored == [["start", {"uid": "s"}], ["stop", {"uid": "t", "run_start": "s"}]]


def test_numpy_values_become_json(fake_hutch, publishers, caplog):
    np = pytest.importorskip("numpy")
    caplog.set_level(logging.WARNING, logger="hutch_publisher")
    fake = fake_hutch()
    pub = publishers(fake.url)
    doc = {
        "uid": "e1",
        "time": np.float64(1795336841.5516481),
        "seq_num": np.int64(1),
        "data": {
            "img": np.arange(6, dtype=np.uint16).reshape(2, 3),
            "f32": np.float32(0.5),
            "flag": np.bool_(True),
            "nan": np.array([1.5, np.nan]),
            "inf": float("inf"),
        },
        "shape": (2, 3),
    }
    pub("event", doc)
    assert pub.flush(timeout=30)
    [[name, got]] = fake.stored
    assert name == "event"
    assert got == {
        "uid": "e1",
        "time": 1795336841.5516481,
        "seq_num": 1,
        "data": {"img": [[0, 1, 2], [3, 4, 5]], "f32": 0.5, "flag": True, "nan": [1.5, None], "inf": None},
        "shape": [2, 3],
    }
    assert any("NaN or infinity" in r.getMessage() for r in caplog.records)


def test_call_never_raises(fake_hutch, publishers, caplog):
    caplog.set_level(logging.WARNING, logger="hutch_publisher")
    fake = fake_hutch()
    pub = publishers(fake.url)
    pub("event", {"uid": "x", "data": {"v": object()}})  # JSON cannot carry it
    pub("stream_resource", {"uid": "y"})  # a type hutch does not take
    pub("event", None)  # not a document
    pub(["unhashable"], {})
    pub("event", {"uid": "ok"})
    assert pub.flush(timeout=30)
    assert (pub.rejected, pub.sent) == (4, 1)
    assert fake.stored == [["event", {"uid": "ok"}]]


def test_concurrent_publishers_keep_each_threads_order(fake_hutch, publishers):
    fake = fake_hutch()
    pub = publishers(fake.url, batch_size=50)
    threads = [
        threading.Thread(target=lambda t=t: [pub(n, d) for n, d in docs(250, f"t{t}")]) for t in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pub.flush(timeout=30)
    assert len(fake.stored) == 1000 and pub.sent == 1000
    for t in range(4):
        assert [d for d in fake.stored if d[1]["uid"].startswith(f"t{t}-")] == docs(250, f"t{t}")


def test_bad_arguments_are_refused_at_construction():
    with pytest.raises(ValueError):
        HutchPublisher("hutch-host:60610", KEY)
    with pytest.raises(ValueError):
        HutchPublisher("http://127.0.0.1:1", "key\nX-Evil: 1")


# ------------------------------------------------------------------ against the real hutch


def stored_documents(url, uid):
    reply = httpx.get(f"{url}/api/runs/{uid}/documents", headers=AUTH, timeout=30)
    assert reply.status_code == 200, reply.text
    return [json.loads(line) for line in reply.text.splitlines() if line.strip()]


def read_pairs(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def split_runs(pairs):
    """Consecutive [name, doc] pairs cut into runs, each starting at its start document."""
    runs = []
    for pair in pairs:
        if pair[0] == "start":
            runs.append([])
        runs[-1].append(pair)
    return runs


def assert_stored_as_emitted(url, run):
    uid = run[0][1]["uid"]
    stored = stored_documents(url, uid)
    assert [n for n, _ in stored] == [n for n, _ in run]
    assert [d.get("uid", d.get("datum_id")) for _, d in stored] == [
        d.get("uid", d.get("datum_id")) for _, d in run
    ]
    assert [d["data"] for n, d in stored if n == "event"] == [d["data"] for n, d in run if n == "event"]
    for (name, got), (_, want) in zip(stored, run):
        assert got == want, f"the stored {name} {want.get('uid')} differs"


def run_engine():
    from bluesky import RunEngine

    RE = RunEngine({})
    emitted = []
    RE.subscribe(lambda name, doc: emitted.append([name, plain(doc)]))
    return RE, emitted


def test_runengine_count_and_scan_are_stored_as_emitted(hutch):
    from bluesky.plans import count, scan
    from ophyd.sim import det, det1, det2, motor

    RE, emitted = run_engine()
    publisher = HutchPublisher(hutch, KEY)
    RE.subscribe(publisher)
    try:
        RE(count([det1, det2], num=5))
        RE(scan([det], motor, -1, 1, 11))
        assert publisher.flush(timeout=60)
    finally:
        publisher.close()
    assert (publisher.sent, publisher.rejected, publisher.dropped) == (len(emitted), 0, 0)

    runs = split_runs(emitted)
    assert [r[0][1]["plan_name"] for r in runs] == ["count", "scan"]
    assert [sum(n == "event" for n, _ in r) for r in runs] == [5, 11]
    for run in runs:
        assert_stored_as_emitted(hutch, run)

    reply = httpx.get(f"{hutch}/api/runs", params={"limit": 10}, headers=AUTH, timeout=30)
    assert reply.status_code == 200, reply.text
    listed = {r["uid"]: r for r in reply.json()["runs"]}
    for run, plan, events in zip(runs, ["count", "scan"], [5, 11]):
        summary = listed[run[0][1]["uid"]]
        assert summary["plan_name"] == plan
        assert summary["exit_status"] == "success"
        assert summary["num_events"] == {"primary": events}


def test_hutch_rejection_is_logged_and_the_next_run_still_stored(hutch, caplog):
    caplog.set_level(logging.ERROR, logger="hutch_publisher")
    recorded = FIXTURES / "count_det1_det2.jsonl"
    if not recorded.exists():
        pytest.skip(f"no recorded bluesky documents at {FIXTURES}")
    pairs = read_pairs(recorded)
    publisher = HutchPublisher(hutch, KEY, flush_interval=60)
    try:
        publisher("event", {"uid": "orphan", "time": 1.0, "data": {}, "timestamps": {}, "seq_num": 1,
                            "filled": {}, "descriptor": "abc"})
        assert publisher.flush(timeout=30)
        for name, doc in pairs:
            publisher(name, doc)
        assert publisher.flush(timeout=30)
    finally:
        publisher.close()
    assert (publisher.sent, publisher.rejected, publisher.dropped) == (len(pairs), 1, 0)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "unknown descriptor 'abc'" in errors[0] and "HTTP 422" in errors[0]
    assert stored_documents(hutch, pairs[0][1]["uid"]) == pairs


def start_hutch(port, data_dir):
    """hutch on a given port, as conftest's fixture starts it."""
    binary = os.environ.get("HUTCH_BIN", str(REPO / "target" / "debug" / "hutch"))
    env = dict(os.environ, HUTCH_API_KEY=KEY, HUTCH_CONFIG="/dev/null", RUST_LOG="info", NO_COLOR="1")
    return subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
        env=env,
        stderr=subprocess.DEVNULL,
    )


def test_documents_published_while_hutch_is_down_arrive_once_it_starts(tmp_path):
    from bluesky.plans import count
    from ophyd.sim import det1

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    RE, emitted = run_engine()
    publisher = HutchPublisher(url, KEY)
    RE.subscribe(publisher)
    proc = None
    try:
        RE(count([det1], num=3))  # completes although nothing listens yet
        assert len(emitted) == 6
        assert publisher.sent == 0 and publisher.pending == 6
        proc = start_hutch(port, tmp_path)
        assert publisher.flush(timeout=60), f"not delivered after hutch started: {publisher!r}"
        assert (publisher.sent, publisher.rejected, publisher.dropped) == (6, 0, 0)
        assert_stored_as_emitted(url, emitted)
    finally:
        publisher.close()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)


def test_hutch_restarted_between_runs_loses_nothing(tmp_path):
    from bluesky.plans import count
    from ophyd.sim import det1

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    RE, emitted = run_engine()
    publisher = HutchPublisher(url, KEY)
    RE.subscribe(publisher)
    proc = start_hutch(port, tmp_path)
    try:
        RE(count([det1], num=2))
        assert publisher.flush(timeout=60)
        proc.terminate()
        proc.wait(timeout=20)
        RE(count([det1], num=3))  # hutch is down
        assert publisher.pending == 6  # start, descriptor, 3 events, stop
        proc = start_hutch(port, tmp_path)  # the same data directory
        assert publisher.flush(timeout=60), f"not delivered after the restart: {publisher!r}"
        assert (publisher.sent, publisher.rejected, publisher.dropped) == (len(emitted), 0, 0)
        for run in split_runs(emitted):
            assert_stored_as_emitted(url, run)
    finally:
        publisher.close()
        proc.terminate()
        proc.wait(timeout=20)


def fixture_files():
    files = sorted(FIXTURES.glob("*.jsonl"))
    assert files, f"no recorded bluesky documents in {FIXTURES}"
    return files


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: getattr(p, "name", "missing"))
def test_recorded_documents_come_back_unchanged(hutch, path):
    pairs = read_pairs(path)
    manifest = json.loads((FIXTURES / "MANIFEST.json").read_text())
    expected_counts = {r["run_uid"]: r["n_documents"] for r in manifest["runs"]}

    publisher = HutchPublisher(hutch, KEY)
    try:
        for name, doc in pairs:
            publisher(name, doc)
        assert publisher.flush(timeout=60)
    finally:
        publisher.close()
    assert (publisher.sent, publisher.rejected, publisher.dropped) == (len(pairs), 0, 0)

    runs = split_runs(pairs)
    assert runs
    for run in runs:
        uid = run[0][1]["uid"]
        if uid in expected_counts:
            assert len(run) == expected_counts[uid]
        assert stored_documents(hutch, uid) == run, f"run {uid} of {path.name} came back changed"
