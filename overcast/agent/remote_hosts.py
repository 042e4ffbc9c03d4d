"""Agents for Hyper-V hosts inside `overcast up`: one reconcile loop (the ordinary Agent) per
host added with `overcast host add`, each with the Hyper-V driver over PowerShell remoting.

A host that does not answer is retried in the background: `overcast up` starts whatever
the hosts' state. While it stays silent its agent cannot heartbeat, so after
host_down_after seconds (a setting) the scheduler stops placing there and its running instances
read as impaired; their rows stay as they are and are reconciled when it answers again.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore, spec_per_row
from overcast.agent.views import AgentInstance
from overcast.cloud.compute import HyperVHosts
from overcast.cloud.service import Cloud
from overcast.db.models_hyperv import HyperVHost
from overcast.drivers.base import DriverError, HostCapacity, LaunchSpec
from overcast.drivers.hyperv import HostConfig, HyperVDriver
from overcast.drivers.hyperv.transport import HostUnreachable, PsrpTransport, Transport
from overcast.metadata.documents import config_drive_files

log = logging.getLogger("overcast.hyperv")
RETRY_EVERY = 15.0  # seconds between attempts to reach a host that has not answered yet
LOOK_EVERY = 10.0  # how often new hosts (and each host's last error) are looked at
MIN_INTERVAL = 2.0  # a remote host is asked for its VMs at most this often without a reason

TransportFactory = Callable[[HostConfig], Transport]


def guest_address(addresses: tuple[str, ...]) -> str | None:
    """The first IPv4 address that is neither link-local nor loopback, if any."""
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address.version == 4 and not (address.is_link_local or address.is_loopback):
            return text
    return None


class HyperVStore(LocalStore):
    """A Hyper-V guest has no channel to the metadata relay: it always gets a config drive. It
    sits on the host's switch: its public address is the IPv4 address it reports."""

    loopback_public_ips = False

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(cloud, None)
        self.hyperv_hosts = HyperVHosts(cloud.db, cloud.identity.box)

    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str:
        host_id = self.hyperv_hosts.heartbeat(name, driver, zone, capacity)
        if host_id is None:
            raise HostUnreachable(f"Hyper-V host {name} was removed")
        return host_id

    def launch_specs(self, rows: list[AgentInstance]) -> dict[str, LaunchSpec | Exception]:
        found = super().launch_specs(rows)
        return spec_per_row(rows, lambda row: self._for_hyperv(row, found[row.id]))

    def _for_hyperv(self, row: AgentInstance, spec: LaunchSpec | Exception) -> LaunchSpec:
        if isinstance(spec, Exception):
            raise spec
        spec = replace(spec, image=replace(spec.image, properties=self._properties(row)))
        metadata = getattr(self.cloud, "metadata", None)
        if spec.config_drive is None and metadata is not None:
            facts = metadata.facts(row.id)
            if facts is not None:
                spec = replace(spec, config_drive=config_drive_files(facts))
        return spec

    def report_addresses(self, row: AgentInstance, addresses: tuple[str, ...]) -> None:
        reachable = guest_address(addresses)
        if reachable and reachable != row.public_ip:
            self.cloud.instances.set_addresses(row.id, None, reachable)

    def _properties(self, row: AgentInstance) -> dict[str, str]:
        """The image's Glance properties (hw_machine_type, os_type, os_secure_boot…)."""
        uploads = getattr(self.cloud, "image_uploads", None)
        attributes = uploads.attributes([row.image_id]).get(row.image_id) if uploads else None
        try:
            found = json.loads(attributes.properties) if attributes is not None else {}
        except ValueError:
            found = {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


class HyperVHostAgents:
    def __init__(self, cloud: Cloud, interval: float = 1.0,
                 transport_factory: TransportFactory = PsrpTransport,
                 retry_every: float = RETRY_EVERY, look_every: float = LOOK_EVERY) -> None:
        self.cloud = cloud
        self.hosts = HyperVHosts(cloud.db, cloud.identity.box)
        self.interval = max(interval, MIN_INTERVAL)
        self.transport_factory = transport_factory
        self.retry_every, self.look_every = retry_every, look_every
        self.agents: dict[str, Agent] = {}  # host name -> its running agent
        self.drivers: dict[str, HyperVDriver] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started: set[str] = set()

    def start(self) -> None:
        watcher = threading.Thread(target=self._watch, name="hyperv-hosts", daemon=True)
        watcher.start()
        self._threads.append(watcher)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                rows = self.hosts.list()
                for row in rows:
                    if row.name not in self._started:
                        self._started.add(row.name)
                        self._spawn(row)
                for name in self._started - {row.name for row in rows}:
                    self._let_go(name)
                for name, driver in list(self.drivers.items()):
                    self.hosts.record_error(name, driver.last_error)
            except Exception:  # the database may be briefly busy; look again later
                log.exception("looking at Hyper-V hosts failed")
            self._stop.wait(self.look_every)

    def _spawn(self, row: HyperVHost) -> None:
        config = self.hosts.config(row)
        state_dir = self.cloud.settings.data_dir / "hosts" / row.name
        state_dir.mkdir(parents=True, exist_ok=True)
        driver = HyperVDriver(config, self.transport_factory(config), state_dir)
        self.drivers[row.name] = driver
        agent = Agent(HyperVStore(self.cloud), driver, row.name, row.zone, self.interval,
                      workers=8)
        thread = threading.Thread(target=self._bring_up, args=(row.name, agent),
                                  name=f"hyperv-{row.name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _let_go(self, name: str) -> None:
        """A host removed with `overcast host remove`: stop its agent, close its session."""
        self._started.discard(name)
        agent, driver = self.agents.pop(name, None), self.drivers.pop(name, None)
        if agent is not None:
            agent.stop()
        if driver is not None:
            driver.transport.close()
        log.info("Hyper-V host %s was removed", name)

    def _bring_up(self, name: str, agent: Agent) -> None:
        """Register the host (which asks it for its capacity) until it answers, then run."""
        while not self._stop.is_set() and name in self._started:  # not removed meanwhile
            try:
                host_id = agent.register()
            except (HostUnreachable, DriverError) as exc:
                log.warning("Hyper-V host %s: %s (trying again in %.0fs)", name, exc,
                            self.retry_every)
                self.hosts.record_error(name, str(exc))
                self._stop.wait(self.retry_every)
                continue
            self.cloud.instances.console_readers[host_id] = agent.driver.console_output
            self.hosts.record_error(name, "")
            if self._stop.is_set() or name not in self._started:
                return
            agent.start()
            self.agents[name] = agent
            log.info("Hyper-V host %s is up", name)
            return

    def stop(self) -> None:
        self._stop.set()
        for agent in list(self.agents.values()):
            agent.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        for driver in self.drivers.values():
            driver.transport.close()
