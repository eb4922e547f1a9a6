"""Executing one queue item (a plan) in the RunEngine, start to ``finished``.

The plan runs in the main thread: ``RE(...)``, ``RE.resume()``, ``RE.stop()`` etc. block until
the plan ends or pauses, and the RunEngine's SIGINT handler can only be installed from the main
thread. bluesky-queueserver's worker runs plans in its main thread for the same reasons.

What it mirrors from bluesky-queueserver's worker:

* arguments are converted with ``prepare_plan`` (device and plan names → objects, defaults
  from ``parameter_annotation_decorator``, full parameter validation), so what qserver accepts
  and rejects, this accepts and rejects;
* the item's ``meta`` (a dict, or a list of dicts merged with the first taking precedence) goes
  into the run's metadata as ``RE(plan, **meta)``; hutch adds ``queue_item_uid`` and drops a
  ``scan_id`` key (hutch assigns scan ids: the first run gets the ``scan_id`` of ``run``);
* when ``RE(...)`` raises and the RunEngine is ``paused``, the plan is paused (not failed),
  and the next command is the RunEngine method of the same name;
* the console lines it logs when plans start, pause, continue and end.

Documents: a permanent subscription on the RunEngine sends every document as it is emitted,
followed by ``run_opened``/``run_closed`` for start/stop documents. ``finished`` is sent after
``RE(...)`` returns, i.e. after the plan's last document.
"""

import threading
import traceback

from bluesky_queueserver.manager.profile_ops import prepare_plan

from .jsonsafe import encode_line

__all__ = ["DocumentForwarder", "PlanRunner", "one_line_error"]

#: finished.exit_status for each way a plan can end without an error.
_EXIT_STATUS = {"new": "completed", "resume": "completed", "stop": "stopped", "abort": "aborted", "halt": "halted"}


