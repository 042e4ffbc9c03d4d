"""The overview: the project's quota use as bars (instances, vCPUs, RAM, images, volumes,
Elastic IPs), its newest instances and recent instance actions, the burst targets with what
runs there, and for cloud admins the hosts with their capacity and what is placed on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from overcast.cloud.compute import quotas
from overcast.cloud.storage import volume_limits
from overcast.lifecycle import HOLDS_CPU, State
from overcast.web.page import Page

GONE = (State.TERMINATED, State.SHUTTING_DOWN)
EVENTS = 12  # recent instance actions shown


@dataclass(frozen=True)
class Bar:
    label: str
    used: int
    limit: int | None
    unit: str = ""

    @property
    def percent(self) -> int:
        if not self.limit:
            return 0
        return min(100, round(100 * self.used / self.limit))


def _bars(page: Page) -> list[Bar]:
    views, _ = page.cloud.instances.describe(page.ctx, [], [])
    live = [v.item for v in views if v.item.state not in GONE]
    holding = [i for i in live if i.state in HOLDS_CPU]
    project = page.cloud.identity.roles.project(page.ctx.project_id)
    max_instances, max_vcpus = quotas(project, page.cloud.settings)
    usage = page.cloud.image_uploads.usage(page.ctx)
    image_limit, image_count = usage["image_count_total"]
    size_limit, size_used = usage["image_size_total"]
    return [Bar("Instances", len(live), max_instances),
            Bar("vCPUs", sum(i.vcpus for i in holding), max_vcpus),
            Bar("RAM in use", round(sum(i.memory_mib for i in holding) / 1024), None, "GiB"),
            Bar("Images", image_count, image_limit),
            Bar("Image storage", round(size_used / 1024), round(size_limit / 1024), "GiB"),
            *_storage_bars(page, project)]


def _storage_bars(page: Page, project: Any) -> list[Bar]:
    found, _ = page.cloud.volumes.describe(page.ctx, [], [], None, None)
    volumes = [t.item for t in found if not t.item.root]
    limits = volume_limits(project, page.cloud.settings)
    addresses = page.cloud.elastic_ips.describe(page.ctx, [], [], [])
    return [Bar("Volumes", len(volumes), limits.volumes),
            Bar("Volume storage", sum(v.size_gib for v in volumes), limits.gib, "GiB"),
            Bar("Elastic IPs", len(addresses), page.cloud.elastic_ips.limit(project))]


@dataclass(frozen=True)
class BurstPanel:
    name: str
    zone: str
    reachable: bool
    last_error: str
    instances: int | None  # on the target in all, for admins
    placed: list[tuple[str, str, str, str]]  # (instance ID, project, state, type)


def _burst_panels(page: Page) -> list[BurstPanel]:
    """Admins: every target, what it holds and for whom. Others: the targets their project
    may use and its own instances there."""
    if page.ctx.is_admin:
        placed = page.cloud.burst.placed()
        return [BurstPanel(u.target.name, u.target.zone, u.target.error_count == 0,
                           u.target.last_error, u.instances, placed.get(u.target.id, []))
                for u in page.cloud.burst.usage()]
    hidden = page.cloud.burst.hidden_zones(page.ctx.project_id)
    targets = [t for t in page.cloud.burst.targets() if t.zone not in hidden]
    if not targets:
        return []
    views, _ = page.cloud.instances.describe(page.ctx, [], [])
    mine = [v.item for v in views if v.item.state != State.TERMINATED]
    return [BurstPanel(t.name, t.zone, t.error_count == 0, "", None,
                       [(i.id, page.visitor.project_name if page.visitor else "", i.state,
                         i.instance_type) for i in mine if i.availability_zone == t.zone])
            for t in targets]


def show(page: Page) -> Response:
    hosts = []
    if page.ctx.is_admin:  # burst targets' hosts are shown with the targets
        burst_hosts = {t.host_id for t in page.cloud.burst.targets()}
        hosts = [h for h in page.cloud.hosts.list() if h.id not in burst_hosts]
    views, _ = page.cloud.instances.describe(page.ctx, [], [])
    recent = sorted(views, key=lambda v: v.item.launch_time, reverse=True)[:5]
    return page.render("overview.html", bars=_bars(page), hosts=hosts, recent=recent,
                       ratios=page.cloud.settings, bursts=_burst_panels(page),
                       events=page.cloud.nova_actions.recent(page.ctx, EVENTS))
