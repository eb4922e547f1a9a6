"""hutch's Python worker: runs a bluesky startup profile in a real RunEngine for hutch.

hutch (the Rust experiment master) starts this package as its worker process::

    python -u -m hutch_worker (--startup-dir DIR | --startup-script FILE | --startup-module NAME) [--assets DIR]

and talks to it with newline-delimited JSON over the process's stdin and stdout, as described in
``docs/worker-protocol.md``. The options mean what they mean to bluesky-queueserver's
``start-re-manager``.

Modules (all flat, standard library at import time; bluesky is imported only once the worker
has checked that it can be):

* ``__main__``  – entry point: claims stdout for the protocol first, then runs :mod:`.worker`.
* ``stdio``     – moves the protocol to private file descriptors, so prints cannot corrupt it.
* ``channel``   – the writer thread (worker → manager) and the line reader (manager → worker).
* ``jsonsafe``  – turns documents and values into JSON (numpy → lists, NaN/inf → null, ...).
* ``cli``       – command-line options.
* ``startup``   – import check, loading the profile, describing why it failed, finding ``RE``.
* ``catalog``   – the profile's existing plans and devices, in bluesky-queueserver's form.
* ``control``   – pause requests and resume/stop/abort/halt between the threads.
* ``runner``    – executes plans in the RunEngine, forwards documents, reports the outcome.
* ``tasks``     – script, function and environment-update tasks.
* ``helpers``   – ``set_dataset`` and ``set_applet`` for plan code (public).
* ``worker``    – ties it together: the stdin thread and the main (plan) thread's loop.

The protocol, as this worker speaks it (version 2; v1 messages unchanged):

* manager → worker: ``run`` {item, scan_id}; ``pause`` {option}; ``resume``; ``stop``;
  ``abort``; ``halt``; ``close``; ``script`` {task_uid, script, update_lists, update_re,
  background}; ``function`` {task_uid, item, background}; ``update`` {task_uid, background}.
* worker → manager: ``ready`` {protocol, environment, plans, devices} or ``open_failed``
  {msg, traceback}; ``log`` {msg}; ``document`` {name, doc}; ``run_opened`` {uid, scan_id};
  ``run_closed`` {uid, scan_id, exit_status}; ``paused``; ``finished`` {exit_status, msg,
  traceback, run_uids, scan_ids}; ``dataset`` {key, value, persist, unit?}; ``applet`` {group,
  name, kind, spec, plan}; ``catalog`` {plans, devices}; ``task_finished`` {task_uid, success,
  msg, traceback, return_value}.

Exit status: 0 after ``close``, 1 after ``open_failed``, 3 when the manager is gone (stdin
closed without ``close``, or the protocol pipe broken).

Nothing here may import bluesky at module level except :mod:`runner`, :mod:`tasks`,
:mod:`catalog` and :mod:`startup`'s loaders, which are imported after the import check.
"""

#: The protocol version this worker speaks (sent in ``ready``).
PROTOCOL = 2

#: The environment name sent in ``ready``.
ENVIRONMENT = "bluesky"

__version__ = "0.1.0"