def one_line_error(exc):
    """``"<ExceptionType>: <text>"`` on one line.

    qserver's validation errors end with a pretty-printed dump of the whole item ("\nPlan:
    {...}"); that stays in the traceback but is cut from the one-line message.
    """
    text = str(exc)
    if "\nPlan: " in text:
        text = text[: text.index("\nPlan: ")]
    text = " ".join(text.split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DocumentForwarder:
    """A RunEngine callback: every document to the manager, plus run_opened/run_closed.

    Called in the RunEngine's event-loop thread; it only encodes and queues.
    """

    def __init__(self, channel):
        self._channel = channel
        self._lock = threading.Lock()
        self._scan_ids = {}  # run uid → scan id, for the stop document
        self.run_uids, self.scan_ids = [], []  # runs opened by the current plan

    def reset(self):
        with self._lock:
            self.run_uids, self.scan_ids = [], []
            self._scan_ids.clear()

    def runs(self):
        with self._lock:
            return list(self.run_uids), list(self.scan_ids)

    def __call__(self, name, doc):
        send = self._channel.send_line
        if name == "stream_resource" and "run_start" not in doc:
            # event-model makes run_start optional here; hutch files stream resources under
            # their run, which is the one open now (runs of one plan do not overlap streams).
            with self._lock:
                current = self.run_uids[-1] if self.run_uids else None
            if current:
                doc = dict(doc, run_start=current)
        send(encode_line({"type": "document", "name": name, "doc": doc}))
        if name == "start":
            uid, scan_id = doc.get("uid"), _int(doc.get("scan_id"))
            with self._lock:
                self._scan_ids[uid] = scan_id
                self.run_uids.append(uid)
                self.scan_ids.append(scan_id)
            send(encode_line({"type": "run_opened", "uid": uid, "scan_id": scan_id}))
        elif name == "stop":
            uid = doc.get("run_start")
            with self._lock:
                scan_id = self._scan_ids.pop(uid, 0)
            send(
                encode_line(
                    {
                        "type": "run_closed",
                        "uid": uid,
                        "scan_id": scan_id,
                        "exit_status": str(doc.get("exit_status", "")),
                    }
                )
            )


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _merge_meta(meta):
    """The item's metadata as one dict (qserver: a list of dicts, earlier ones win)."""
    if meta is None:
        return {}
    if isinstance(meta, dict):
        return dict(meta)
    if isinstance(meta, (list, tuple)) and all(isinstance(m, dict) for m in meta):
        merged = {}
        for m in reversed(meta):
            merged.update(m)
        return merged
    raise TypeError(f"Plan metadata must be a dictionary or a list of dictionaries: {meta!r}")


class PlanRunner:
    """Runs queue items of type plan; one at a time, in the thread that calls :meth:`execute`."""

    def __init__(self, worker):
        self._w = worker  # RunEngine, namespace, catalog, channel, control, forwarder, log

    def execute(self, item, scan_id):
        """Run ``item`` to its end; sends everything including ``finished``."""
        w = self._w
        name = item.get("name", "")
        w.current_item_name = name  # w.control.begin() was called when `run` arrived
        w.forwarder.reset()
        w.log(f"Starting a plan '{name}'.")
        try:
            status, msg, tb = self._run(item, scan_id)
        finally:
            w.control.end()
            w.current_item_name = ""
        run_uids, scan_ids = w.forwarder.runs()
        if status == "failed":
            w.log(f"The plan failed: {msg}")
        else:
            w.log(f"The plan was exited. Plan state: {status}")
        w.channel.send(
            {
                "type": "finished",
                "exit_status": status,
                "msg": msg,
                "traceback": tb,
                "run_uids": run_uids,
                "scan_ids": scan_ids,
            }
        )

    def _prepare(self, item):
        """``(plan generator, metadata)``; raises if the item cannot be run."""
        w = self._w
        state = _re_state(w.re)
        if state == "panicked":
            raise RuntimeError(
                "Run Engine is in the 'panicked' state. The environment must be closed and "
                "opened again before plans could be executed."
            )
        if state not in ("idle", None):
            raise RuntimeError(f"Run Engine is in {state!r} state. Stop or finish any running plan.")
        plan = dict(item)
        plan["args"] = plan.get("args") or []
        plan["kwargs"] = plan.get("kwargs") or {}
        plan["meta"] = _merge_meta(plan.get("meta"))
        group = plan.get("user_group") or "primary"
        plan["user_group"] = group
        prepared = prepare_plan(plan, **w.catalog.for_prepare_plan(group))
        md = dict(prepared["meta"])
        if "scan_id" in md:  # hutch numbers the runs; metadata must not take that over
            w.log(f"The plan's metadata 'scan_id' ({md.pop('scan_id')!r}) is ignored: hutch assigns scan ids")
        md["queue_item_uid"] = item.get("item_uid", "")
        gen = prepared["callable"](*prepared["args"], **prepared["kwargs"])
        return gen, md

    def _run(self, item, scan_id):
        """``(exit_status, msg, traceback)``."""
        w = self._w
        try:
            gen, md = self._prepare(item)
            _set_next_scan_id(w.re, scan_id, w.log)
        except BaseException as e:
            return "failed", one_line_error(e), traceback.format_exc()
        option = "new"
        while True:
            try:
                if option == "new":
                    w.re(gen, **md)
                else:
                    getattr(w.re, option)()
                return _EXIT_STATUS[option], "", ""
            except BaseException as e:  # KeyboardInterrupt and SystemExit in a plan too
                if _re_state(w.re) != "paused":
                    return "failed", one_line_error(e), traceback.format_exc()
            w.log("The plan is paused ...")
            w.channel.send({"type": "paused"})
            option = w.control.wait_command()
            w.log(f"Run Engine: {option}")


def _re_state(re):
    try:
        return str(re.state)
    except Exception:
        return None


def _set_next_scan_id(re, scan_id, log):
    """Make the plan's first run get ``scan_id`` (the RunEngine adds 1 to ``md['scan_id']``)."""
    if scan_id is None:
        return
    try:
        re.md["scan_id"] = int(scan_id) - 1
    except Exception as e:
        log(f"Could not set the next scan id to {scan_id}: {one_line_error(e)}")
