"""The agent's volume work: make, grow and remove this host's volume disks with its storage
backend, and plug them into or out of its VMs with the driver. One operation at a time per
volume (disks) or per instance (plugging, beside its start, stop and reboot)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from functools import partial

from overcast.agent.store import AgentStore
from overcast.cloud.storage import GIB, VolumeJob
from overcast.drivers.base import Driver, DriverError, PowerState, VmStatus, VolumeDisk
from overcast.drivers.storage.base import StorageBackend
from overcast.lifecycle import State

log = logging.getLogger("overcast.agent")

Submit = Callable[[str, Callable[[], None]], bool]
RETRY_HELD_AFTER = 15.0  # seconds before asking a guest again to let go of a disk
ENDING = (State.SHUTTING_DOWN, State.TERMINATED)


class VolumeWork:
    def __init__(self, store: AgentStore, driver: Driver, backend: StorageBackend,
                 submit: Submit) -> None:
        self.store, self.driver, self.backend, self.submit = store, driver, backend, submit
        self._held_until: dict[str, float] = {}  # detaches a guest refused, by volume
        # instances whose launch made volumes not yet made: their VMs wait (cold attach)
        self.unmade_for: set[str] = set()

    def tick(self, host_id: str, observed: dict[str, VmStatus]) -> None:
        try:
            jobs = self.store.volume_jobs(host_id)
        except Exception:  # the rest of the tick goes on; the next one asks again
            log.exception("could not read this host's volume jobs")
            return
        self.unmade_for = {j.instance_id for j in jobs if j.kind == "create" and j.instance_id}
        for job in jobs:
            if job.kind in ("snapshot", "delete_snapshot"):
                self._snapshot(job, observed)
            elif job.kind in ("create", "delete") or (job.kind == "grow" and
                                                      not job.instance_id):
                self.submit(job.volume_id, partial(self._disk, job))
            elif job.instance_state in ENDING or job.instance_id not in observed:
                continue  # its VM is going, or not made yet: the launch brings the disk
            elif job.kind == "detach" and self._held_until.get(job.volume_id, 0) > \
                    time.monotonic():
                continue
            else:
                running = observed[job.instance_id].state == PowerState.RUNNING
                self.submit(job.instance_id, partial(self._plug, job, running))

    def _disk(self, job: VolumeJob) -> None:
        try:
            if job.kind == "create":
                path = self.backend.create(job.volume_id, job.size_gib, job.source or None)
                self.store.volume_report("created", job.volume_id, path=path,
                                         size_bytes=job.size_gib * GIB)
            elif job.kind == "delete":
                self.backend.delete(job.volume_id)
                self.store.volume_report("deleted", job.volume_id)
            else:
                self.backend.grow(job.volume_id, job.size_gib)
                self.store.volume_report("grown", job.volume_id, size_bytes=job.size_gib * GIB)
        except (DriverError, OSError) as exc:
            log.warning("volume %s: %s failed: %s", job.volume_id, job.kind, exc)
            if job.kind == "create":
                self.store.volume_report("create_failed", job.volume_id, reason=str(exc))

    def _snapshot(self, job: VolumeJob, observed: dict[str, VmStatus]) -> None:
        """Written by the VM's block job while a running VM has the volume, else copied by
        the backend; one at a time with the instance's (or the volume's) other operations."""
        if job.kind == "delete_snapshot":
            self.submit(job.snapshot_id, partial(self._forget_snapshot, job.snapshot_id))
            return
        vm = observed.get(job.instance_id) if job.instance_id else None
        live = vm is not None and vm.state == PowerState.RUNNING
        self.submit(job.instance_id or job.volume_id, partial(self._write_snapshot, job, live))

    def _write_snapshot(self, job: VolumeJob, live: bool) -> None:
        try:
            if live:
                dest = self.backend.snapshot_path(job.snapshot_id)
                part = f"{dest}.part"
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                self.driver.snapshot_volume(job.instance_id, job.volume_id, part)
                os.replace(part, dest)
            else:
                dest = self.backend.snapshot(job.volume_id, job.snapshot_id)
        except (DriverError, OSError) as exc:
            log.warning("snapshot %s of %s failed: %s", job.snapshot_id, job.volume_id, exc)
            self.store.volume_report("snapshot_failed", job.snapshot_id, reason=str(exc))
            return
        self.store.volume_report("snapshot_written", job.snapshot_id, path=dest)

    def _forget_snapshot(self, snapshot_id: str) -> None:
        try:
            self.backend.delete_snapshot(snapshot_id)
        except (DriverError, OSError) as exc:
            log.warning("snapshot %s: delete failed: %s", snapshot_id, exc)
            return
        self.store.volume_report("snapshot_deleted", snapshot_id)

    def _plug(self, job: VolumeJob, running: bool) -> None:
        try:
            if job.kind == "attach":
                self.driver.attach_volume(job.instance_id, VolumeDisk(job.volume_id, job.path))
                self.store.volume_report("attached", job.volume_id)
            elif job.kind == "detach":
                self.driver.detach_volume(job.instance_id, job.volume_id, job.force)
                self._held_until.pop(job.volume_id, None)
                self.store.volume_report("detached", job.volume_id)
            elif running:
                self.driver.resize_volume(job.instance_id, job.volume_id, job.size_gib * GIB)
                self.store.volume_report("grown", job.volume_id, size_bytes=job.size_gib * GIB)
            else:
                self._disk(VolumeJob("grow", job.volume_id, job.size_gib))
        except (DriverError, OSError) as exc:
            log.warning("volume %s of %s: %s failed: %s", job.volume_id, job.instance_id,
                        job.kind, exc)
            if job.kind == "attach":  # undone: nothing stays half-attached
                self.store.volume_report("detached", job.volume_id)
            elif job.kind == "detach":
                self._held_until[job.volume_id] = time.monotonic() + RETRY_HELD_AFTER
                self.store.volume_report("held", job.volume_id, reason=str(exc))
