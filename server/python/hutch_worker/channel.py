"""The two directions of the protocol: a writer thread and a line reader.

Writing happens in one dedicated thread fed by an unbounded queue. Messages are encoded to JSON
by whoever sends them (so a document is captured as it was when emitted), then queued; the
RunEngine's thread therefore never waits on the pipe, however slow the manager is to read.
The writer takes whatever is queued, writes it in one go, and repeats. If the pipe breaks,
the manager is gone and the process exits at once (status 3).

Reading is a blocking loop over lines of the private stdin descriptor, run by the worker's
stdin thread; end of input means the manager is gone, handled by the caller.
"""

import os
import queue
import sys
import threading

from .jsonsafe import encode_line

__all__ = ["Channel", "read_messages", "EXIT_MANAGER_GONE"]

#: Exit status when the manager disappears (stdin closed without ``close``, or stdout broken).
EXIT_MANAGER_GONE = 3

#: Bytes the writer hands to one os.write at most (the rest of a batch follows at once).
_BATCH_BYTES = 1 << 20


class Channel:
    """Worker → manager messages, written in order by a background thread."""

    def __init__(self, fd):
        self._fd = fd
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="hutch-protocol-writer", daemon=True)
        self._thread.start()

    def send(self, msg, *, fallback=str):
        """Queue ``msg`` (a dict with a ``type``). Never blocks; thread-safe."""
        self._queue.put(encode_line(msg, fallback=fallback))

    def send_line(self, line):
        """Queue an already encoded line (bytes ending in ``\\n``)."""
        self._queue.put(line)

    def drain(self, timeout=10.0):
        """Wait until everything queued so far is written (or ``timeout`` seconds pass)."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _run(self):
        q = self._queue
        while True:
            item = q.get()
            batch, size, marks = [], 0, []
            while True:
                if isinstance(item, threading.Event):
                    marks.append(item)
                else:
                    batch.append(item)
                    size += len(item)
                if size >= _BATCH_BYTES:
                    break
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(b"".join(batch))
            for m in marks:
                m.set()

    def _write(self, data):
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as e:  # BrokenPipeError above all: nobody reads the protocol any more
            try:
                print(f"hutch worker: the protocol pipe broke ({e}); exiting", file=sys.stderr)
            except Exception:
                pass
            os._exit(EXIT_MANAGER_GONE)


def read_messages(fd):
    """Yield the lines (bytes, newline stripped) read from ``fd`` until end of input."""
    with os.fdopen(fd, "rb", buffering=1 << 16, closefd=False) as f:
        for line in f:
            line = line.strip()
            if line:
                yield line
