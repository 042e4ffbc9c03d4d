"""Compute hosts: registered and kept alive by their agents, read by the scheduler."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Host, Instance
from overcast.drivers.base import USER_NETWORK, HostCapacity
from overcast.drivers.registry import capabilities_of
from overcast.ids import new_hex
from overcast.lifecycle import HOLDS_CPU, HOLDS_DISK
from overcast.scheduler import HostSnapshot

ALIVE_FOR = timedelta(seconds=30)
_HOLDS_CPU = Instance.state.in_([str(x) for x in HOLDS_CPU])
# What each host's instances hold, summed in SQL (one row per host); built once: every
# launch runs it.
_USAGE = (select(Instance.host_id, func.sum(case((_HOLDS_CPU, Instance.vcpus), else_=0)),
                 func.sum(case((_HOLDS_CPU, Instance.memory_mib), else_=0)),
                 func.sum(Instance.disk_gib))
          .where(Instance.state.in_([str(x) for x in HOLDS_DISK])).group_by(Instance.host_id))
_HOSTS = select(Host).order_by(Host.name)


def local_hosts(hosts: Iterable[HostSnapshot]) -> list[HostSnapshot]:
    """The hosts that run instances here (every host that is not another cloud)."""
    return [h for h in hosts if not capabilities_of(h.driver).remote_cloud]


class Hosts:
    def __init__(self, db: Database, down_after: float = ALIVE_FOR.total_seconds()) -> None:
        self.db = db
        # silent this long, a host is down (Settings.host_down_after, in seconds)
        self.down_after = timedelta(seconds=down_after)

    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity,
                  network: tuple[str, str | None] = (USER_NETWORK, None)) -> str:
        """Register the host or refresh it, with its network mode and underlay address;
        returns its ID."""
        with self.db.session() as s:
            return self.heartbeat_in(s, name, driver, zone, capacity, network)

    @staticmethod
    def heartbeat_in(s: Session, name: str, driver: str, zone: str, capacity: HostCapacity,
                     network: tuple[str, str | None] = (USER_NETWORK, None)) -> str:
        """`heartbeat` inside an open transaction."""
        host = s.scalar(select(Host).where(Host.name == name))
        if host is None:
            host = Host(id=new_hex(), name=name, enabled=True)
            s.add(host)
        host.driver, host.availability_zone = driver, zone
        host.vcpus, host.memory_mib = capacity.vcpus, capacity.memory_mib
        host.disk_gib, host.last_seen = capacity.disk_gib, utcnow()
        host.network_mode, host.underlay_ip = network
        s.flush()
        return host.id

    def snapshots(self, s: Session) -> list[HostSnapshot]:
        usage: dict[str, tuple[int, int, int]] = defaultdict(lambda: (0, 0, 0))
        for host_id, vcpus, memory, disk in s.execute(_USAGE):
            usage[host_id] = (int(vcpus or 0), int(memory or 0), int(disk or 0))
        now = utcnow()
        return [HostSnapshot(h.id, h.name, h.availability_zone, h.vcpus, h.memory_mib,
                             h.disk_gib, used_vcpus=usage[h.id][0],
                             used_memory_mib=usage[h.id][1], used_disk_gib=usage[h.id][2],
                             enabled=h.enabled,
                             alive=now - as_utc(h.last_seen) < self.down_after,
                             driver=h.driver, network_mode=h.network_mode)
                for h in s.scalars(_HOSTS)]

    def unreachable_ids(self) -> set[str]:
        """Hosts whose agent has not checked in for `down_after` (their host stopped answering,
        or the agent is down): their running instances read as impaired."""
        cutoff = utcnow() - self.down_after
        with self.db.session() as s:
            return {h.id for h in s.scalars(select(Host)) if as_utc(h.last_seen) < cutoff}

    def list(self) -> list[HostSnapshot]:
        with self.db.session() as s:
            return self.snapshots(s)
