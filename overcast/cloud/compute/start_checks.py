"""Starting stopped instances takes back their vCPUs and memory (a stopped instance keeps only
its disk): the project's vCPU quota and each instance's host must have room for them again."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.cloud.compute.hosts import Hosts, local_hosts
from overcast.cloud.compute.launch import quotas
from overcast.config import Settings
from overcast.db.models import Instance, Project
from overcast.errors import InsufficientCapacity, QuotaExceeded
from overcast.identity.context import Context
from overcast.lifecycle import HOLDS_CPU
from overcast.scheduler import Demand, Ratios, claim, fits


class StartChecks:
    def __init__(self, settings: Settings, hosts: Hosts) -> None:
        self.settings, self.hosts = settings, hosts

    def __call__(self, s: Session, ctx: Context, starting: list[Instance]) -> None:
        if starting:
            self._quota(s, ctx, starting)
            self._room(s, starting)

    def _quota(self, s: Session, ctx: Context, starting: list[Instance]) -> None:
        project = s.get(Project, ctx.project_id)
        assert project is not None
        max_vcpus = quotas(project, self.settings)[1]
        used = s.scalar(select(func.sum(Instance.vcpus)).where(
            Instance.project_id == ctx.project_id,
            Instance.state.in_([str(x) for x in HOLDS_CPU]))) or 0
        if used + sum(r.vcpus for r in starting) > max_vcpus:
            raise QuotaExceeded(
                "VcpuLimitExceeded",
                f"You have requested more vCPU capacity than your current vCPU limit of "
                f"{max_vcpus} allows for the instance bucket that the specified instance "
                f"type belongs to.")

    def _room(self, s: Session, starting: list[Instance]) -> None:
        ratios = Ratios(self.settings.cpu_allocation_ratio, self.settings.ram_allocation_ratio,
                        self.settings.disk_allocation_ratio)
        hosts = {h.id: h for h in local_hosts(self.hosts.snapshots(s))}
        for row in starting:
            host = hosts.get(row.host_id or "")
            if host is None:  # a burst target's instance: the remote cloud decides
                continue
            demand = Demand(row.vcpus, row.memory_mib, 0)  # its disk is still held
            if not fits(host, demand, ratios):
                raise InsufficientCapacity(
                    "InsufficientInstanceCapacity",
                    f"Insufficient capacity to start instance {row.id}: its host has no room "
                    "for it now. Try again later.")
            hosts[host.id] = claim(host, demand)
