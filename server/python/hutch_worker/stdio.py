"""Moving the protocol off the standard streams, before anything else can write to them.

hutch reads protocol messages from the worker's stdout and shows its stderr in the console.
A profile's ``print()``, BestEffortCallback's tables, progress bars, warnings, and C libraries
writing to file descriptor 1 would all corrupt the protocol if they reached the real stdout.
So the very first thing the worker does is:

* duplicate fd 1 to a private descriptor that only the protocol writer uses, then point fd 1
  at stderr (``dup2(2, 1)``): every later write to "stdout", at any level, lands on stderr;
* duplicate fd 0 to a private descriptor for the protocol reader, then point fd 0 at
  ``/dev/null``: plan code calling ``input()`` gets end-of-file instead of eating messages;
* make ``sys.stdout`` the same (line-buffered) text stream as ``sys.stderr``, so Python-level
  output of both kinds comes out whole lines, in order.

The private descriptors are not inheritable, so subprocesses that plans start never hold the
manager's pipes open.
"""

import io
import os
import sys

__all__ = ["claim_stdio"]


def _line_buffered(stream):
    """Make a text stream flush at every newline (and not on every partial write)."""
    try:
        stream.reconfigure(line_buffering=True, write_through=False)
    except (AttributeError, ValueError, io.UnsupportedOperation):
        pass
    return stream


def claim_stdio():
    """Take fds 0 and 1 for the protocol. Returns ``(protocol_in_fd, protocol_out_fd)``."""
    try:
        sys.stdout.flush()
    except Exception:
        pass
    proto_out = os.dup(1)  # os.dup makes non-inheritable descriptors
    proto_in = os.dup(0)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)

    err = _line_buffered(sys.stderr)
    sys.stdout = err
    # Code that writes to the "original" streams (bluesky-queueserver does so, for one) goes to
    # stderr too: the object behind sys.__stdout__ writes to fd 1, which is now stderr.
    _line_buffered(sys.__stdout__)
    sys.stdin = open(os.devnull)
    return proto_in, proto_out
