"""Pause requests and paused-plan commands, between the stdin thread and the plan thread.

The stdin thread acts on ``pause`` at once, even mid-plan. It schedules the RunEngine's own
pause coroutine on the RunEngine's event loop and does not wait for it — bluesky-queueserver
does the same, because ``RE.request_pause`` blocks until the loop answers, and a loop stuck in a
plan would then block the reader too.

A pause can arrive while the RunEngine is not in its ``running`` state although a plan is under
way: just after ``run`` (the plan is being prepared, or ``RE(...)`` has not reached the plan's
first message yet) or just after ``resume``. The pause coroutine would then find nothing to
pause and the request would be lost. So the scheduled coroutine waits, on the loop, until the
RunEngine runs, and gives up if the plan ends or gets paused by something else first (tracked
with a generation counter per plan and a counter of pauses).

``resume``/``stop``/``abort``/``halt`` are only meaningful while the plan is paused. The plan
thread (the main thread, which must make those calls: they run the rest of the plan) waits for
one in :meth:`PlanControl.wait_command`.
"""

import asyncio
import queue
import threading

__all__ = ["PlanControl", "COMMANDS"]

#: Commands for a paused plan, each the name of the RunEngine method that carries it out.
COMMANDS = ("resume", "stop", "abort", "halt")

#: How long a pause waits for the RunEngine to reach ``running`` before it is dropped (s).
_PAUSE_WAIT = 60.0


class PlanControl:
    """What the stdin thread may ask of the plan that runs."""

    def __init__(self, log):
        self._log = log
        self._lock = threading.Lock()
        self._commands = queue.SimpleQueue()
        self._generation = 0
        self._active = False  # a plan was handed over and has not finished
        self._paused = False  # waiting in wait_command
        self._pauses = 0  # how many times the current plan has paused
        self.re = None  # the RunEngine of the current plan

    # ---------------------------------------------------------------- used by the plan thread

    def begin(self, re):
        """A new plan starts: forget everything meant for an earlier one."""
        with self._lock:
            self._generation += 1
            self._active, self._paused, self._pauses = True, False, 0
            self.re = re
            while True:
                try:
                    self._commands.get_nowait()
                except queue.Empty:
                    break

    def end(self):
        with self._lock:
            self._active = self._paused = False

    def wait_command(self):
        """Called when the RunEngine has paused: block until resume/stop/abort/halt arrives."""
        with self._lock:
            self._paused = True
            self._pauses += 1
        cmd = self._commands.get()
        with self._lock:
            self._paused = False
        return cmd

    # ----------------------------------------------------------------- used by the stdin thread

    def command(self, cmd):
        with self._lock:
            if self._paused:
                self._commands.put(cmd)
                return
            state = "no plan is running" if not self._active else "the plan is not paused"
        self._log(f"Run Engine must be in 'paused' state to {cmd}: {state}; '{cmd}' ignored")

    def request_pause(self, option):
        defer = option != "immediate"
        with self._lock:
            if not self._active:
                self._log(f"Pause ({option}) ignored: no plan is running")
                return
            if self._paused:
                self._log(f"Pause ({option}) ignored: the plan is already paused")
                return
            re, generation, pauses = self.re, self._generation, self._pauses
        try:
            future = asyncio.run_coroutine_threadsafe(
                self._pause_when_running(re, defer, generation, pauses), loop=re.loop
            )
        except Exception as e:  # no loop (not a bluesky RunEngine), loop closed
            self._log(f"Pause ({option}) failed: {type(e).__name__}: {e}")
            return
        future.add_done_callback(self._report_pause_error)

    def _current(self, generation, pauses):
        with self._lock:
            return self._active and self._generation == generation and self._pauses == pauses

    async def _pause_when_running(self, re, defer, generation, pauses):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _PAUSE_WAIT
        while self._current(generation, pauses):
            state = str(re.state)
            if state == "running":
                await re._request_pause_coro(defer)
                return
            if state == "panicked" or loop.time() > deadline:
                raise RuntimeError(f"the Run Engine is {state!r}, not 'running'")
            await asyncio.sleep(0.005)

    def _report_pause_error(self, future):
        try:
            e = future.exception()
        except BaseException as e2:  # cancelled
            e = e2
        if e is not None:
            self._log(f"Pause request failed: {type(e).__name__}: {e}")
