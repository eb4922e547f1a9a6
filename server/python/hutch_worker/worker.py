"""The worker process: start-up, the stdin thread, and the main thread's loop.

Threads:

* **main** — opens the environment, then executes what the stdin thread hands it, one at a
  time: plans (see :mod:`.runner`), foreground tasks (see :mod:`.tasks`), and ``close``.
* **stdin** — reads the manager's messages and acts on control messages at once: ``pause``
  (even mid-plan), ``resume``/``stop``/``abort``/``halt`` (to the paused plan), background tasks
  (their own thread). End of input without ``close`` means the manager is gone: exit now (3).
* **writer** — see :mod:`.channel`.
* the RunEngine's event-loop thread, which runs plan code and calls the document callback.

Exit status: 0 after ``close``; 1 when the environment cannot be opened (after
``open_failed``); 3 when the manager is gone.
"""

import json
import os
import queue
import sys
import threading
import traceback

from . import ENVIRONMENT, PROTOCOL
from .channel import EXIT_MANAGER_GONE, Channel, read_messages
from .cli import parse_args
from .startup import OpenFailed, check_imports, find_run_engine, load_profile, setup_logging

__all__ = ["Worker", "main"]

EXIT_OK, EXIT_OPEN_FAILED = 0, 1

#: After ``close``, exit is forced if interpreter shutdown (atexit, threads) takes longer (s).
_EXIT_GRACE = 5.0


