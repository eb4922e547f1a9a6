"""Turning documents and values into JSON that hutch accepts.

The protocol is one JSON object per line with ``allow_nan=False``: JSON has no NaN or infinity,
and hutch's parser rejects them. Bluesky documents routinely hold numpy scalars and arrays,
tuples, and NaN readings, so everything sent goes through here:

* numpy arrays and scalars (anything with ``tolist``) become lists and Python numbers;
* NaN, +inf and -inf become ``null``;
* tuples, sets and other iterables of the usual kinds become lists;
* dictionary keys that are not strings become strings (``True`` → ``"true"``, ``None`` →
  ``"null"``, numbers as json writes them, anything else with ``str``);
* bytes become text (UTF-8, undecodable bytes replaced);
* dates and times become ISO 8601 text, paths and enums their text or value.

What is still left (an arbitrary object) is either written as ``str(obj)`` (documents: a
document must never be lost because of one odd value) or refused with :class:`NotJSONable`
(a function's return value: bluesky-queueserver refuses those too, and says so).

Encoding tries ``json.dumps`` first and only walks the structure when that fails, because
almost every document is plain already and the walk costs far more than the attempt.
"""

import datetime
import enum
import json
import math
import os
from collections import deque
from collections.abc import Mapping

__all__ = ["NotJSONable", "to_jsonable", "encode_line"]


class NotJSONable(TypeError):
    """A value that cannot be represented in JSON."""


def _json_key(key):
    """A dictionary key as json.dumps would write it, for any key."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float) and not math.isfinite(key):
        return "null"
    if isinstance(key, (int, float)):
        return json.dumps(key)
    if hasattr(key, "tolist") and not isinstance(key, type):  # a numpy scalar key
        plain = key.tolist()
        return str(key) if isinstance(plain, (list, dict)) else _json_key(plain)
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return str(key)


def _simple(obj):
    """The plain Python equivalent of a value json.dumps does not know, or raise NotJSONable."""
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars, without importing numpy
    if callable(tolist) and not isinstance(obj, type):
        return tolist()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, deque)):
        return list(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, Mapping):
        return dict(obj.items())
    raise NotJSONable(f"{type(obj).__name__} is not JSON serialisable")


def to_jsonable(obj, *, fallback=None, _depth=0):
    """A copy of ``obj`` made only of dict, list, str, int, float (finite), bool and None.

    ``fallback``: a function applied to values that cannot be converted (e.g. ``str``); when
    None, such a value raises :class:`NotJSONable`.
    """
    if _depth > 200:
        raise NotJSONable("the value is nested too deeply (or refers to itself)")
    if obj is None or obj is True or obj is False:
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, int):  # also numpy-free int subclasses (IntEnum, bool handled above)
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {_json_key(k): to_jsonable(v, fallback=fallback, _depth=_depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, fallback=fallback, _depth=_depth + 1) for v in obj]
    try:
        simple = _simple(obj)
    except NotJSONable:
        if fallback is None:
            raise
        return fallback(obj)
    except Exception as e:  # a tolist() or isoformat() that itself failed
        if fallback is None:
            raise NotJSONable(f"{type(obj).__name__} could not be converted: {e}") from e
        return fallback(obj)
    return to_jsonable(simple, fallback=fallback, _depth=_depth + 1)


def _dumps(obj, default):
    return json.dumps(obj, default=default, allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def encode_line(msg, *, fallback=str):
    """``msg`` as one line of compact JSON (UTF-8 bytes, ``\\n``-terminated).

    ``fallback`` as for :func:`to_jsonable` (default ``str``: never fails for documents).
    Raises :class:`NotJSONable` only when ``fallback`` is None and something cannot be converted.
    """
    try:
        text = _dumps(msg, _simple)
    except (ValueError, TypeError, RecursionError):
        # NaN/inf somewhere, a key json refuses (e.g. a tuple), or an unknown object.
        text = _dumps(to_jsonable(msg, fallback=fallback), None)
    # json.dumps escapes control characters, so the text has no raw newline. A lone surrogate
    # (from odd bytes decoded with surrogateescape) is not valid UTF-8 and would make the
    # manager reject the line: it becomes "?".
    return text.encode("utf-8", "replace") + b"\n"
