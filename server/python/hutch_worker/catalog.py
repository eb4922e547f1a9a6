"""The profile's plans and devices, as bluesky-queueserver describes them.

``existing_plans_and_devices_from_nspace`` gives two things: the *descriptions* (the JSON that
qserver's ``/api/plans/existing`` and ``/api/devices/existing`` return, sent to hutch in
``ready`` and ``catalog``) and the *objects* in the namespace (used to turn the names in a
queue item's arguments back into devices and plans, with ``prepare_plan``).

Permissions are hutch's business: it checks an item against its user group before sending it.
So for ``prepare_plan`` every group is allowed all existing plans and devices — the "allowed"
lists qserver would compute for a group with no restrictions.

Options match ``start-re-manager``'s defaults: devices to unlimited depth
(``--device-max-depth 0``) and plans with signatures qserver cannot describe are an error
(``--ignore-invalid-plans OFF``).
"""

import threading

from bluesky_queueserver.manager.profile_ops import (
    compare_existing_plans_and_devices,
    existing_plans_and_devices_from_nspace,
)

from .jsonsafe import to_jsonable

__all__ = ["Catalog"]

DEVICE_MAX_DEPTH = 0
IGNORE_INVALID_PLANS = False


class Catalog:
    """Existing plans and devices of one namespace, refreshed on demand. Thread-safe."""

    def __init__(self, nspace):
        self._nspace = nspace
        self._lock = threading.Lock()
        self.plans, self.devices = {}, {}
        self.plans_in_nspace, self.devices_in_nspace = {}, {}

    def refresh(self):
        """Re-read the namespace. Returns True if the descriptions changed. May raise."""
        plans, devices, plan_objs, device_objs = existing_plans_and_devices_from_nspace(
            nspace=self._nspace, max_depth=DEVICE_MAX_DEPTH, ignore_invalid_plans=IGNORE_INVALID_PLANS
        )
        with self._lock:
            changed = not compare_existing_plans_and_devices(
                existing_plans=plans,
                existing_devices=devices,
                existing_plans_ref=self.plans,
                existing_devices_ref=self.devices,
            )
            self.plans, self.devices = plans, devices
            self.plans_in_nspace, self.devices_in_nspace = plan_objs, device_objs
        return changed

    def message(self, kind):
        """A ``ready``/``catalog``-style dict with JSON-safe ``plans`` and ``devices``."""
        with self._lock:
            plans, devices = self.plans, self.devices
        return {
            "type": kind,
            "plans": to_jsonable(plans, fallback=repr),
            "devices": to_jsonable(devices, fallback=repr),
        }

    def for_prepare_plan(self, user_group):
        """Keyword arguments for ``prepare_plan``: everything allowed to ``user_group``."""
        with self._lock:
            return {
                "plans_in_nspace": self.plans_in_nspace,
                "devices_in_nspace": self.devices_in_nspace,
                "allowed_plans": {user_group: self.plans},
                "allowed_devices": {user_group: self.devices},
                "nspace": self._nspace,
            }
