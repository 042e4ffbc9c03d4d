"""Keeping this host's data plane (a network driver) in step with the cloud.

The agent marks the network dirty when something that shapes it may have changed (a launch
booted, a VM appeared or vanished, a security group or membership changed: any wake-up of the
agent). A dirty network is read from the store and applied when it differs from what was last
applied; while ports wait for their tap (QEMU makes it as the VM starts), it is applied on
every tick until they are all in place; every full check applies it whatever changed (apply is
idempotent), mending what was changed behind the agent's back.

When the agent stops, the data plane stays while any VM still runs on the host (guests outlive
`overcast up`, and their traffic must not stop with it); with none left, everything the
network driver made is removed.
"""

from __future__ import annotations

import logging

from overcast.agent.store import AgentStore
from overcast.drivers.base import PowerState, VmStatus
from overcast.drivers.network.base import NetworkDriver, NetworkError
from overcast.drivers.network.spec import DesiredNetwork

log = logging.getLogger("overcast.agent")


class NetworkSync:
    def __init__(self, store: AgentStore, driver: NetworkDriver) -> None:
        self.store, self.driver = store, driver
        self.dirty = True
        self.pending: tuple[str, ...] = ()  # ports whose tap is not there yet
        self._applied: DesiredNetwork | None = None

    def tick(self, host_id: str, full: bool = False) -> None:
        """Apply the host's network when it may have changed or ports are still pending; on
        a full check, apply it whatever changed (mending what was changed behind our back)."""
        if not (self.dirty or self.pending or full):
            return
        self.dirty = False
        desired = self.store.network_state(host_id)
        if desired == self._applied and not (self.pending or full):
            return
        try:
            result = self.driver.apply(desired)
        except NetworkError as exc:
            log.warning("network: %s", exc)
            self.dirty, self._applied = True, None  # try again next tick
            return
        self._applied, self.pending = desired, result.pending_ports

    def release(self, observed: dict[str, VmStatus]) -> bool:
        """Remove the data plane when no VM runs here any more; True when it was."""
        if any(vm.state == PowerState.RUNNING for vm in observed.values()):
            log.info("network: kept for the instances still running")
            return False
        try:
            self.driver.teardown()
        except NetworkError as exc:
            log.warning("network: teardown failed: %s", exc)
            return False
        return True
