"""Helpers for plan code: publish datasets and applets to hutch from a plan.

Import them in a startup profile or a plan::

    from hutch_worker.helpers import set_dataset, set_applet

    def my_scan(detectors, motor, start, stop, num):
        uids = yield from scan(detectors, motor, start, stop, num)
        set_dataset("my_scan.last_uid", uids[0] if uids else None, persist=True)
        set_applet(
            "my scan",
            "line",
            {"latest_of_plan": "my_scan", "x": motor.name, "y": [d.name for d in detectors]},
        )

``set_dataset(key, value, persist=False, unit=None)``
    Sets the dataset ``key`` to ``value`` on behalf of the running plan (hutch records it with
    the plan's dispatch as provenance). ``value`` may hold numpy values (sent as numbers and
    lists; NaN and infinities as null). ``persist=True`` keeps it across hutch restarts.
    ``unit`` is an optional unit text. hutch reports a key or value it refuses on its console.

``set_applet(name, kind, spec, group="experiment")``
    Creates or updates the applet ``name`` of ``group`` on behalf of the running plan; ``kind``
    is one of ``line``, ``scatter``, ``image``, ``histogram``, ``value``, ``table``,
    ``markdown`` and ``spec`` its JSON settings. The group's policy decides whether plans may
    do so, and an applet a person edited last is left alone (hutch says so on its console).

Both return at once (the message is queued, never waited for) and may be called from plan
code, callbacks, or functions run as tasks. A value that cannot be made JSON raises
``TypeError``; an unknown ``kind`` raises ``ValueError``.

Outside a hutch worker (plain IPython, a test) they issue a warning and return, so the same
plan code runs anywhere. ``in_hutch_worker()`` tells which; ``assets_dir()`` is the directory
hutch passed with ``--assets`` (None outside a worker or without one).
"""

import warnings

from .jsonsafe import NotJSONable, to_jsonable

__all__ = ["set_dataset", "set_applet", "in_hutch_worker", "assets_dir", "APPLET_KINDS"]

APPLET_KINDS = ("line", "scatter", "image", "histogram", "value", "table", "markdown")

# Set by the worker when it starts (see attach()): where messages go, and who is running.
_send = None
_plan_name = None
_assets = None


def attach(send, plan_name, assets=None):
    """Called by the worker: ``send(msg)`` queues a message, ``plan_name()`` names the plan."""
    global _send, _plan_name, _assets
    _send, _plan_name, _assets = send, plan_name, assets


def in_hutch_worker():
    """True inside a hutch worker process (the helpers then reach hutch)."""
    return _send is not None


def assets_dir():
    """hutch's assets directory (``--assets``), or None."""
    return _assets


def _json(value, what):
    try:
        return to_jsonable(value)
    except NotJSONable as e:
        raise TypeError(f"{what} cannot be sent to hutch: {e}") from None


def _not_attached(what):
    warnings.warn(f"{what}: not running in a hutch worker; nothing sent", stacklevel=3)


def set_dataset(key, value, persist=False, unit=None):
    """Set hutch's dataset ``key`` to ``value`` (see the module docstring)."""
    msg = {"type": "dataset", "key": str(key), "value": _json(value, f"dataset {key!r}"), "persist": bool(persist)}
    if unit is not None:
        msg["unit"] = str(unit)
    if _send is None:
        return _not_attached(f"set_dataset({key!r})")
    _send(msg)


def set_applet(name, kind, spec, group="experiment"):
    """Create or update hutch's applet ``name`` in ``group`` (see the module docstring)."""
    if kind not in APPLET_KINDS:
        raise ValueError(f"applet kind must be one of {', '.join(APPLET_KINDS)}; got {kind!r}")
    msg = {
        "type": "applet",
        "group": str(group),
        "name": str(name),
        "kind": kind,
        "spec": _json(spec, f"applet {name!r} spec"),
        "plan": "",
    }
    if _send is None:
        return _not_attached(f"set_applet({name!r})")
    msg["plan"] = _plan_name() if _plan_name is not None else ""
    _send(msg)
