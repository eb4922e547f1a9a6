"""Opening the environment: can this Python run bluesky, and does the profile load?

Every way of failing here ends in one ``open_failed`` message whose ``msg`` is a single line a
person can act on (which Python lacks which package; which profile file raised what, on which
line) and whose ``traceback`` is the full Python traceback. :class:`OpenFailed` carries both.

Loading mirrors bluesky-queueserver's worker: the RE-worker-active flag and the non-IPython mode
are set first (profiles test them with ``is_re_worker_active()``/``is_ipython_mode()``), the
bluesky event loop is made the current one, the code is loaded with
``load_worker_startup_code``, and the namespace is made available to plan code through
``global_user_namespace``.
"""

import os
import sys
import traceback

__all__ = ["OpenFailed", "check_imports", "setup_logging", "load_profile", "find_run_engine"]

#: What the worker needs, in the order they are tried (the first missing one is named).
REQUIRED_MODULES = ("bluesky", "ophyd", "bluesky_queueserver")


class OpenFailed(Exception):
    """The environment cannot be opened. ``msg`` is one line; ``tb`` the full traceback."""

    def __init__(self, msg, tb=""):
        super().__init__(msg)
        self.msg = _one_line(msg)
        self.tb = tb


def _one_line(text):
    return " ".join(str(text).split())


def check_imports():
    """Import bluesky, ophyd and bluesky-queueserver, or raise OpenFailed naming what is missing."""
    for name in REQUIRED_MODULES:
        try:
            __import__(name)
        except BaseException as e:  # ImportError, but also anything a broken install raises
            raise OpenFailed(
                f"the Python at {sys.executable} cannot import {name}: {type(e).__name__}: {e}; "
                "install bluesky, ophyd and bluesky-queueserver into it",
                traceback.format_exc(),
            ) from e


def setup_logging():
    """Console logging as ``start-re-manager`` sets it up by default: bluesky-queueserver's own
    loggers at INFO in its format, everything else at WARNING (all on stderr, the console)."""
    import logging

    from bluesky_queueserver.manager.logging_setup import setup_loggers

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    setup_loggers(log_level=logging.INFO)  # writes to sys.stdout, which is stderr here


def _check_source(opts):
    """Clear messages for a startup source that is not there at all."""
    if opts.startup_dir is not None:
        path = os.path.abspath(os.path.expanduser(opts.startup_dir))
        if not os.path.exists(path):
            raise OpenFailed(f"the startup directory {path} does not exist")
        if not os.path.isdir(path):
            raise OpenFailed(f"the startup directory {path} is not a directory")
        if not any(f.endswith((".py", ".ipy")) for f in os.listdir(path)):
            raise OpenFailed(f"the startup directory {path} holds no startup files (*.py, *.ipy)")
    elif opts.startup_script is not None:
        path = os.path.abspath(os.path.expanduser(opts.startup_script))
        if not os.path.isfile(path):
            raise OpenFailed(f"the startup script {path} does not exist")
    else:
        import importlib.util

        try:
            spec = importlib.util.find_spec(opts.startup_module)
        except (ImportError, ValueError) as e:  # a missing parent package, an empty name
            spec = None
            why = f": {e}"
        else:
            why = ""
        if spec is None:
            raise OpenFailed(
                f"the startup module {opts.startup_module} was not found by the Python at {sys.executable}{why}"
            )


def _profile_root(opts):
    """The directory whose files count as "the profile" when pointing at a line."""
    if opts.startup_dir is not None:
        return os.path.abspath(os.path.expanduser(opts.startup_dir))
    if opts.startup_script is not None:
        return os.path.dirname(os.path.abspath(os.path.expanduser(opts.startup_script)))
    try:
        import importlib.util

        origin = importlib.util.find_spec(opts.startup_module).origin
        return os.path.dirname(origin) if origin else None
    except Exception:
        return None


def _where(exc, root):
    """``(file, line)`` in the profile where ``exc`` came from, or None."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    frames = traceback.extract_tb(exc.__traceback__)
    if root:
        root = os.path.join(root, "")
        inside = [f for f in frames if os.path.abspath(f.filename).startswith(root)]
        if inside:
            return inside[-1].filename, inside[-1].lineno
    if frames:
        return frames[-1].filename, frames[-1].lineno
    return None


def describe_failure(exc, opts):
    """OpenFailed for an exception raised while loading the profile."""
    original = exc.__cause__ if exc.__cause__ is not None else exc  # ScriptLoadingError wraps it
    tb = getattr(exc, "tb", None) or "".join(
        traceback.format_exception(type(original), original, original.__traceback__)
    )
    text = f"{type(original).__name__}: {original}" if str(original) else type(original).__name__
    where = _where(original, _profile_root(opts))
    at = f" (file {where[0]}, line {where[1]})" if where else ""
    return OpenFailed(f"the startup profile raised {text}{at}", tb)


def load_profile(opts):
    """Load the startup code into a new namespace and return it, or raise OpenFailed."""
    import asyncio

    from bluesky.run_engine import get_bluesky_event_loop
    from bluesky_queueserver.manager.profile_ops import load_worker_startup_code
    from bluesky_queueserver.manager.profile_tools import (
        global_user_namespace,
        set_ipython_mode,
        set_re_worker_active,
    )

    _check_source(opts)
    set_re_worker_active()
    set_ipython_mode(False)
    asyncio.set_event_loop(get_bluesky_event_loop() or asyncio.new_event_loop())

    nspace = {}
    try:
        load_worker_startup_code(
            startup_dir=opts.startup_dir,
            startup_module_name=opts.startup_module,
            startup_script_path=opts.startup_script,
            nspace=nspace,
        )
    except BaseException as e:  # SystemExit from a profile is a failure too, not our exit
        raise describe_failure(e, opts) from e
    global_user_namespace.set_user_namespace(user_ns=nspace, use_ipython=False)
    return nspace


def find_run_engine(nspace, log):
    """The profile's ``RE``; when it defines none, a new RunEngine (saved as ``RE``).

    bluesky-queueserver itself would leave the environment without a RunEngine (every plan then
    fails); a bare RunEngine is more useful and is what its simulated profile creates.
    """
    from bluesky import RunEngine

    re = nspace.get("RE")
    if isinstance(re, RunEngine) or (re is not None and callable(getattr(re, "subscribe", None))):
        return re
    log("The startup code defines no RunEngine 'RE'; created RE = RunEngine({})")
    re = RunEngine({})
    nspace["RE"] = re
    return re
