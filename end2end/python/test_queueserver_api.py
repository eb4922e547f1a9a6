"""The unmodified bluesky-queueserver-api HTTP client drives hutch end to end."""
from bluesky_queueserver_api import BInst, BPlan
from bluesky_queueserver_api.http import REManagerAPI

from conftest import KEY


def client(url: str) -> REManagerAPI:
    rm = REManagerAPI(http_server_uri=url, timeout=10)
    rm.set_authorization_key(api_key=KEY)
    return rm


def test_open_queue_run_history_pause_resume_close(any_hutch):
    RM = client(any_hutch)
    try:
        status = RM.status(reload=True)
        assert status["manager_state"] == "idle"
        assert not status["worker_environment_exists"]

        RM.environment_open()
        RM.wait_for_idle(timeout=30)
        assert RM.status(reload=True)["worker_environment_exists"]

        first = RM.item_add(BPlan("count", ["det1", "det2"], num=3))["item"]["item_uid"]
        RM.item_add(BPlan("scan", ["det"], "motor", -1, 1, 5))
        RM.item_add(BInst("queue_stop"))
        RM.item_add(BPlan("count", ["det1"], num=1))
        queue = RM.queue_get()
        assert [i["name"] for i in queue["items"]] == ["count", "scan", "queue_stop", "count"]

        RM.queue_start()
        RM.wait_for_idle(timeout=60)
        history = RM.history_get()["items"]
        assert [h["name"] for h in history] == ["count", "scan"]
        assert history[0]["item_uid"] == first
        assert all(h["result"]["exit_status"] == "completed" for h in history)
        assert len(RM.queue_get()["items"]) == 1, "the queue stopped at queue_stop"

        # A long plan, paused and resumed.
        RM.queue_clear()
        RM.item_add(BPlan("count", ["det1"], num=100, delay=0.05))
        RM.queue_start()
        RM.wait_for_condition(condition=lambda s: s["re_state"] == "running", timeout=20)
        RM.re_pause(option="deferred")
        RM.wait_for_idle_or_paused(timeout=20)
        assert RM.status(reload=True)["manager_state"] == "paused"
        RM.re_resume()
        RM.wait_for_idle(timeout=60)
        last = RM.history_get()["items"][-1]
        assert last["kwargs"] == {"num": 100, "delay": 0.05}
        assert last["result"]["exit_status"] == "completed"

        # Rejections surface as the client's exceptions, as with bluesky-httpserver.
        try:
            RM.item_add(BPlan("no_such_plan"))
            raise AssertionError("an unknown plan was accepted")
        except RM.RequestFailedError as e:
            assert "is not in the list of allowed plans" in str(e)

        RM.environment_close()
        RM.wait_for_idle(timeout=30)
        assert not RM.status(reload=True)["worker_environment_exists"]
    finally:
        RM.close()
