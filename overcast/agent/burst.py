"""The burst agent: one reconcile loop per burst target, making a remote EC2-compatible cloud
match the rows placed on that target.

It is the per-host Agent with a remote driver (overcast.drivers.ec2), plus what a remote
needs: the remote state and addresses mirrored into Overcast, a launch refused by the remote
failing the instance with the remote's words, backoff while the remote is down or slow (rows
simply wait: nothing is lost), and an orphan sweep of remote instances that carry this
cloud's ID but have no live row. A supervisor starts and stops one loop per target as admins
add and remove them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from sqlalchemy import or_, select

from overcast.agent.reconciler import HEARTBEAT_EVERY, Agent
from overcast.agent.store import LocalStore, boot_image, spec_per_row, user_data_of
from overcast.agent.views import AgentInstance
from overcast.cloud import tags as tagsvc
from overcast.cloud.service import Cloud
from overcast.db.models import KeyPair
from overcast.db.models_burst import BurstTarget
from overcast.drivers.base import DriverError, HostCapacity, LaunchSpec, NetworkSpec, VmStatus
from overcast.drivers.ec2 import (
    Ec2Driver,
    Ec2Target,
    IngressRule,
    RemoteLaunchSpec,
    RemoteRefused,
    RemoteUnavailable,
    RemoteVm,
)
from overcast.lifecycle import State

log = logging.getLogger("overcast.burst")
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 15.0
CONTACT_EVERY = 5.0  # how often a healthy target's last contact is written
GROUPS_EVERY = 5.0  # how often remote security groups are compared and swept
MIN_INTERVAL = 1.0  # never ask a remote more often than this without a reason


class BurstStore(LocalStore):
    """The agent's window on the cloud, for one burst target."""

    def __init__(self, cloud: Cloud, target: BurstTarget) -> None:
        super().__init__(cloud)
        self.target = target
        self.burst = cloud.burst

    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str:
        return self.burst.heartbeat(self.target.id, capacity)

    def network(self, row: AgentInstance) -> NetworkSpec:
        """Addresses come from the remote, not from the local pools."""
        return NetworkSpec(mac_address=row.mac_address, private_ip=row.private_ip or "",
                           subnet_cidr="", gateway_ip="", public_ip=row.public_ip)

    def launch_specs(self, rows: list[AgentInstance]) -> dict[str, LaunchSpec | Exception]:
        return spec_per_row(rows, self.launch_spec)

    def launch_spec(self, row: AgentInstance) -> RemoteLaunchSpec:
        remote_image = self.burst.remote_image(self.target.id, row.image_id)
        if remote_image is None:
            raise RemoteRefused(self.target.name, "InvalidAMIID.NotMapped",
                                f"no remote image is mapped for {row.image_id}")
        groups = self.ingress(row)
        return RemoteLaunchSpec(
            name=row.id, vcpus=row.vcpus, memory_mib=row.memory_mib, disk_gib=row.disk_gib,
            image=boot_image(None), network=self.network(row),
            user_data=self._user_data(row), tags=self._tags(row),
            remote_image_id=remote_image,
            remote_instance_type=self.burst.remote_type(self.target.id, row.instance_type),
            public_key=self._public_key(row), mirror_groups=groups is not None,
            ingress=groups or ())

    def _public_key(self, row: AgentInstance) -> str | None:
        if not row.key_name:
            return None
        with self.cloud.db.session() as s:
            return s.scalar(select(KeyPair.public_key).where(
                KeyPair.project_id == row.project_id, KeyPair.name == row.key_name))

    def _user_data(self, row: AgentInstance) -> bytes:
        with self.cloud.db.read() as s:
            return user_data_of(s, [row.id]).get(row.id, b"")

    def _tags(self, row: AgentInstance) -> dict[str, str]:
        with self.cloud.db.session() as s:
            return tagsvc.for_resources(s, row.project_id, [row.id]).get(row.id, {})

    def ingress(self, row: AgentInstance) -> tuple[IngressRule, ...] | None:
        """The CIDR ingress rules (IPv4 and IPv6) of the instance's security groups, or None
        when it has no groups (or this tree has no security groups). Rules whose source is
        another group cannot be mirrored to a remote cloud and are left out."""
        try:
            from overcast.db.models_network import InstanceSecurityGroup, SecurityGroupRule
        except ImportError:
            return None
        with self.cloud.db.session() as s:
            group_ids = list(s.scalars(select(InstanceSecurityGroup.group_id).where(
                InstanceSecurityGroup.instance_id == row.id)))
            if not group_ids:
                return None
            rules = s.scalars(select(SecurityGroupRule).where(
                SecurityGroupRule.group_id.in_(group_ids),
                SecurityGroupRule.is_egress.is_(False),
                or_(SecurityGroupRule.cidr_ipv4.is_not(None),
                    SecurityGroupRule.cidr_ipv6.is_not(None))))
            return tuple(sorted({IngressRule(str(r.protocol), r.from_port, r.to_port,
                                             str(r.cidr_ipv4 or r.cidr_ipv6)) for r in rules},
                                key=lambda r: (r.protocol, r.from_port, r.to_port, r.cidr)))

    def mirror(self, row: AgentInstance, vm: RemoteVm) -> None:
        if vm.gone or (row.private_ip == vm.private_ip and row.public_ip == vm.public_ip):
            return
        self.cloud.instances.set_addresses(row.id, vm.private_ip, vm.public_ip)

    def record(self, error: str | None) -> None:
        self.burst.record_contact(self.target.id, error)


