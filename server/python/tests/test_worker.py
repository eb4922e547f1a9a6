"""End-to-end tests of hutch's Python worker: spawn it, drive it over its pipes.

Run with the dev venv (see requirements-test.txt)::

    /tmp/venv-bluesky/bin/python -m pytest server/python/tests -q

Most tests share one worker running bluesky-queueserver's simulated profile
(``profile_collection_sim``); tests that need a fresh process (start-up failures, exit codes,
other profiles, timings) start their own. No fixed sleeps: every wait is "read messages until
this one arrives", with a time-out.
"""

import json
import os
import queue
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]  # server/python: holds hutch_worker/
SIM_PROFILE = None
try:
    import bluesky_queueserver

    SIM_PROFILE = Path(bluesky_queueserver.__file__).parent / "profile_collection_sim"
except ImportError:  # pragma: no cover - the test venv has it
    pass

TIMEOUT = 30.0


class WorkerProcess:
    """A worker process and everything it said. Messages are read by a thread into a queue."""

    def __init__(self, *args, python=sys.executable, python_flags=("-u",), env=None):
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(PYTHON_DIR)
        full_env.update(env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [python, *python_flags, "-m", "hutch_worker", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(PYTHON_DIR),
        )
        self.messages = queue.Queue()  # (arrival time, message)
        self.history = []  # every message read so far, in order
        self.bad_lines = []  # stdout lines that were not one JSON object
        self.stderr_lines = []
        self._stderr_lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            t = time.monotonic()
            try:
                msg = json.loads(raw)
                if not isinstance(msg, dict) or "type" not in msg:
                    raise ValueError("not a message")
            except ValueError:
                self.bad_lines.append(raw)
                continue
            self.messages.put((t, msg))
        self.messages.put((time.monotonic(), None))  # end of output

    def _read_stderr(self):
        for raw in self.proc.stderr:
            with self._stderr_lock:
                self.stderr_lines.append(raw.decode("utf-8", "replace"))

    @property
    def stderr(self):
        with self._stderr_lock:
            return "".join(self.stderr_lines)

    def send(self, msg):
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def read_until(self, pred, timeout=TIMEOUT, timed=False):
        """Messages up to and including the first for which ``pred`` is true."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out after {timeout} s; got {[m.get('type') for _, m in got]}\n"
                    f"stderr tail:\n{self.stderr[-3000:]}"
                )
            try:
                t, msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise AssertionError(
                    f"worker output ended (exit {self.proc.poll()}); got {[m.get('type') for _, m in got]}\n"
                    f"stderr tail:\n{self.stderr[-3000:]}"
                )
            self.history.append(msg)
            got.append((t, msg))
            if pred(msg):
                return got if timed else [m for _, m in got]

    def request(self, msg, pred, timeout=TIMEOUT):
        self.send(msg)
        return self.read_until(pred, timeout)

    def wait_exit(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def is_type(*types):
    return lambda m: m.get("type") in types


def docs(msgs, name=None):
    return [m for m in msgs if m["type"] == "document" and (name is None or m["name"] == name)]


_scan_id = [100]


def run_msg(name, *args, meta=None, scan_id=None, **kwargs):
    """A ``run`` message for plan ``name``."""
    if scan_id is None:
        _scan_id[0] += 10
        scan_id = _scan_id[0]
    item = {
        "name": name,
        "args": list(args),
        "kwargs": kwargs,
        "item_type": "plan",
        "user": "tester",
        "user_group": "primary",
        "item_uid": str(uuid.uuid4()),
    }
    if meta is not None:
        item["meta"] = meta
    return {"type": "run", "item": item, "scan_id": scan_id}


def task_msg(kind, **fields):
    return {"type": kind, "task_uid": str(uuid.uuid4()), "background": False, **fields}


def script_msg(source, **fields):
    fields = {"update_lists": True, "update_re": False, **fields}
    return task_msg("script", script=textwrap.dedent(source), **fields)


def function_msg(name, *args, **kwargs):
    item = {
        "name": name,
        "args": list(args),
        "kwargs": kwargs,
        "item_type": "function",
        "user": "tester",
        "user_group": "primary",
        "item_uid": str(uuid.uuid4()),
    }
    return task_msg("function", item=item)


def finished(msgs):
    assert msgs[-1]["type"] == "finished", msgs[-1]
    return msgs[-1]


def run_plan(w, name, *args, **kwargs):
    return w.request(run_msg(name, *args, **kwargs), is_type("finished"))


def run_task(w, msg, timeout=TIMEOUT):
    out = w.request(msg, lambda m: m.get("type") == "task_finished" and m.get("task_uid") == msg["task_uid"], timeout)
    return out, out[-1]


needs_sim = pytest.mark.skipif(SIM_PROFILE is None, reason="bluesky-queueserver is not installed")


@pytest.fixture(scope="module")
def sim():
    """One worker on the simulated profile, shared by the tests of this module."""
    w = WorkerProcess("--startup-dir", str(SIM_PROFILE))
    ready = w.read_until(is_type("ready", "open_failed"), timeout=120)[-1]
    assert ready["type"] == "ready", ready
    w.ready = ready
    yield w
    try:
        w.send({"type": "close"})
        assert w.wait_exit() == 0
    finally:
        w.kill()
    assert not w.bad_lines, w.bad_lines[:5]


# ----------------------------------------------------------------------------------- start-up


@needs_sim
def test_ready_lists_plans_and_devices(sim):
    ready = sim.ready
    assert ready["protocol"] == 2
    assert ready["environment"] == "bluesky"
    for plan in ("count", "scan", "grid_scan", "plan_test_progress_bars", "move_then_count"):
        assert plan in ready["plans"], plan
    for device in ("det1", "motor", "motor1", "det4"):
        assert device in ready["devices"], device
    # bluesky-queueserver's representation
    count = ready["plans"]["count"]
    assert count["name"] == "count"
    assert [p["name"] for p in count["parameters"]][:2] == ["detectors", "num"]
    assert ready["devices"]["det1"]["is_readable"] is True


# ---------------------------------------------------------------------------------- plans


@needs_sim
def test_count_emits_documents_and_runs(sim):
    msg = run_msg("count", ["det1"], num=3, meta={"sample": "quartz", "scan_id": 1}, scan_id=42)
    out = sim.request(msg, is_type("finished"))
    names = [m["name"] for m in docs(out)]
    assert names == ["start", "descriptor", "event", "event", "event", "stop"]
    types = [m["type"] for m in out if m["type"] != "log"]
    assert types == [
        "document",
        "run_opened",
        "document",
        "document",
        "document",
        "document",
        "document",
        "run_closed",
        "finished",
    ]
    start = docs(out, "start")[0]["doc"]
    assert start["scan_id"] == 42
    assert start["plan_name"] == "count"
    assert start["sample"] == "quartz"
    assert start["queue_item_uid"] == msg["item"]["item_uid"]
    assert start["metadata_key"] == "metadata_value"  # the profile's RE.md
    events = docs(out, "event")
    assert [e["doc"]["seq_num"] for e in events] == [1, 2, 3]
    assert all(isinstance(e["doc"]["data"]["det1"], float) for e in events)
    opened = next(m for m in out if m["type"] == "run_opened")
    closed = next(m for m in out if m["type"] == "run_closed")
    assert opened == {"type": "run_opened", "uid": start["uid"], "scan_id": 42}
    assert closed == {"type": "run_closed", "uid": start["uid"], "scan_id": 42, "exit_status": "success"}
    fin = finished(out)
    assert fin == {
        "type": "finished",
        "exit_status": "completed",
        "msg": "",
        "traceback": "",
        "run_uids": [start["uid"]],
        "scan_ids": [42],
    }
    logs = [m["msg"] for m in out if m["type"] == "log"]
    assert "Starting a plan 'count'." in logs
    assert "The plan was exited. Plan state: completed" in logs


@needs_sim
def test_scan_moves_the_motor(sim):
    out = run_plan(sim, "scan", ["det1"], "motor", -1, 1, 5)
    assert finished(out)["exit_status"] == "completed"
    events = docs(out, "event")
    assert [e["doc"]["data"]["motor"] for e in events] == pytest.approx([-1, -0.5, 0, 0.5, 1])
    assert docs(out, "stop")[0]["doc"]["num_events"] == {"primary": 5}


@needs_sim
def test_grid_scan(sim):
    out = run_plan(sim, "grid_scan", ["det4"], "motor1", -1, 1, 3, "motor2", -2, 2, 2, snake_axes=True)
    assert finished(out)["exit_status"] == "completed", finished(out)
    events = docs(out, "event")
    assert len(events) == 6
    points = [(round(e["doc"]["data"]["motor1"], 6), round(e["doc"]["data"]["motor2"], 6)) for e in events]
    assert points == [(-1, -2), (-1, 2), (0, 2), (0, -2), (1, -2), (1, 2)]  # the second axis snakes


@needs_sim
def test_scan_ids_follow_the_manager(sim):
    a = finished(run_plan(sim, "count", ["det1"], scan_id=500))
    b = finished(run_plan(sim, "count", ["det1"], scan_id=7))  # hutch decides, even going back
    assert a["scan_ids"] == [500] and b["scan_ids"] == [7]


@needs_sim
def test_multi_run_plan_reports_every_run(sim):
    out = run_plan(sim, "sim_multirun_plan_nested", 2, delay=0.01, scan_id=900)
    fin = finished(out)
    assert fin["exit_status"] == "completed", fin
    assert sorted(fin["scan_ids"]) == [900, 901]
    assert len(fin["run_uids"]) == 2
    assert len([m for m in out if m["type"] == "run_closed"]) == 2


@needs_sim
def test_unknown_plan_fails_cleanly(sim):
    out = run_plan(sim, "no_such_plan", ["det1"])
    fin = finished(out)
    assert fin["exit_status"] == "failed"
    assert "no_such_plan" in fin["msg"] and "\n" not in fin["msg"]
    assert fin["msg"].startswith("RuntimeError: ")
    assert "Traceback" in fin["traceback"]
    assert fin["run_uids"] == [] and not docs(out)
    assert finished(run_plan(sim, "count", ["det1"]))["exit_status"] == "completed"


@needs_sim
def test_bad_arguments_fail_the_plan(sim):
    # qserver's validation lets an unknown name through as a string; the plan then fails
    fin = finished(run_plan(sim, "count", ["no_such_detector"], num=2))
    assert fin["exit_status"] == "failed" and "\n" not in fin["msg"] and fin["traceback"]
    fin = finished(run_plan(sim, "count", ["det1"], num="many"))
    assert fin["exit_status"] == "failed"


@needs_sim
def test_plan_raising_mid_run_fails_and_the_next_runs(sim):
    _, done = run_task(
        sim,
        script_msg("""
        import bluesky.plan_stubs as bps
        import bluesky.preprocessors as bpp

        @bpp.run_decorator()
        def failing_plan(points: int = 2):
            for i in range(points):
                yield from bps.trigger_and_read([det1])
            raise ValueError("boom after the readings")
    """),
    )
    assert done["success"], done
    out = run_plan(sim, "failing_plan", scan_id=77)
    fin = finished(out)
    assert fin["exit_status"] == "failed"
    assert fin["msg"] == "ValueError: boom after the readings"
    assert "Traceback (most recent call last)" in fin["traceback"] and "failing_plan" in fin["traceback"]
    assert fin["scan_ids"] == [77]
    assert len(docs(out, "event")) == 2
    closed = next(m for m in out if m["type"] == "run_closed")
    assert closed["exit_status"] == "fail"
    assert finished(run_plan(sim, "count", ["det1"]))["exit_status"] == "completed"


@needs_sim
def test_documents_are_made_json_safe(sim):
    _, done = run_task(
        sim,
        script_msg("""
        import numpy as np
        from ophyd import Signal

        nan_signal = Signal(name="nan_signal", value=float("nan"))
        array_signal = Signal(name="array_signal", value=np.array([1.5, np.inf, -np.inf, 2.0]))
        int_signal = Signal(name="int_signal", value=np.int64(7))
    """),
    )
    assert done["success"], done
    out = run_plan(sim, "count", ["nan_signal", "array_signal", "int_signal"], num=1)
    assert finished(out)["exit_status"] == "completed", finished(out)
    assert not sim.bad_lines
    data = docs(out, "event")[0]["doc"]["data"]
    assert data == {"nan_signal": None, "array_signal": [1.5, None, None, 2.0], "int_signal": 7}
    keys = docs(out, "descriptor")[0]["doc"]["data_keys"]
    assert keys["array_signal"]["shape"] == [4]


@needs_sim
def test_progress_bars_plan(sim):
    params = [p["name"] for p in sim.ready["plans"]["plan_test_progress_bars"]["parameters"]]
    assert params == ["n_progress_bars"]
    fin = finished(sim.request(run_msg("plan_test_progress_bars", n_progress_bars=2), is_type("finished")))
    assert fin["exit_status"] == "completed", fin
    assert "TEST COMPLETED" in sim.stderr


@needs_sim
def test_print_in_a_plan_goes_to_stderr(sim):
    _, done = run_task(
        sim,
        script_msg("""
        import os
        import bluesky.plan_stubs as bps

        def noisy_plan():
            print("PLAN-PRINT-MARKER")
            os.write(1, b"C-LEVEL-MARKER\\n")
            yield from bps.null()
    """),
    )
    assert done["success"], done
    assert finished(run_plan(sim, "noisy_plan"))["exit_status"] == "completed"
    deadline = time.monotonic() + 10
    while "C-LEVEL-MARKER" not in sim.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "PLAN-PRINT-MARKER" in sim.stderr and "C-LEVEL-MARKER" in sim.stderr
    assert not sim.bad_lines
    assert not any("PLAN-PRINT-MARKER" in json.dumps(m) or "C-LEVEL-MARKER" in json.dumps(m) for m in sim.history)


@needs_sim
def test_datasets_and_applets_from_plan_code(sim):
    _, done = run_task(
        sim,
        script_msg("""
        import numpy as np
        import bluesky.plan_stubs as bps
        from hutch_worker.helpers import set_dataset, set_applet

        def publishing_plan():
            yield from bps.null()
            set_dataset("peak.x", np.float64(1.5), persist=True, unit="mm")
            set_dataset("trace", np.array([1.0, np.nan, np.inf]))
            set_applet("my plot", "line", {"x": "motor", "y": ["det1"]})
    """),
    )
    assert done["success"], done
    out = run_plan(sim, "publishing_plan")
    assert finished(out)["exit_status"] == "completed"
    datasets = [m for m in out if m["type"] == "dataset"]
    assert datasets == [
        {"type": "dataset", "key": "peak.x", "value": 1.5, "persist": True, "unit": "mm"},
        {"type": "dataset", "key": "trace", "value": [1.0, None, None], "persist": False},
    ]
    applets = [m for m in out if m["type"] == "applet"]
    assert applets == [
        {
            "type": "applet",
            "group": "experiment",
            "name": "my plot",
            "kind": "line",
            "spec": {"x": "motor", "y": ["det1"]},
            "plan": "publishing_plan",
        }
    ]


# ---------------------------------------------------------------------------------- pausing


def _long_count(sim, **kw):
    """Start a long count and wait for its third event; returns the messages so far."""
    sim.send(run_msg("count", ["det1"], num=30, delay=0.1, **kw))
    return sim.read_until(lambda m: m.get("type") == "document" and m["name"] == "event" and m["doc"]["seq_num"] == 3)


@needs_sim
@pytest.mark.parametrize(
    "option, command, exit_status, run_exit",
    [
        ("deferred", "resume", "completed", "success"),
        ("immediate", "resume", "completed", "success"),
        ("deferred", "stop", "stopped", "success"),
        ("immediate", "abort", "aborted", "abort"),
        ("immediate", "halt", "halted", "abort"),
        ("deferred", "abort", "aborted", "abort"),
    ],
)
def test_pause_then(sim, option, command, exit_status, run_exit):
    before = _long_count(sim)
    paused = sim.request({"type": "pause", "option": option}, is_type("paused", "finished"))
    assert paused[-1]["type"] == "paused", "the plan ended instead of pausing"
    events_at_pause = len(docs(before + paused, "event"))
    assert events_at_pause < 30
    out = sim.request({"type": command}, is_type("finished"))
    fin = finished(out)
    assert fin["exit_status"] == exit_status, fin
    everything = before + paused + out
    events = docs(everything, "event")
    stop = docs(everything, "stop")
    assert len(stop) == 1
    assert stop[0]["doc"]["exit_status"] == run_exit
    # after an immediate pause bluesky repeats the interrupted point (same seq_num again)
    assert stop[0]["doc"]["num_events"].get("primary", 0) == max(e["doc"]["seq_num"] for e in events)
    if command == "resume":
        assert len(events) >= 30 and events[-1]["doc"]["seq_num"] == 30
    else:
        assert len(events) == events_at_pause
    closed = next(m for m in out if m["type"] == "run_closed")
    assert closed["exit_status"] == run_exit
    assert fin["scan_ids"] == [docs(everything, "start")[0]["doc"]["scan_id"]]


@needs_sim
def test_pause_sent_with_run_is_not_lost(sim):
    """A pause arriving before the RunEngine has started the plan pauses it once it runs."""
    sim.send(run_msg("count", ["det1"], num=30, delay=0.1))
    out = sim.request({"type": "pause", "option": "immediate"}, is_type("paused", "finished"))
    assert out[-1]["type"] == "paused"
    assert len(docs(out, "event")) < 30
    assert finished(sim.request({"type": "abort"}, is_type("finished")))["exit_status"] == "aborted"


@needs_sim
def test_commands_when_not_paused_are_ignored(sim):
    out = sim.request({"type": "resume"}, is_type("log"))
    assert "ignored" in out[-1]["msg"]
    out = sim.request({"type": "pause", "option": "deferred"}, is_type("log"))
    assert "ignored" in out[-1]["msg"]
    assert finished(run_plan(sim, "count", ["det1"]))["exit_status"] == "completed"


# ------------------------------------------------------------------------------------ tasks


@needs_sim
def test_script_defining_a_plan_updates_the_catalog(sim):
    out, done = run_task(
        sim,
        script_msg("""
        from bluesky.plans import count

        def hello_plan(n: int = 2):
            \"\"\"Count det1 n times.\"\"\"
            yield from count([det1], num=n)
    """),
    )
    assert done["success"] and done["msg"] == "" and done["return_value"] is None
    catalog = [m for m in out if m["type"] == "catalog"]
    assert len(catalog) == 1 and out.index(catalog[0]) < out.index(done)
    assert "hello_plan" in catalog[0]["plans"] and "det1" in catalog[0]["devices"]
    out = run_plan(sim, "hello_plan", n=3)
    assert finished(out)["exit_status"] == "completed"
    assert len(docs(out, "event")) == 3


@needs_sim
def test_script_that_raises(sim):
    out, done = run_task(sim, script_msg("x = 1\nraise KeyError('nope')\n"))
    assert done["success"] is False
    assert "KeyError" in done["msg"] and "\n" not in done["msg"]
    assert "Traceback" in done["traceback"]
    assert not [m for m in out if m["type"] == "catalog"]


@needs_sim
def test_update_task_sends_catalog(sim):
    out, done = run_task(sim, task_msg("update"))
    assert done["success"], done
    assert [m["type"] for m in out if m["type"] in ("catalog", "task_finished")] == ["catalog", "task_finished"]
    assert "count" in out[[m["type"] for m in out].index("catalog")]["plans"]


@needs_sim
def test_function_tasks(sim):
    _, done = run_task(sim, function_msg("function_sleep", 0.01))
    assert done["success"] and done["return_value"] == {"success": True, "time": 0.01}, done
    _, done = run_task(
        sim,
        script_msg(
            """
        import numpy as np

        def numpy_result():
            return {"a": np.arange(3), "b": np.float32(0.5), "c": (1, float("nan")), 4: "four"}

        def opaque_result():
            return object()
    """,
            update_lists=False,
        ),
    )
    assert done["success"], done
    _, done = run_task(sim, function_msg("numpy_result"))
    assert done["return_value"] == {"a": [0, 1, 2], "b": 0.5, "c": [1, None], "4": "four"}, done
    _, done = run_task(sim, function_msg("opaque_result"))
    assert done["success"] is False and done["return_value"] is None
    assert "Task result can not be serialized as JSON" in done["msg"]
    _, done = run_task(sim, function_msg("no_such_function"))
    assert done["success"] is False and "no_such_function" in done["msg"]
    _, done = run_task(sim, function_msg("count", ["det1"]))  # a plan is not a function
    assert done["success"] is False and "generator function" in done["msg"]
    _, done = run_task(sim, function_msg("pop_buffer_element"))  # raises IndexError
    assert done["success"] is False and "IndexError" in done["msg"] and "Traceback" in done["traceback"]


@needs_sim
def test_background_script_while_a_plan_runs(sim):
    sim.send(run_msg("count", ["det1"], num=20, delay=0.05))
    sim.read_until(lambda m: m.get("type") == "document" and m["name"] == "event")
    task = script_msg("background_marker = 'set while a plan ran'\n", update_lists=False, background=True)
    out = sim.request(task, is_type("task_finished", "finished"))
    assert out[-1]["type"] == "task_finished" and out[-1]["success"], out[-1]
    assert finished(sim.read_until(is_type("finished")))["exit_status"] == "completed"
    _, done = run_task(sim, script_msg("def read_marker():\n    return background_marker\n", update_lists=False))
    _, done = run_task(sim, function_msg("read_marker"))
    assert done["return_value"] == "set while a plan ran"


# --------------------------------------------------------------------- separate processes


def _first(w, timeout=120):
    return w.read_until(is_type("ready", "open_failed"), timeout=timeout)[-1]


@needs_sim
def test_profile_that_raises_reports_open_failed(tmp_path):
    (tmp_path / "00-start.py").write_text("x = 1\ny = 2\nz = x / 0\n")
    (tmp_path / "10-never.py").write_text("raise RuntimeError('not reached')\n")
    w = WorkerProcess("--startup-dir", str(tmp_path))
    try:
        msg = _first(w)
        assert msg["type"] == "open_failed"
        assert msg["msg"].startswith("the startup profile raised ZeroDivisionError: division by zero")
        assert f"{tmp_path / '00-start.py'}, line 3" in msg["msg"]
        assert "\n" not in msg["msg"]
        assert "Traceback" in msg["traceback"] and "ZeroDivisionError" in msg["traceback"]
        assert w.wait_exit() == 1
        assert "ZeroDivisionError" in w.stderr
    finally:
        w.kill()


@needs_sim
def test_profile_with_syntax_error(tmp_path):
    (tmp_path / "00-bad.py").write_text("a = 1\nb = (\n")
    w = WorkerProcess("--startup-dir", str(tmp_path))
    try:
        msg = _first(w)
        assert msg["type"] == "open_failed"
        assert "SyntaxError" in msg["msg"] and "00-bad.py" in msg["msg"]
        assert w.wait_exit() == 1
    finally:
        w.kill()


@needs_sim
def test_startup_module(tmp_path):
    (tmp_path / "hutch_good_profile.py").write_text("from ophyd.sim import det1\nfrom bluesky.plans import count\n")
    (tmp_path / "hutch_bad_profile.py").write_text("import os\nos.listdir('/nonexistent/dir')\n")
    env = {"PYTHONPATH": f"{PYTHON_DIR}{os.pathsep}{tmp_path}"}
    w = WorkerProcess("--startup-module", "hutch_bad_profile", env=env)
    try:
        msg = _first(w)
        assert msg["type"] == "open_failed"
        assert msg["msg"].startswith("the startup profile raised FileNotFoundError: ")
        assert msg["msg"].endswith(f"(file {tmp_path / 'hutch_bad_profile.py'}, line 2)")
        assert w.wait_exit() == 1
    finally:
        w.kill()
    w = WorkerProcess("--startup-module", "hutch_good_profile", env=env)
    try:
        ready = _first(w)
        assert ready["type"] == "ready" and "count" in ready["plans"] and "det1" in ready["devices"]
        w.send({"type": "close"})
        assert w.wait_exit() == 0
    finally:
        w.kill()


@needs_sim
@pytest.mark.parametrize(
    "args, words",
    [
        (["--startup-dir", "/nonexistent/profile"], "the startup directory /nonexistent/profile does not exist"),
        (["--startup-script", "/nonexistent/start.py"], "the startup script /nonexistent/start.py does not exist"),
        (["--startup-module", "no_such_module_xyz"], "the startup module no_such_module_xyz was not found"),
    ],
)
def test_missing_startup_code(args, words):
    w = WorkerProcess(*args)
    try:
        msg = _first(w)
        assert msg["type"] == "open_failed" and words in msg["msg"], msg
        assert w.wait_exit() == 1
    finally:
        w.kill()


def test_python_without_bluesky():
    # -S: no site-packages, so nothing but the standard library (and PYTHONPATH) is importable
    w = WorkerProcess("--startup-dir", "/nonexistent", python_flags=("-u", "-S"))
    try:
        msg = _first(w)
        assert msg["type"] == "open_failed"
        assert msg["msg"].startswith(f"the Python at {sys.executable} cannot import bluesky: ")
        assert msg["msg"].endswith("install bluesky, ophyd and bluesky-queueserver into it")
        assert "ModuleNotFoundError" in msg["traceback"]
        assert w.wait_exit() == 1
    finally:
        w.kill()


def test_venv_without_bluesky(tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    w = WorkerProcess("--startup-dir", "/nonexistent", python=str(python))
    try:
        msg = _first(w)
        assert msg["type"] == "open_failed"
        assert msg["msg"].startswith(f"the Python at {python} cannot import bluesky: ModuleNotFoundError: ")
        assert w.wait_exit() == 1
        assert "ModuleNotFoundError" in w.stderr
    finally:
        w.kill()


@needs_sim
def test_startup_script_without_run_engine_and_stdin_eof(tmp_path):
    script = tmp_path / "start.py"
    script.write_text("from ophyd.sim import det1, motor\nfrom bluesky.plans import count\n")
    w = WorkerProcess("--startup-script", str(script))
    try:
        assert _first(w)["type"] == "ready"
        assert any("defines no RunEngine" in m.get("msg", "") for m in w.history if m["type"] == "log")
        assert finished(run_plan(w, "count", ["det1"], num=2, scan_id=5))["scan_ids"] == [5]
        w.proc.stdin.close()  # the manager went away without `close`
        assert w.wait_exit() == 3
    finally:
        w.kill()


@needs_sim
def test_script_replacing_the_run_engine(tmp_path):
    script = tmp_path / "start.py"
    script.write_text(
        "from ophyd.sim import det1\nfrom bluesky import RunEngine\nfrom bluesky.plans import count\n"
        "RE = RunEngine({'which': 'first'})\n"
    )
    w = WorkerProcess("--startup-script", str(script))
    try:
        assert _first(w)["type"] == "ready"
        _, done = run_task(w, script_msg("RE = RunEngine({'which': 'second'})\n", update_re=True))
        assert done["success"], done
        out = run_plan(w, "count", ["det1"])
        assert docs(out, "start")[0]["doc"]["which"] == "second"
        assert len(docs(out, "start")) == 1  # subscribed once, to the new RunEngine only
        w.send({"type": "close"})
        assert w.wait_exit() == 0
    finally:
        w.kill()


@needs_sim
def test_ophyd_async_stream_documents(tmp_path):
    pytest.importorskip("ophyd_async")
    pytest.importorskip("h5py")
    script = tmp_path / "start.py"
    script.write_text(
        textwrap.dedent(f"""
        from pathlib import Path
        from bluesky import RunEngine
        from bluesky.plans import count
        from ophyd_async import sim
        from ophyd_async.core import StaticPathProvider, UUIDFilenameProvider, init_devices

        RE = RunEngine({{}})
        pattern_generator = sim.PatternGenerator()
        path_provider = StaticPathProvider(UUIDFilenameProvider(), Path({str(tmp_path)!r}))
        with init_devices():
            bdet = sim.SimBlobDetector(path_provider, pattern_generator)
    """)
    )
    w = WorkerProcess("--startup-script", str(script))
    try:
        first = _first(w)
        assert first["type"] == "ready", first
        assert "bdet" in first["devices"]
        out = run_plan(w, "count", ["bdet"], num=2)
        assert finished(out)["exit_status"] == "completed", finished(out)
        names = [m["name"] for m in docs(out)]
        assert "stream_resource" in names and "stream_datum" in names, names
        assert names[0] == "start" and names[-1] == "stop"
        w.send({"type": "close"})
        assert w.wait_exit() == 0
    finally:
        w.kill()


# ----------------------------------------------------------------------------------- timings


@needs_sim
def test_timings(record_property):
    """Start-up to ``ready``, and the stop → next start gap of back-to-back plans."""
    w = WorkerProcess("--startup-dir", str(SIM_PROFILE))
    try:
        t_ready = w.read_until(is_type("ready"), timed=True, timeout=120)[-1][0]
        startup = t_ready - w.started
        gaps, plan_times = [], []
        last_stop = None
        for i in range(100):
            t_sent = time.monotonic()
            w.send(run_msg("count", ["det1"], num=1, scan_id=1000 + i))
            got = w.read_until(is_type("finished"), timed=True)
            t_start = next(t for t, m in got if m["type"] == "document" and m["name"] == "start")
            if last_stop is not None:
                gaps.append(t_start - last_stop)
            last_stop = next(t for t, m in got if m["type"] == "document" and m["name"] == "stop")
            plan_times.append(got[-1][0] - t_sent)
            assert got[-1][1]["exit_status"] == "completed"
        gaps.sort()
        median, p99 = statistics.median(gaps), gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))]
        report = (
            f"TIMING start-up to ready: {startup:.3f} s; stop→next start over {len(gaps)} gaps: "
            f"median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {gaps[-1] * 1000:.1f} ms; "
            f"run→finished median {statistics.median(plan_times) * 1000:.1f} ms"
        )
        print(report)
        record_property("timings", report)
        assert median < 1.0
        w.send({"type": "close"})
        assert w.wait_exit() == 0
    finally:
        w.kill()