class Worker:
    """The worker's state, shared by the runner and the task runner."""

    def __init__(self, channel, options):
        self.channel = channel
        self.options = options
        self.nspace = None
        self.re = None
        self.catalog = None
        self.control = None
        self.forwarder = None
        self.plans = None  # runner.PlanRunner
        self.tasks = None  # tasks.TaskRunner
        self.current_item_name = ""  # the running plan (or foreground function), for set_applet
        self._subscription = None
        self._inbox_lock = threading.Lock()
        self._opened = False
        self._early = []  # messages that arrived before the environment was open
        self._jobs = queue.SimpleQueue()  # for the main thread: (job, msg), job = run/task/close

    def log(self, msg):
        """A console line (the manager shows it in order with the documents)."""
        self.channel.send({"type": "log", "msg": str(msg)})

    # ------------------------------------------------------------------------------- start-up

    def open(self):
        """Load everything and send ``ready``; raises OpenFailed."""
        check_imports()
        setup_logging()
        from . import helpers
        from .catalog import Catalog
        from .control import PlanControl
        from .runner import DocumentForwarder, PlanRunner
        from .tasks import TaskRunner

        self.nspace = load_profile(self.options)
        self.forwarder = DocumentForwarder(self.channel)
        self.control = PlanControl(self.log)
        self.use_run_engine(find_run_engine(self.nspace, self.log))
        self.catalog = Catalog(self.nspace)
        try:
            self.catalog.refresh()
        except BaseException as e:
            raise OpenFailed(
                f"the plans and devices of the startup code cannot be listed: {type(e).__name__}: {e}",
                traceback.format_exc(),
            ) from e
        self.plans = PlanRunner(self)
        self.tasks = TaskRunner(self)
        helpers.attach(self.channel.send, lambda: self.current_item_name, self.options.assets)
        ready = {"type": "ready", "protocol": PROTOCOL, "environment": ENVIRONMENT}
        ready.update(self.catalog.message("ready"))
        self.channel.send(ready)
        with self._inbox_lock:
            self._opened = True
            early, self._early = self._early, []
        for msg in early:
            self._dispatch(msg)

    def use_run_engine(self, re):
        """Make ``re`` the RunEngine plans run in, with the document callback on it."""
        if self.re is not None and self._subscription is not None:
            try:
                self.re.unsubscribe(self._subscription)
            except Exception:
                pass
        self.re = re
        self._subscription = re.subscribe(self.forwarder)

    # --------------------------------------------------------------------------- stdin thread

    def read_stdin(self, fd):
        """Runs from the start, so that a manager that goes away while the profile loads is
        noticed at once; messages before ``ready`` wait until the environment is open."""
        for line in read_messages(fd):
            try:
                msg = json.loads(line)
                if not isinstance(msg, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                self.log(f"worker: unreadable message ignored: {e}: {line[:200]!r}")
                continue
            if msg.get("type") == "close":
                # Sent only when idle; what follows (end of input, as the manager lets go) is
                # not "the manager is gone".
                self._jobs.put(("close", msg))
                return
            try:
                with self._inbox_lock:
                    if not self._opened:
                        self._early.append(msg)
                        continue
                self._dispatch(msg)
            except Exception as e:  # a bug here must not end the reader
                self.log(f"worker: message {msg.get('type')!r} failed: {type(e).__name__}: {e}")
        # End of input without `close`: nobody is listening. Do not run plans nobody records.
        os._exit(EXIT_MANAGER_GONE)

    def _dispatch(self, msg):
        kind = msg.get("type")
        if kind == "run":
            # Here, not in the plan thread: a pause sent right behind `run` must find the plan.
            self.control.begin(self.re)
            self._jobs.put(("run", msg))
        elif kind == "pause":
            self.control.request_pause(msg.get("option", "deferred"))
        elif kind in ("resume", "stop", "abort", "halt"):
            self.control.command(kind)
        elif kind in ("script", "function", "update"):
            if msg.get("background"):
                self.tasks.submit(msg)
            else:
                self._jobs.put(("task", msg))
        else:
            self.log(f"worker: unknown message type {kind!r} ignored")

    # ---------------------------------------------------------------------------- main thread

    def serve(self):
        """Execute plans and foreground tasks until ``close``."""
        while True:
            job, msg = self._jobs.get()
            if job == "close":
                return
            try:
                if job == "run":
                    self.plans.execute(msg.get("item") or {}, msg.get("scan_id"))
                else:
                    self.tasks.submit(msg)
            except BaseException as e:  # never leave the manager waiting for `finished`
                self.log(f"worker: {job} failed unexpectedly: {type(e).__name__}: {e}")
                traceback.print_exc()
                if job == "run":
                    self.channel.send(
                        {
                            "type": "finished",
                            "exit_status": "failed",
                            "msg": f"{type(e).__name__}: {e}",
                            "traceback": traceback.format_exc(),
                            "run_uids": [],
                            "scan_ids": [],
                        }
                    )


def _exit_soon(code):
    """Exit with ``code`` even if interpreter shutdown hangs on a profile's thread."""
    timer = threading.Timer(_EXIT_GRACE, os._exit, args=(code,))
    timer.daemon = True
    timer.start()
    sys.exit(code)


def main(proto_in, proto_out, argv=None):
    options = parse_args(argv)
    channel = Channel(proto_out)
    worker = Worker(channel, options)
    reader = threading.Thread(target=worker.read_stdin, args=(proto_in,), name="hutch-stdin", daemon=True)
    reader.start()
    try:
        worker.open()
    except OpenFailed as e:
        if e.tb:
            print(e.tb, file=sys.stderr)
        print(f"hutch worker: {e.msg}", file=sys.stderr)
        channel.send({"type": "open_failed", "msg": e.msg, "traceback": e.tb})
        channel.drain()
        os._exit(EXIT_OPEN_FAILED)  # the profile may have started threads that would hold exit
    except BaseException as e:
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        channel.send(
            {"type": "open_failed", "msg": f"the worker failed to start: {type(e).__name__}: {e}", "traceback": tb}
        )
        channel.drain()
        os._exit(EXIT_OPEN_FAILED)

    worker.serve()
    worker.log("Run Engine environment was closed successfully")  # qserver's last line
    channel.drain()
    _exit_soon(EXIT_OK)
