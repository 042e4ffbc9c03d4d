"""The overview: the project's quota use as bars, its newest instances, and for cloud admins
the hosts with their capacity and what is placed on them."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.wrappers import Response

from overcast.cloud.compute import quotas
from overcast.lifecycle import HOLDS_CPU, State
from overcast.web.page import Page

GONE = (State.TERMINATED, State.SHUTTING_DOWN)


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
            Bar("Image storage", round(size_used / 1024), round(size_limit / 1024), "GiB")]


def show(page: Page) -> Response:
    hosts = page.cloud.hosts.list() if page.ctx.is_admin else []
    views, _ = page.cloud.instances.describe(page.ctx, [], [])
    recent = sorted(views, key=lambda v: v.item.launch_time, reverse=True)[:5]
    return page.render("overview.html", bars=_bars(page), hosts=hosts, recent=recent,
                       ratios=page.cloud.settings)
