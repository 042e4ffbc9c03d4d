"""Placement: filters and a weigher over host snapshots. Pure functions, no database."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class HostSnapshot:
    id: str
    name: str
    availability_zone: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    used_vcpus: int = 0
    used_memory_mib: int = 0
    used_disk_gib: int = 0
    enabled: bool = True
    alive: bool = True
    driver: str = ""
    network_mode: str = "user"  # how its guests are wired: "user" or "kernel"


@dataclass(frozen=True)
class Demand:
    vcpus: int
    memory_mib: int
    disk_gib: int
    availability_zone: str | None = None
    driver: str | None = None  # the image asks for hosts of this driver (e.g. "hyperv")


@dataclass(frozen=True)
class Ratios:
    cpu: float = 4.0
    ram: float = 1.0
    disk: float = 1.0  # instance disks are thin overlays: a cloud may overcommit them


def fits(host: HostSnapshot, demand: Demand, ratios: Ratios) -> bool:
    return (host.used_vcpus + demand.vcpus <= host.vcpus * ratios.cpu
            and host.used_memory_mib + demand.memory_mib <= host.memory_mib * ratios.ram
            and host.used_disk_gib + demand.disk_gib <= host.disk_gib * ratios.disk)


def candidates(hosts: list[HostSnapshot], demand: Demand, ratios: Ratios) -> list[HostSnapshot]:
    return [h for h in hosts
            if h.enabled and h.alive
            and (demand.availability_zone in (None, h.availability_zone))
            and (demand.driver in (None, h.driver))
            and fits(h, demand, ratios)]


def weigh(host: HostSnapshot, ratios: Ratios) -> float:
    """Spread: the host with the largest share of free memory wins."""
    total = host.memory_mib * ratios.ram or 1
    return (total - host.used_memory_mib) / total


def claim(host: HostSnapshot, demand: Demand) -> HostSnapshot:
    return replace(host, used_vcpus=host.used_vcpus + demand.vcpus,
                   used_memory_mib=host.used_memory_mib + demand.memory_mib,
                   used_disk_gib=host.used_disk_gib + demand.disk_gib)


def place(hosts: list[HostSnapshot], demand: Demand, count: int,
          ratios: Ratios) -> list[HostSnapshot]:
    """Hosts for up to `count` instances, one entry per instance placed."""
    pool = {h.id: h for h in hosts}
    placed: list[HostSnapshot] = []
    for _ in range(count):
        options = candidates(list(pool.values()), demand, ratios)
        if not options:
            break
        best = min(options, key=lambda h: (-weigh(h, ratios), h.name))
        pool[best.id] = claim(best, demand)
        placed.append(best)
    return placed
