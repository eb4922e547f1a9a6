"""hutch driving a real bluesky RunEngine: bluesky-queueserver's own simulated profile
(profile_collection_sim) opened with `--environment bluesky`, driven by the unmodified
bluesky-queueserver-api client, plus the ways an environment can fail."""
import os
import signal
import textwrap

import httpx
import pytest
from bluesky_queueserver_api import BFunc, BPlan
from bluesky_queueserver_api.http import REManagerAPI

from conftest import KEY, bluesky_args, start_hutch, stop_hutch

H = {"Authorization": f"ApiKey {KEY}"}


def client(url: str) -> REManagerAPI:
    rm = REManagerAPI(http_server_uri=url, timeout=20)
    rm.set_authorization_key(api_key=KEY)
    return rm


@pytest.fixture()
def bluesky():
    url = start_hutch(*bluesky_args())
    RM = client(url)
    yield url, RM
    RM.close()
    stop_hutch(url)


def console(url: str) -> str:
    return httpx.request("GET", f"{url}/api/console_output", headers=H, json={"nlines": 2000}).json()["text"]


def open_env(RM: REManagerAPI) -> None:
    RM.environment_open()
    RM.wait_for_idle(timeout=60)
    assert RM.status(reload=True)["worker_environment_exists"]


def test_catalogue_comes_from_the_profile(bluesky):
    url, RM = bluesky
    open_env(RM)
    plans = RM.plans_allowed()["plans_allowed"]
    devices = RM.devices_allowed()["devices_allowed"]
    # Plans and devices that hutch's own simulated environment does not have.
    assert "plan_test_progress_bars" in plans and "count" in plans
    assert "det1" in devices and "motor" in devices and "sim_bundle_A" in devices
    count = plans["count"]
    assert [p["name"] for p in count["parameters"]][:2] == ["detectors", "num"]
    # The same catalogue is kept for the next start, before the environment opens.
    stop_hutch(url)
    again = start_hutch(*bluesky_args(), data=url.data)
    try:
        r = httpx.request("GET", f"{again}/api/plans/allowed", headers=H, json={}).json()
        assert "plan_test_progress_bars" in r["plans_allowed"]
    finally:
        stop_hutch(again)


def test_workflow_with_documents_and_plot(bluesky):
    url, RM = bluesky
    open_env(RM)
    RM.item_add(BPlan("count", ["det1", "det2"], num=3))
    RM.item_add(BPlan("scan", ["det1"], "motor", -1, 1, 5))
    RM.item_add(BPlan("grid_scan", ["det4"], "motor1", -1, 1, 3, "motor2", -1, 1, 2))
    RM.item_add(BPlan("plan_test_progress_bars", 1))
    RM.queue_start()
    RM.wait_for_idle(timeout=120)
    history = RM.history_get()["items"]
    assert [h["name"] for h in history] == ["count", "scan", "grid_scan", "plan_test_progress_bars"]
    assert all(h["result"]["exit_status"] == "completed" for h in history), history
    scan_uid = history[1]["result"]["run_uids"][0]
    # The RunEngine's documents are stored: the scan's five events, readable as columns.
    data = httpx.get(f"{url}/api/runs/{scan_uid}/streams/primary/data", headers=H).json()
    assert len(data["data"]["det1"]) == 5, data
    svg = httpx.get(f"{url}/api/runs/{scan_uid}/plot.svg", headers=H)
    assert svg.status_code == 200 and "<svg" in svg.text

    # Pause deferred, resume; pause immediate, abort: back to the front of the queue.
    RM.item_add(BPlan("count", ["det1"], num=40, delay=0.1))
    RM.queue_start()
    RM.wait_for_condition(condition=lambda s: s["re_state"] == "running", timeout=30)
    RM.re_pause(option="deferred")
    RM.wait_for_idle_or_paused(timeout=30)
    assert RM.status(reload=True)["manager_state"] == "paused"
    RM.re_resume()
    RM.wait_for_condition(condition=lambda s: s["re_state"] == "running", timeout=30)
    RM.re_pause(option="immediate")
    RM.wait_for_idle_or_paused(timeout=30)
    assert RM.status(reload=True)["re_state"] == "paused"
    RM.re_abort()
    RM.wait_for_idle(timeout=30)
    last = RM.history_get()["items"][-1]
    assert last["result"]["exit_status"] == "aborted"
    assert RM.queue_get()["items"][0]["name"] == "count", "an aborted plan goes back to the queue"
    RM.queue_clear()

    # Execute at once, outside the queue.
    RM.item_execute(BPlan("count", ["det2"], num=2))
    RM.wait_for_idle(timeout=30)
    assert RM.history_get()["items"][-1]["result"]["exit_status"] == "completed"

    RM.environment_close()
    RM.wait_for_idle(timeout=30)
    assert not RM.status(reload=True)["worker_environment_exists"]