class BurstAgent(Agent):
    store: BurstStore
    driver: Ec2Driver

    def __init__(self, store: BurstStore, driver: Ec2Driver, interval: float) -> None:
        super().__init__(store, driver, f"burst-{store.target.name}", store.target.zone,
                         max(interval, MIN_INTERVAL), workers=8)
        self._delay = 0.0
        self._retry_at = 0.0
        self._last_contact_write = 0.0
        self._groups_at = 0.0
        self._failing = False
        # operations the remote refused (other than launches): name -> (retry at, delay)
        self._held: dict[str, tuple[float, float]] = {}

    # the loop ---------------------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat > HEARTBEAT_EVERY and not self._failing:
            self.register()  # a target that does not answer stops checking in: impaired
        if now < self._retry_at:
            return
        rows = self.store.for_host(self.host_id)
        try:
            observed = self.driver.list()
        except (RemoteUnavailable, DriverError) as exc:
            self._unreachable(str(exc))
            return
        self._reachable()
        for row in rows:
            vm = observed.get(row.id)
            self._reconcile(row, vm)
        wanted = {r.id for r in rows}
        orphans = [vm for name, vm in observed.items()
                   if name not in wanted and isinstance(vm, RemoteVm) and not vm.gone]
        if orphans:
            self._sweep(orphans)
        if now - self._groups_at > GROUPS_EVERY:
            self._groups_at = now
            self._submit("groups:" + self.store.target.id, lambda: self._sync_groups(rows))

    def _unreachable(self, error: str) -> None:
        self._delay = min(MAX_BACKOFF, self._delay * 2 if self._delay else FIRST_BACKOFF)
        self._retry_at = time.monotonic() + self._delay
        log.warning("%s (next try in %.1fs)", error, self._delay)
        self._failing = True
        self.store.record(error)

    def _reachable(self) -> None:
        self._delay, self._retry_at = 0.0, 0.0
        now = time.monotonic()
        if self._failing or now - self._last_contact_write > CONTACT_EVERY:
            if self._failing:
                log.info("burst target %s answers again", self.store.target.name)
            self._failing, self._last_contact_write = False, now
            self.store.record(None)

    # deciding ---------------------------------------------------------------------------
    def _reconcile(self, row: AgentInstance, vm: VmStatus | None) -> None:
        if isinstance(vm, RemoteVm):
            self.store.mirror(row, vm)
            if vm.gone:
                self._remote_gone(row, vm)
                return
            if vm.settling and row.state != State.SHUTTING_DOWN:
                return  # wait until the remote says where it went
        super()._reconcile(row, vm)

    def _remote_gone(self, row: AgentInstance, vm: RemoteVm) -> None:
        """The remote instance is terminated (or on its way)."""
        state = State(row.state)
        if state == State.SHUTTING_DOWN and vm.remote_state == "terminated":
            self.store.observe(row.id, "destroyed", expected=State.SHUTTING_DOWN)
        elif state == State.PENDING:
            message = vm.reason or f"the remote instance {vm.remote_id} was terminated"
            self.store.observe(row.id, "launch_failed",
                               ("Server.InternalError",
                                f"burst target {self.store.target.name}: {message}"),
                               expected=State.PENDING)
        elif state in (State.RUNNING, State.STOPPING):
            super()._reconcile(row, None)  # it went away under us: stopped, with a reason

    def _sweep(self, orphans: list[RemoteVm]) -> None:
        """Terminate remote instances tagged with this cloud's ID that no live row wants."""
        live = {r.id for r in self.store.for_host(self.host_id)}
        for vm in orphans:
            if vm.name in live:
                continue
            log.warning("orphan sweep: terminating remote instance %s on burst target %s "
                        "(tagged for %s, which has no live Overcast instance)",
                        vm.remote_id, self.store.target.name, vm.name)
            self._submit(vm.remote_id, partial(self.driver.terminate_remote, vm.remote_id))

    def _sync_groups(self, rows: list[AgentInstance]) -> None:
        for row in rows:
            ingress = self.store.ingress(row)
            if ingress is not None and row.state in (State.RUNNING, State.STOPPED):
                self.driver.sync_groups(row.id, ingress)
        deleted = self.driver.sweep_groups(
            lambda: {r.id for r in self.store.for_host(self.host_id)})
        if deleted:
            log.info("burst target %s: removed security groups %s", self.store.target.name,
                     ", ".join(deleted))

    # doing ------------------------------------------------------------------------------
    def _submit(self, name: str, action: Callable[[], None],
                then: tuple[str, State] | None = None, failure: str | None = None) -> bool:
        held = self._held.get(name)
        if held and time.monotonic() < held[0]:
            return False
        return super()._submit(name, action, then, failure)

    def _hold(self, name: str) -> None:
        """Back off from one instance whose operation the remote refused."""
        delay = min(MAX_BACKOFF * 4, self._held.get(name, (0.0, FIRST_BACKOFF))[1] * 2)
        self._held[name] = (time.monotonic() + delay, delay)

    def _run(self, name: str, action: Callable[[], None], then: tuple[str, State] | None,
             failure: str | None) -> None:
        """Run one remote call. What it led to is read back from the remote on a later tick
        (`then` is not assumed); a refusal fails the launch with the remote's words; a remote
        that is down or slow backs the whole target off and the row waits."""
        try:
            action()
            self._held.pop(name, None)
            self.store.wake()  # read the outcome back soon
        except RemoteUnavailable as exc:
            self._unreachable(str(exc))
        except DriverError as exc:
            log.warning("%s: %s", name, exc)
            self.store.record(str(exc))
            if failure:
                reason = (exc.state_reason if isinstance(exc, RemoteRefused)
                          else ("Server.InternalError", str(exc)))
                self.store.observe(name, failure, reason, expected=State.PENDING)
            else:
                self._hold(name)
        except Exception:
            log.exception("%s: burst operation failed", name)
            self._hold(name)
        finally:
            with self._busy_lock:
                self._busy.discard(name)


