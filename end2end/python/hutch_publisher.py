"""Publish bluesky documents to a hutch server over HTTP.

One file, standard library only (Python >= 3.8): copy it next to your bluesky startup files and::

    from hutch_publisher import HutchPublisher

    publisher = HutchPublisher("http://hutch-host:60610", "YOUR-API-KEY")
    RE.subscribe(publisher)
    ...
    RE(count([det1, det2], num=5))
    publisher.flush()          # at the end of a script: wait until hutch has stored everything

What it does
------------
``publisher(name, doc)`` is a bluesky callback. It never blocks on the network and never raises:
it serialises the document to JSON right away (numpy arrays and scalars become lists and Python
numbers; NaN and infinity, which JSON cannot carry, become ``null``) and puts it on an in-memory
queue. A background daemon thread sends the queue to ``POST {url}/api/documents`` in batches of
up to ``batch_size`` documents, after at most ``flush_interval`` seconds, and at once after a
``stop`` document (a batch never reaches past a ``stop``, so one run's rejection cannot take the
next run's documents with it).

Delivery
--------
* Order is kept: batches go out one at a time, in the order the documents were published, and a
  batch is retried until it is answered before the next one is sent.
* Transient failures (hutch down or restarting, connection errors, time-outs, HTTP 5xx, 429, 408)
  are retried forever with exponential backoff (0.1 s doubling up to 5 s, or the server's
  ``Retry-After`` if that is longer, still capped at 5 s). Nothing is lost while the Python process
  lives: when hutch comes back, everything queued is delivered, in order.
* A permanent rejection (any other 4xx: 422 invalid documents, 400 bad JSON, 401 wrong API key,
  404 a hutch without this route, ...) is logged at ERROR on the ``hutch_publisher`` logger with the
  server's message; that batch is dropped (hutch stores all of a batch or none of it) and its
  documents are counted in :attr:`HutchPublisher.rejected`. A 413 (too large) batch is split in
  two and retried; only a single document that is too large is rejected.
* If a retried batch is answered "already stored" (the first attempt was stored but its reply was
  lost), it counts as sent: delivery is at least once, and hutch's uid check makes it exactly once.
* Memory: documents waiting for hutch stay in memory. Past ``max_pending`` waiting documents a
  WARNING is logged (once, until the backlog halves again), but documents keep being accepted:
  dropping documents from the middle of a run would leave hutch with events whose descriptor or
  start is missing. Documents are only dropped (counted in :attr:`HutchPublisher.dropped`) when
  :meth:`HutchPublisher.close` gives up at its time-out, or when they are published after ``close``.
* At interpreter exit an open publisher is closed, waiting at most ``timeout`` seconds.

Wire format
-----------
``POST {url}/api/documents`` with ``Authorization: ApiKey <key>`` and a JSON list of
``[name, doc]`` pairs; hutch answers ``200 {"success": true, "stored": N}`` once they are stored, or
a 4xx with ``{"success": false, "msg": "..."}`` and stores nothing of that batch.
"""

from __future__ import annotations

import atexit
import collections
import collections.abc
import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["HutchPublisher", "DOCUMENT_NAMES"]
__version__ = "1.0"

logger = logging.getLogger("hutch_publisher")

#: The document types hutch accepts. Documents of other types (for example ``stream_resource``
#: from ophyd-async) are not sent, since hutch would reject the whole batch they are in; they are
#: logged once per type and counted in ``rejected``.
DOCUMENT_NAMES = frozenset(
    ["start", "descriptor", "event", "event_page", "resource", "datum", "datum_page", "stop"]
)

_TRANSIENT_STATUS = frozenset([408, 429])