def test_a_plan_that_raises_and_a_script_that_adds_it(bluesky):
    url, RM = bluesky
    open_env(RM)
    script = textwrap.dedent(
        """
        import bluesky.plans as bp

        from hutch_worker.helpers import set_dataset

        def count_then_fail(detectors, num: int = 2):
            yield from bp.count(detectors, num=num)
            set_dataset("sample.holder", "empty", unit="state")
            raise RuntimeError("the sample holder is empty")
        """
    )
    task = RM.script_upload(script)["task_uid"]
    RM.wait_for_completed_task(task, timeout=30)
    result = RM.task_result(task)["result"]
    assert result["success"], result
    assert "count_then_fail" in RM.plans_allowed()["plans_allowed"]
    RM.item_add(BPlan("count_then_fail", ["det1"]))
    RM.item_add(BPlan("count", ["det1"], num=1))
    RM.queue_mode_set(ignore_failures=True)
    RM.queue_start()
    RM.wait_for_idle(timeout=60)
    failed, after = RM.history_get()["items"][-2:]
    assert failed["result"]["exit_status"] == "failed"
    assert "the sample holder is empty" in failed["result"]["msg"]
    assert "RuntimeError" in failed["result"]["traceback"]
    assert len(failed["result"]["run_uids"]) == 1, "its run was recorded"
    assert after["result"]["exit_status"] == "completed", "the environment stayed open"
    # The plan's dataset reached hutch, with the plan's dispatch as its provenance.
    ds = httpx.get(f"{url}/api/datasets/sample.holder", headers=H).json()["dataset"]
    assert ds["value"] == "empty" and ds["unit"] == "state", ds
    assert ds["set_by"].startswith("dispatch:"), ds


def test_function_execute_and_task_result(bluesky):
    url, RM = bluesky
    open_env(RM)
    reply = RM.function_execute(BFunc("function_sleep", 0.2))
    RM.wait_for_completed_task(reply["task_uid"], timeout=30)
    result = RM.task_result(reply["task_uid"])["result"]
    assert result["success"], result
    assert result["return_value"] == {"success": True, "time": 0.2}
    # In the background, while a plan runs.
    RM.item_add(BPlan("count", ["det1"], num=10, delay=0.1))
    RM.queue_start()
    RM.wait_for_condition(condition=lambda s: s["re_state"] == "running", timeout=30)
    bg = RM.function_execute(BFunc("function_sleep", 0.1), run_in_background=True)
    assert bg["success"], bg
    RM.wait_for_completed_task(bg["task_uid"], timeout=30)
    RM.wait_for_idle(timeout=60)
    assert RM.task_result(bg["task_uid"])["result"]["success"]
    # Plan code cannot read hutch's own key: the worker's environment is cleaned of it.
    t = RM.script_upload("import os\ndef secret_seen():\n    return os.environ.get('HUTCH_API_KEY')\n")
    RM.wait_for_completed_task(t["task_uid"], timeout=30)
    seen = RM.function_execute(BFunc("secret_seen"))
    RM.wait_for_completed_task(seen["task_uid"], timeout=30)
    assert RM.task_result(seen["task_uid"])["result"]["return_value"] is None
    # environment/update re-reads the lists.
    upd = RM.environment_update()
    RM.wait_for_completed_task(upd["task_uid"], timeout=30)
    assert RM.task_result(upd["task_uid"])["result"]["success"]


def test_a_worker_killed_mid_plan(bluesky):
    url, RM = bluesky
    open_env(RM)
    RM.item_add(BPlan("count", ["det1"], num=100, delay=0.1))
    RM.queue_start()
    RM.wait_for_condition(condition=lambda s: s["re_state"] == "running", timeout=30)
    pid = RM.status(reload=True)["hutch"]["worker_pid"]
    os.kill(pid, signal.SIGKILL)
    RM.wait_for_condition(condition=lambda s: not s["worker_environment_exists"], timeout=30)
    last = RM.history_get()["items"][-1]
    assert last["result"]["exit_status"] == "failed"
    assert "killed" in last["result"]["msg"], last["result"]
    assert RM.queue_get()["items"][0]["name"] == "count", "the item is back in the queue"
    open_env(RM)  # and the environment opens again


def test_a_profile_that_raises(tmp_path):
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "00-start.py").write_text("import bluesky\nmotor_offset = 1 / 0\n")
    url = start_hutch(*bluesky_args(profile=str(profile)))
    try:
        r = httpx.post(f"{url}/api/environment/open", headers=H, json={}, timeout=30).json()
        assert r["success"] is False, r
        assert "ZeroDivisionError" in r["msg"] and "00-start.py" in r["msg"], r
        assert "\n" not in r["msg"], "one line"
        text = console(url)
        assert "Traceback" in text and "motor_offset = 1 / 0" in text, text[-2000:]
        status = httpx.get(f"{url}/api/status", headers=H).json()
        assert status["manager_state"] == "idle" and not status["worker_environment_exists"]
    finally:
        stop_hutch(url)


@pytest.mark.parametrize(
    "python, words",
    [("/nonexistent/bin/python3", "not found"), ("/usr/bin/python3", "bluesky")],
)
def test_a_python_that_cannot_run_the_environment(python, words):
    if python == "/usr/bin/python3" and not os.path.exists(python):
        pytest.skip("no system Python here")
    url = start_hutch(*bluesky_args(python=python))
    try:
        r = httpx.post(f"{url}/api/environment/open", headers=H, json={}, timeout=30).json()
        assert r["success"] is False and words in r["msg"], r
        assert python in r["msg"], r
        assert httpx.get(f"{url}/api/status", headers=H).json()["manager_state"] == "idle"
    finally:
        stop_hutch(url)