def _settings(target: BurstTarget) -> tuple[object, ...]:
    """What a target's agent was started with (`overcast burst set` may change it)."""
    return (target.access_key_id, target.secret_encrypted, target.max_instances,
            target.max_vcpus)


class BurstSupervisor:
    """Runs one BurstAgent per burst target, following `overcast burst add/remove`."""

    def __init__(self, cloud: Cloud, interval: float, poll: float = 2.0) -> None:
        self.cloud, self.interval, self.poll = cloud, interval, poll
        self.agents: dict[str, BurstAgent] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="burst", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.sync()
            except Exception:
                log.exception("burst supervisor failed")

    def sync(self) -> None:
        targets = {t.id: t for t in self.cloud.burst.targets()}
        for target_id in [t for t in self.agents if t not in targets]:
            name = self._retire(target_id)
            log.info("burst target %s removed: agent stopped", name)
        for target_id, target in targets.items():
            running = self.agents.get(target_id)
            if running is not None and _settings(running.store.target) != _settings(target):
                self._retire(target_id)  # new limits or credentials: start it again with them
                log.info("burst target %s changed: agent restarted", target.name)
        cloud_id = self.cloud.burst.cloud_id() if targets else ""
        for target_id, target in targets.items():
            if target_id not in self.agents:
                self._launch(target, cloud_id)

    def _launch(self, target: BurstTarget, cloud_id: str) -> None:
        connection = Ec2Target(
            name=target.name, endpoint=target.endpoint, region=target.region,
            access_key_id=target.access_key_id,
            secret_access_key=self.cloud.burst.secret(target), cloud_id=cloud_id,
            target_id=target.id, max_vcpus=target.max_vcpus)
        driver = Ec2Driver(connection)
        agent = BurstAgent(BurstStore(self.cloud, target), driver, self.interval)
        self.cloud.instances.console_readers[agent.register()] = driver.console_output
        agent.start()
        self.agents[target.id] = agent
        log.info("burst target %s (%s, zone %s): agent started", target.name, target.endpoint,
                 target.zone)

    def _retire(self, target_id: str) -> str:
        agent = self.agents.pop(target_id)
        agent.stop()
        self.cloud.instances.console_readers.pop(agent.host_id, None)
        return agent.store.target.name

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        for target_id in list(self.agents):
            self._retire(target_id)