def _default(obj):
    """JSON for what the json module does not know: numpy values, sets, mappings."""
    tolist = getattr(obj, "tolist", None)  # numpy arrays and numpy scalars (without importing numpy)
    if callable(tolist):
        return tolist()
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    isoformat = getattr(obj, "isoformat", None)  # datetime, date
    if callable(isoformat):
        return isoformat()
    if hasattr(obj, "keys") and hasattr(obj, "__getitem__"):
        return {k: obj[k] for k in obj.keys()}
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _finite(obj):
    """A copy of ``obj`` with NaN and infinities as None and odd dict keys as strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {
            (k if isinstance(k, (str, int, float, bool)) or k is None else str(k)): _finite(v)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    try:
        return _finite(_default(obj))
    except TypeError:
        return obj  # json.dumps will name it


def _dumps(obj, allow_nan=False):
    return json.dumps(obj, default=_default, allow_nan=allow_nan, separators=(",", ":"))


def encode_pair(name, doc):
    """``[name, doc]`` as compact JSON bytes; numpy values converted, NaN/inf as null.

    Returns ``(payload, replaced_non_finite)``. Raises TypeError for values JSON cannot carry.
    """
    try:
        return _dumps([name, doc]).encode(), False
    except ValueError:  # NaN or infinity somewhere (json's "Out of range float values")
        non_finite = True
    except TypeError:  # perhaps a dict key json cannot take; _finite turns such keys into strings
        non_finite = False
    return _dumps(_finite([name, doc])).encode(), non_finite


class _Item:
    __slots__ = ("name", "uid", "payload", "arrived")

    def __init__(self, name, uid, payload, arrived):
        self.name = name
        self.uid = uid
        self.payload = payload
        self.arrived = arrived


class _Outcome:
    OK, TRANSIENT, REJECTED = "ok", "transient", "rejected"

    def __init__(self, kind, status=None, msg="", retry_after=None):
        self.kind = kind
        self.status = status
        self.msg = msg
        self.retry_after = retry_after


class HutchPublisher:
    """A bluesky callback that stores every document it is given in hutch.

    ``RE.subscribe(HutchPublisher(url, api_key))``. See the module docstring for what it guarantees.

    Parameters
    ----------
    url:
        hutch's base address, e.g. ``"http://hutch-host:60610"``.
    api_key:
        hutch's API key (``HUTCH_API_KEY``, or what hutch prints at start).
    batch_size:
        At most this many documents per request.
    flush_interval:
        A document waits at most this long (seconds) for others to share its request.
    max_pending:
        Past this many documents waiting for hutch a warning is logged. Nothing is dropped for it.
    timeout:
        Seconds to wait for one HTTP reply; also how long interpreter exit waits for hutch.
    max_batch_bytes:
        A batch is cut before it would exceed this many bytes of JSON (one document always goes).
    opener:
        A ``urllib.request.OpenerDirector``; the default honours the ``http_proxy``/``no_proxy``
        environment variables like any Python HTTP client. Pass
        ``urllib.request.build_opener(urllib.request.ProxyHandler({}))`` to never use a proxy.

    Counters (documents, read at any time): :attr:`sent`, :attr:`rejected`, :attr:`dropped`,
    :attr:`pending`.
    """

    #: First retry delay and its cap, seconds.
    backoff_start = 0.1
    backoff_max = 5.0

    def __init__(
        self,
        url,
        api_key,
        *,
        batch_size=500,
        flush_interval=0.05,
        max_pending=100_000,
        timeout=10,
        max_batch_bytes=1_000_000,
        opener=None,
    ):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"url must look like http://host:port, got {url!r}")
        if any(c in str(api_key) for c in "\r\n"):
            raise ValueError("api_key must not contain line breaks")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url.rstrip("/")
        self.endpoint = self.url + "/api/documents"
        self.batch_size = int(batch_size)
        self.flush_interval = float(flush_interval)
        self.max_pending = int(max_pending)
        self.timeout = timeout
        self.max_batch_bytes = int(max_batch_bytes)
        self._headers = {
            "Authorization": f"ApiKey {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"hutch-publisher/{__version__}",
        }
        self._opener = opener or urllib.request.build_opener()

        self._cond = threading.Condition(threading.Lock())
        self._queue = collections.deque()  # of _Item, oldest first
        self._in_flight = 0  # documents taken from the queue and not yet resolved
        self._accepted = 0  # documents queued, ever
        self._resolved = 0  # of those: sent, rejected or dropped (in queue order)
        self._sent = 0
        self._rejected = 0
        self._dropped = 0
        self._urgent = False  # send without waiting for flush_interval (stop, flush, close)
        self._closing = False
        self._abandon = False  # close() timed out: stop retrying
        self._warned_backlog = False
        self._warned_names = set()
        self._warned_nan = False
        self._warned_closed = False

        self._thread = threading.Thread(target=self._run, name="hutch-publisher", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    def __repr__(self):
        return (
            f"<HutchPublisher {self.url} sent={self._sent} pending={self.pending} "
            f"rejected={self._rejected} dropped={self._dropped}>"
        )

    # ----------------------------------------------------------------------------- the callback

    def __call__(self, name, doc):
        """Queue one document for hutch. Never blocks on the network, never raises."""
        try:
            self._publish(name, doc)
        except Exception:  # a callback must not break the RunEngine, whatever happens here
            try:
                logger.exception("hutch_publisher: could not queue a %r document", name)
                with self._cond:
                    self._rejected += 1
            except Exception:
                pass

    def _publish(self, name, doc):
        if not isinstance(name, str) or name not in DOCUMENT_NAMES:
            key = name if isinstance(name, str) else repr(name)
            with self._cond:
                self._rejected += 1
                first = key not in self._warned_names
                self._warned_names.add(key)
            if first:
                logger.warning(
                    "hutch does not take %r documents; not sending them (counted in .rejected)", name
                )
            return
        if not isinstance(doc, collections.abc.Mapping):
            with self._cond:
                self._rejected += 1
            logger.error("a %s document must be a dict, got %s; not sent", name, type(doc).__name__)
            return
        try:
            payload, replaced = encode_pair(name, doc)
        except (TypeError, ValueError) as e:
            with self._cond:
                self._rejected += 1
            logger.error(
                "cannot send %s %s to hutch: %s (counted in .rejected)", name, _uid(doc), e
            )
            return
        if replaced and not self._warned_nan:
            self._warned_nan = True
            logger.warning(
                "a %s document holds NaN or infinity, which JSON cannot carry; sent as null "
                "(warned once)", name
            )
        item = _Item(name, _uid(doc), payload, time.monotonic())
        warn = backlog = False
        with self._cond:
            if self._closing:
                self._dropped += 1
                warn = not self._warned_closed
                self._warned_closed = True
            else:
                self._queue.append(item)
                self._accepted += 1
                if name == "stop":
                    self._urgent = True
                waiting = len(self._queue) + self._in_flight
                backlog = waiting > self.max_pending and not self._warned_backlog
                if backlog:
                    self._warned_backlog = True
                if len(self._queue) == 1 or len(self._queue) >= self.batch_size or self._urgent:
                    self._cond.notify_all()
        if warn:
            logger.warning(
                "a %s document was published after close(); dropped (counted in .dropped)", name
            )
        elif backlog:
            logger.warning(
                "%d documents are waiting for hutch at %s (more than max_pending=%d); still "
                "keeping them all in memory and retrying",
                waiting, self.url, self.max_pending,
            )

    # ------------------------------------------------------------------------------ public API

    @property
    def sent(self):
        """Documents hutch has acknowledged as stored."""
        return self._sent

    @property
    def rejected(self):
        """Documents not stored because hutch (or this publisher, for unknown types or values JSON
        cannot carry) refused them; each refusal is logged."""
        return self._rejected

    @property
    def dropped(self):
        """Documents given up on without an answer from hutch: published after :meth:`close`, or
        still waiting when ``close`` timed out."""
        return self._dropped

    @property
    def pending(self):
        """Documents queued or in flight, not yet answered."""
        with self._cond:
            return self._accepted - self._resolved

    def flush(self, timeout=None):
        """Send at once and wait until every document published so far has been answered.

        Returns True when all of them were (stored, or rejected: see :attr:`rejected`), False if
        ``timeout`` seconds (None: no limit) passed first; they are then still being retried.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._accepted
            if self._resolved < target:
                self._urgent = True
                self._cond.notify_all()
            while self._resolved < target:
                if not self._thread.is_alive():
                    return False
                if deadline is None:
                    self._cond.wait(0.5)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.5))
            return True

    def close(self, timeout=10.0):
        """Send what is queued, wait up to ``timeout`` seconds for it, then stop the thread.

        Documents still unanswered then are dropped (logged, counted in :attr:`dropped`), and so
        is anything published afterwards. Returns True if nothing was dropped. Safe to call twice.
        """
        with self._cond:
            self._closing = True
            self._urgent = True
            self._cond.notify_all()
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass
        self._thread.join(timeout)
        if not self._thread.is_alive():
            with self._cond:
                return self._accepted == self._resolved
        with self._cond:
            self._abandon = True
            lost = len(self._queue)
            self._queue.clear()
            self._dropped += lost
            self._resolved += lost
            in_flight = self._in_flight
            self._cond.notify_all()
        logger.warning(
            "closing the hutch publisher with %d documents undelivered to %s; dropped",
            lost + in_flight, self.url,
        )
        return False

    def _at_exit(self):
        self.close(timeout=self.timeout)

    # ------------------------------------------------------------------------ the sender thread

    def _run(self):
        while True:
            try:
                batch = self._next_batch()
                if batch is None:
                    return
                self._deliver(batch, retried=False)
            except Exception:  # a bug here must not stop delivery of later documents
                logger.exception("hutch_publisher: unexpected error in the sender thread")
                time.sleep(0.1)

    def _next_batch(self):
        """Waits for documents, then takes the next batch off the queue (None: closed and done)."""
        with self._cond:
            while True:
                if self._abandon or (self._closing and not self._queue):
                    return None
                if not self._queue:
                    self._cond.wait()
                    continue
                if self._urgent or self._closing or len(self._queue) >= self.batch_size:
                    break
                left = self._queue[0].arrived + self.flush_interval - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, size = [], 2
            while self._queue and len(batch) < self.batch_size:
                item = self._queue[0]
                if batch and size + len(item.payload) + 1 > self.max_batch_bytes:
                    break
                self._queue.popleft()
                batch.append(item)
                size += len(item.payload) + 1
                if item.name == "stop":
                    break
            if not self._queue:
                self._urgent = False
            self._in_flight += len(batch)
            return batch

    def _resolve(self, batch, kind):
        with self._cond:
            n = len(batch)
            self._in_flight -= n
            self._resolved += n
            if kind == _Outcome.OK:
                self._sent += n
            elif kind == _Outcome.REJECTED:
                self._rejected += n
            else:
                self._dropped += n
            if self._warned_backlog and len(self._queue) + self._in_flight < self.max_pending // 2:
                self._warned_backlog = False
            self._cond.notify_all()

    def _deliver(self, batch, retried):
        """Sends one batch until it is answered; splits it on 413."""
        delay = self.backoff_start
        failures = 0
        first_failure = None
        body = b"[" + b",".join(item.payload for item in batch) + b"]"
        while True:
            if self._abandon:
                self._resolve(batch, "dropped")
                return
            outcome = self._post(body, len(batch))
            if outcome.kind == _Outcome.TRANSIENT:
                failures += 1
                retried = True
                if failures == 1:
                    first_failure = time.monotonic()
                    logger.warning(
                        "cannot reach hutch at %s (%s); %d documents waiting; retrying",
                        self.url, outcome.msg, self.pending,
                    )
                else:
                    logger.debug("retry %d to %s failed: %s", failures, self.url, outcome.msg)
                wait = delay
                if outcome.retry_after is not None:
                    wait = max(wait, outcome.retry_after)
                wait = min(wait, self.backoff_max)
                delay = min(delay * 2, self.backoff_max)
                end = time.monotonic() + wait
                with self._cond:
                    while not self._abandon and time.monotonic() < end:
                        self._cond.wait(end - time.monotonic())
                continue
            if failures:
                logger.info(
                    "hutch at %s answered again after %d failed attempts (%.1f s)",
                    self.url, failures, time.monotonic() - first_failure,
                )
            if outcome.kind == _Outcome.OK:
                self._resolve(batch, _Outcome.OK)
                return
            if outcome.status == 413 and len(batch) > 1:
                half = len(batch) // 2
                logger.info("hutch found %d documents too large; sending them in two", len(batch))
                self._deliver(batch[:half], retried)
                self._deliver(batch[half:], retried)
                return
            if retried and outcome.status == 422 and _already_stored(outcome.msg):
                # An earlier attempt was stored but its reply lost; hutch stores a batch whole.
                logger.info("hutch had already stored a retried batch of %d documents", len(batch))
                self._resolve(batch, _Outcome.OK)
                return
            logger.error(
                "hutch at %s rejected %d documents (HTTP %s): %s [the batch: %s]; not stored",
                self.url, len(batch), outcome.status, outcome.msg, _describe(batch),
            )
            self._resolve(batch, _Outcome.REJECTED)
            return

    def _post(self, body, count):
        request = urllib.request.Request(self.endpoint, data=body, headers=self._headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                status, text = reply.status, reply.read()
        except urllib.error.HTTPError as e:
            status, headers = e.code, e.headers
            try:
                text = e.read()
            except Exception:
                text = b""
            finally:
                e.close()
            msg = _message(text) or f"HTTP {status} {e.reason}"
            if status >= 500 or status in _TRANSIENT_STATUS:
                return _Outcome(_Outcome.TRANSIENT, status, f"HTTP {status}: {msg}",
                                _retry_after(headers))
            return _Outcome(_Outcome.REJECTED, status, msg)
        except (OSError, http.client.HTTPException) as e:
            # URLError (refused, DNS), time-outs, resets, a reply cut short: all worth retrying.
            reason = getattr(e, "reason", None) or e
            return _Outcome(_Outcome.TRANSIENT, None, f"{type(reason).__name__}: {reason}")
        except Exception as e:  # not the network's fault: retrying would not help
            return _Outcome(_Outcome.REJECTED, None, f"cannot send: {type(e).__name__}: {e}")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("success") is False:
            return _Outcome(_Outcome.REJECTED, status, str(answer.get("msg", "")))
        if isinstance(answer, dict) and isinstance(answer.get("stored"), int) and answer["stored"] != count:
            logger.warning("hutch says it stored %s of %d documents", answer["stored"], count)
        return _Outcome(_Outcome.OK, status)


def _uid(doc):
    if isinstance(doc, dict):
        uid = doc.get("uid", doc.get("datum_id"))
        if isinstance(uid, str):
            return uid
    return None


def _message(text):
    try:
        answer = json.loads(text)
        if isinstance(answer, dict):
            msg = answer.get("msg") or answer.get("detail")
            if msg:
                return str(msg)
    except ValueError:
        pass
    return text[:500].decode("utf-8", "replace").strip()


def _already_stored(msg):
    """Whether hutch refused a batch because its first document is stored already."""
    index = re.search(r"document (\d+) \(", msg)
    return "already stored" in msg and (index is None or index.group(1) == "0")


def _retry_after(headers):
    try:
        return max(0.0, float(headers.get("Retry-After")))
    except (TypeError, ValueError, AttributeError):
        return None


def _describe(batch):
    counts = collections.Counter(item.name for item in batch)
    names = ", ".join(f"{n} {name}" for name, n in counts.items())
    return f"{names}; first {batch[0].name} {batch[0].uid}"
