"""Tasks: executing a script, calling a function, re-reading the environment.

These are bluesky-queueserver's ``script_upload``, ``function_execute`` and
``environment_update``, done the way its worker does them:

* a script is executed in the namespace with ``load_script_into_existing_nspace`` (local imports
  relative to the startup code work; unless ``update_re``, an ``RE`` or ``db`` the script
  defines is discarded and the old ones kept);
* with ``update_lists`` the plans and devices are re-read afterwards, and ``catalog`` is sent if
  they changed; ``update`` re-reads them and always sends ``catalog``;
* a function is found with ``prepare_function`` (a callable of the namespace that is not a
  generator function; arguments are passed as they came, qserver converts no names for
  functions) and called;
* a return value that cannot be made JSON fails the task with "Task result can not be
  serialized as JSON: …", as qserver does;
* messages of failed tasks read "Error occurred while executing '<what>': <error>".

Every task ends with exactly one ``task_finished``. A foreground task runs in the main thread
(qserver's default); a background one in its own thread with the RunEngine's loop as the
thread's event loop (as qserver does), even while a plan runs.
"""

import asyncio
import threading
import traceback

from bluesky_queueserver.manager.profile_ops import (
    extract_script_root_path,
    load_script_into_existing_nspace,
    prepare_function,
)

from .jsonsafe import NotJSONable, to_jsonable
from .runner import one_line_error

__all__ = ["TaskRunner"]


class TaskRunner:
    def __init__(self, worker):
        self._w = worker

    def submit(self, msg):
        """Run a task message now (foreground) or in a new thread (``background``)."""
        if msg.get("background"):
            threading.Thread(
                target=self.run, args=(msg, True), name=f"hutch-task-{msg.get('task_uid', '')}", daemon=True
            ).start()
        else:
            self.run(msg, False)

    def run(self, msg, background):
        w = self._w
        kind = msg.get("type")
        task_uid = msg.get("task_uid", "")
        what = {"script": "Load script", "update": "Update environment"}.get(kind)
        if kind == "function":
            what = str((msg.get("item") or {}).get("name", "function"))
        if background and getattr(w.re, "loop", None) is not None:
            asyncio.set_event_loop(w.re.loop)
        return_value, success, err, tb = None, True, "", ""
        try:
            if kind == "script":
                self._script(msg)
            elif kind == "function":
                return_value = self._function(msg, background)
            else:
                self._update()
        except BaseException as e:
            success, return_value = False, None
            cause = e.__cause__ if hasattr(e, "tb") and e.__cause__ is not None else e  # unwrap ScriptLoadingError
            err = f"Error occurred while executing {what!r}: {one_line_error(cause)}"
            tb = getattr(e, "tb", None) or traceback.format_exc()  # ScriptLoadingError has .tb
            w.log(err)
        w.channel.send(
            {
                "type": "task_finished",
                "task_uid": task_uid,
                "success": success,
                "msg": err,
                "traceback": tb,
                "return_value": return_value,
            }
        )

    def _script(self, msg):
        w = self._w
        opts = w.options
        update_re = bool(msg.get("update_re", False))
        load_script_into_existing_nspace(
            script=msg.get("script", ""),
            nspace=w.nspace,
            script_root_path=extract_script_root_path(
                startup_dir=opts.startup_dir,
                startup_module_name=opts.startup_module,
                startup_script_path=opts.startup_script,
            ),
            update_re=update_re,
        )
        if update_re and w.nspace.get("RE") is not None and w.nspace.get("RE") is not w.re:
            w.use_run_engine(w.nspace["RE"])
            w.log("Run Engine instance ('RE') was replaced.")
        if msg.get("update_lists", True):
            w.log("Updating lists of existing and available plans and devices ...")
            if w.catalog.refresh():
                w.channel.send(w.catalog.message("catalog"))
            w.log("The script was successfully loaded into RE environment")
        else:
            w.log("The script was successfully executed in RE environment")

    def _function(self, msg, background):
        w = self._w
        item = dict(msg.get("item") or {})
        item.setdefault("user_group", "primary")
        item["args"] = item.get("args") or []
        item["kwargs"] = item.get("kwargs") or {}
        func = prepare_function(func_info=item, nspace=w.nspace, user_group_permissions=None)
        if background:  # set_applet keeps naming the plan that may be running meanwhile
            value = func["callable"](*func["args"], **func["kwargs"])
        else:
            w.current_item_name = item.get("name", "")
            try:
                value = func["callable"](*func["args"], **func["kwargs"])
            finally:
                w.current_item_name = ""
        try:
            return to_jsonable(value)
        except NotJSONable as e:
            raise ValueError(f"Task result can not be serialized as JSON: {e}") from e

    def _update(self):
        w = self._w
        w.catalog.refresh()
        w.channel.send(w.catalog.message("catalog"))
        w.log("RE environment was successfully updated")
