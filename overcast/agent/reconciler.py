"""The per-host reconciler: make the hypervisor match what the database wants.

Each tick compares the rows assigned to this host with what the driver reports and starts
at most one operation per instance; every operation is idempotent, so a crash anywhere is
mended by the next tick. A tick looks only at what may need it: rows changed since the last
tick, rows still on their way somewhere, and VMs whose power state changed. Every few
seconds it reads and checks everything again, whatever a change stamp could have missed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from overcast.agent.netsync import NetworkSync
from overcast.agent.store import AgentStore
from overcast.agent.views import AgentInstance, Observation
from overcast.agent.volumes import VolumeWork
from overcast.cloud.compute import SnapshotJob
from overcast.drivers.base import (
    Driver,
    DriverError,
    LaunchSpec,
    NetworkSpec,
    PowerState,
    VmStatus,
)
from overcast.drivers.network.base import NetworkDriver
from overcast.drivers.storage.base import StorageBackend
from overcast.errors import CloudError
from overcast.lifecycle import UNSETTLED, State, acts_on
from overcast.metrics import AGENT_TICK

log = logging.getLogger("overcast.agent")

GUEST_SHUTDOWN = ("Client.InstanceInitiatedShutdown", "Instance initiated shutdown")
CRASHED = ("Server.InternalError", "The instance stopped unexpectedly")
HEARTBEAT_EVERY = 5.0
# Ticks at most this often: a storm of launches wakes the agent once per call; the rows that
# came meanwhile are taken in one go.
MIN_TICK_GAP = 0.05
FULL_CHECK_EVERY = 10.0  # seconds between ticks that read and check every row
# Rows changed this long before the last read are read again: a transaction stamps its rows
# before it commits, and may commit after a read that began later than the stamp.
STAMP_OVERLAP = 0.5


class Agent:
    def __init__(self, store: AgentStore, driver: Driver, host_name: str, zone: str,
                 interval: float = 1.0, workers: int = 32,
                 network: NetworkDriver | None = None,
                 storage: StorageBackend | None = None) -> None:
        self.store, self.driver = store, driver
        # the data plane (kernel networking); None: the hypervisor wires guests itself
        self.network = NetworkSync(store, network) if network is not None else None
        self.host_name, self.zone, self.interval = host_name, zone, interval
        self.host_id = ""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agent-op")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0
        self._live_network = driver.capabilities().live_network_update
        self._snapshots = driver.capabilities().snapshot
        # images: asked for since the last look (a count the store keeps), or owed a retry
        self._image_requests, self._images_due = -1, True
        self._applied: dict[str, NetworkSpec] = {}  # what each running VM's network is
        self._network_dirty = True  # recheck networks on the next tick
        self._rows: dict[str, AgentInstance] = {}  # the host's live rows as last read
        self._powers: dict[str, PowerState] = {}  # each VM's power state as last seen
        self._read_since = 0.0  # time.time() from which the next tick reads changed rows
        self._last_full = -FULL_CHECK_EVERY
        # finished launches, recorded together by the next tick
        self._outcomes: list[Observation] = []
        self._outcomes_lock = threading.Lock()
        self._specs: dict[str, LaunchSpec | Exception] = {}  # read ahead by the tick
        self._volumes = (VolumeWork(store, driver, storage, self._submit)
                         if storage is not None and driver.capabilities().volumes else None)

    # running --------------------------------------------------------------------------------
    def register(self) -> str:
        self.host_id = self.store.heartbeat(self.host_name, self.driver.name, self.zone,
                                            self.driver.capacity())
        self._last_heartbeat = time.monotonic()
        return self.host_id

    def start(self) -> None:
        if not self.host_id:
            self.register()
        self._thread = threading.Thread(target=self._loop, name="agent", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.store.wake()
        if self._thread:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._write_outcomes()
        except Exception:  # the next start reads them back from the hypervisor
            log.exception("could not record the last operations' outcomes")
        if self.network is not None:
            self.network.release(self.driver.list())

    def stopped(self) -> bool:
        """Asked to stop, and its loop has ended: it ticks, and heartbeats, no more."""
        return self._stop.is_set() and (self._thread is None or not self._thread.is_alive())

    def _loop(self) -> None:
        tick_seconds = AGENT_TICK.labels(self.host_name)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                self.tick()
            except Exception:  # keep reconciling whatever went wrong this time
                log.exception("agent tick failed")
            tick_seconds.observe(time.perf_counter() - started)
            if self._stop.wait(MIN_TICK_GAP):
                return
            if self.store.wait_for_change(self.interval):
                self._network_dirty = True
                if self.network is not None:
                    self.network.dirty = True

    def tick(self) -> None:
        if time.monotonic() - self._last_heartbeat > HEARTBEAT_EVERY:
            self.register()
        self._write_outcomes()
        last_full = self._last_full
        to_check = self._read_rows()
        full = self._last_full != last_full  # this tick read and checks every row
        observed = self.driver.list()
        powers = self._power_changes(observed)
        to_check |= powers
        to_check |= {i for i, r in self._rows.items() if r.state in UNSETTLED
                     or r.reboot_requested}
        if self._volumes is not None:  # first: a launch's volumes are made before its VM
            self._volumes.tick(self.host_id, observed)
        self._specs = self._read_ahead_specs(to_check, observed)
        for instance_id in to_check & self._rows.keys():
            row = self._rows[instance_id]
            self._reconcile(row, observed.get(row.id))
        check_networks, self._network_dirty = self._network_dirty, False
        if check_networks and self._live_network:
            for row in self._rows.values():
                self._sync_network(row, observed.get(row.id))
        if self.network is not None:
            self.network.dirty |= bool(powers)
            self.network.tick(self.host_id, full)
        if self._snapshots:
            self._write_images(full)
        strays = observed.keys() - self._rows.keys()
        if strays:
            self._remove_strays(sorted(strays))

    def _write_outcomes(self) -> None:
        with self._outcomes_lock:
            outcomes, self._outcomes = self._outcomes, []
        if outcomes:
            self.store.observe_many(outcomes)
            self._network_dirty = self._network_dirty or any(
                o.event == "booted" for o in outcomes)
            if self.network is not None:
                self.network.dirty = True

    def _read_rows(self) -> set[str]:
        """Bring the cached rows up to date; the IDs to check: every row on a full check,
        else the rows changed since the last read."""
        started = time.time()
        if time.monotonic() - self._last_full >= FULL_CHECK_EVERY:
            self._last_full = time.monotonic()
            self._rows = {r.id: r for r in self.store.for_host(self.host_id)}
            self._read_since = started - STAMP_OVERLAP
            return set(self._rows)
        stamps = self.store.changed_since(self.host_id, self._read_since)
        self._read_since = started - STAMP_OVERLAP
        # the overlap brings back rows read last time: read again only those that changed
        new = [i for i, stamp in stamps.items()
               if i not in self._rows or self._rows[i].updated_at != stamp]
        changed = self.store.rows(new) if new else []
        for row in changed:
            if row.state == State.TERMINATED:
                self._rows.pop(row.id, None)
            else:
                self._rows[row.id] = row
        return {r.id for r in changed}

    def _read_ahead_specs(self, ids: set[str], observed: dict[str, VmStatus],
                          ) -> dict[str, LaunchSpec | Exception]:
        """The specs of the VMs this tick starts to create, read in one go when several."""
        with self._busy_lock:
            launching = [self._rows[i] for i in ids if i in self._rows and i not in observed
                         and self._rows[i].state == State.PENDING and i not in self._busy]
        return self.store.launch_specs(launching) if len(launching) > 1 else {}

    def _power_changes(self, observed: dict[str, VmStatus]) -> set[str]:
        """VMs that appeared, vanished or changed power state since the last tick."""
        powers = {name: vm.state for name, vm in observed.items()}
        changed = {n for n in powers.keys() | self._powers.keys()
                   if powers.get(n) != self._powers.get(n)}
        self._powers = powers
        return changed

    def _remove_strays(self, strays: list[str]) -> None:
        """VMs with no live row: terminated while we were down, or never ours. Remove only
        those the database knows ended (or never heard of)."""
        known = self.store.known_ids(self.host_id)
        live = {r.id for r in self.store.for_host(self.host_id)}
        for name in strays:
            if name not in live and (name in known or name.startswith("i-")):
                log.info("removing VM %s that has no live instance", name)
                self._submit(name, partial(self.driver.destroy, name))

    # deciding -------------------------------------------------------------------------------
    def _reconcile(self, row: AgentInstance, vm: VmStatus | None) -> None:
        state = State(row.state)
        power = vm.state if vm else None
        if state == State.PENDING:
            self._pending(row, power)
        elif state == State.RUNNING:
            self._running(row, power, vm)
        elif state == State.STOPPING:
            self._stopping(row, power)
        elif state == State.STOPPED and power in (PowerState.RUNNING, PowerState.PAUSED):
            # a frozen guest cannot answer the power button
            self._submit(row.id, lambda: self.driver.stop(
                row.id, force=power == PowerState.PAUSED))
        elif state == State.SHUTTING_DOWN:
            self._shutting_down(row, power)
        elif state == State.PAUSED:
            self._paused(row, power)
        elif state == State.SUSPENDING:
            self._suspending(row, power)

    def _pending(self, row: AgentInstance, power: PowerState | None) -> None:
        if power == PowerState.RUNNING:
            self.store.observe(row.id, "booted", expected=State.PENDING)
            self._network_dirty = True
            return
        if power is None and self._volumes is not None and \
                row.id in self._volumes.unmade_for:
            return  # its mapped volumes are being made: it starts with them (next ticks)
        if power is None:
            def action() -> None:
                spec = self._specs.pop(row.id, None) or self.store.launch_spec(row)
                if isinstance(spec, Exception):
                    raise spec
                self.driver.create(spec)
            failure = "launch_failed"
        else:
            def action() -> None:
                self.driver.start(row.id)
            failure = "powered_off"
        self._submit(row.id, action, then=("booted", State.PENDING), failure=failure)

    def _running(self, row: AgentInstance, power: PowerState | None, vm: VmStatus | None) -> None:
        if power == PowerState.PAUSED:  # unpaused (or started from EC2)
            self._submit(row.id, lambda: self.driver.unpause(row.id))
        elif power != PowerState.RUNNING:
            reason = CRASHED if power in (PowerState.CRASHED, None) else GUEST_SHUTDOWN
            if vm and vm.reason:
                reason = (reason[0], vm.reason)
            self.store.observe(row.id, "powered_off", reason, expected=State.RUNNING)
        elif row.reboot_requested:
            self._submit(row.id, lambda: self._reboot(row.id))
        elif vm is not None and vm.addresses:
            self.store.report_addresses(row, vm.addresses)

    def _paused(self, row: AgentInstance, power: PowerState | None) -> None:
        if power == PowerState.RUNNING:
            self._submit(row.id, lambda: self.driver.pause(row.id))
        elif power != PowerState.PAUSED:
            self.store.observe(row.id, "powered_off", CRASHED, expected=State.PAUSED)

    def _suspending(self, row: AgentInstance, power: PowerState | None) -> None:
        if power in (PowerState.RUNNING, PowerState.PAUSED):
            self._submit(row.id, lambda: self.driver.suspend(row.id),
                         then=("suspended", State.SUSPENDING))
        elif power == PowerState.SUSPENDED:
            self.store.observe(row.id, "suspended", expected=State.SUSPENDING)
        else:
            self.store.observe(row.id, "powered_off", CRASHED, expected=State.SUSPENDING)

    def _sync_network(self, row: AgentInstance, vm: VmStatus | None) -> None:
        """Apply security-group changes to a running VM at once."""
        if row.state != State.RUNNING or vm is None or vm.state != PowerState.RUNNING:
            self._applied.pop(row.id, None)
            return
        wanted = self.store.network(row)
        if self._applied.get(row.id) != wanted:
            def action() -> None:
                self.driver.update_network(row.id, wanted)
                self._applied[row.id] = wanted
            self._submit(row.id, action)

    def _reboot(self, name: str) -> None:
        self.driver.reboot(name)
        self.store.reboot_done(name)

    def _stopping(self, row: AgentInstance, power: PowerState | None) -> None:
        if power == PowerState.RUNNING:
            self._submit(row.id, lambda: self.driver.stop(row.id, force=row.force_stop),
                         then=("powered_off", State.STOPPING))
        else:
            self.store.observe(row.id, "powered_off", expected=State.STOPPING)

    def _shutting_down(self, row: AgentInstance, power: PowerState | None) -> None:
        if power is None:
            self.store.observe(row.id, "destroyed", expected=State.SHUTTING_DOWN)
        else:
            self._submit(row.id, lambda: self.driver.destroy(row.id),
                         then=("destroyed", State.SHUTTING_DOWN))

    def _write_images(self, full: bool) -> None:
        """Images asked of this host's instances: written by the driver, one at a time per
        instance (no stop or reboot meanwhile); failed if the instance ended first. Looked for
        when some were asked for here, on every full check (asked through another process),
        and until the ones found are under way."""
        requests = self.store.snapshot_requests()
        if not (full or self._images_due or requests != self._image_requests):
            return
        self._image_requests, self._images_due = requests, False
        for job in self.store.snapshot_jobs(self.host_id):
            if job.instance_state in (State.SHUTTING_DOWN, State.TERMINATED):
                self.store.snapshot_done(job.image_id, "The instance ended before its image "
                                         "was written.")
                continue
            started = acts_on(job.instance_state, "snapshot") and self._submit(
                job.instance_id, partial(self._write_image, job))
            self._images_due = self._images_due or not started

    def _write_image(self, job: SnapshotJob) -> None:
        part = f"{job.dest}.part"
        try:
            self.driver.snapshot(job.instance_id, part)
            os.replace(part, job.dest)
        except (DriverError, OSError) as exc:
            log.warning("image %s of %s: %s", job.image_id, job.instance_id, exc)
            Path(part).unlink(missing_ok=True)
            self.store.snapshot_done(job.image_id, str(exc))
            return
        self.store.snapshot_done(job.image_id)

    # doing ----------------------------------------------------------------------------------
    def _submit(self, name: str, action: Callable[[], None],
                then: tuple[str, State] | None = None, failure: str | None = None) -> bool:
        """Run `action` in the pool unless an operation on `name` runs; True if it will."""
        with self._busy_lock:
            if name in self._busy:
                return False
            self._busy.add(name)
        self._pool.submit(self._run, name, action, then, failure)
        return True

    def _run(self, name: str, action: Callable[[], None], then: tuple[str, State] | None,
             failure: str | None) -> None:
        try:
            action()
            if then and then[0] == "booted":  # launches come in storms: one write a tick
                with self._outcomes_lock:
                    self._outcomes.append(Observation(name, *then))
                self.store.wake()
            elif then:
                self.store.observe(name, then[0], expected=then[1])
        except DriverError as exc:
            log.warning("%s: %s", name, exc)
            if failure:
                self.store.observe(name, failure, ("Server.InternalError", str(exc)),
                                   expected=State.PENDING)
        except CloudError as exc:  # expected (an image gone...): retried, no traceback
            log.warning("%s: %s (%s)", name, exc.message, exc.code)
        except Exception:
            log.exception("%s: driver operation failed", name)
        finally:
            with self._busy_lock:
                self._busy.discard(name)
