"""Prometheus metrics: counters kept by this process, and gauges read from the database when
scraped.

Counters and histograms live in prometheus_client's process-wide registry: several controller
processes each count their own requests and Prometheus sums them. Labels carry no tenant data
(no project or user): faces, actions as route templates, states, and hosts' and burst targets'
names, which only an operator chooses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from overcast.db import as_utc
from overcast.lifecycle import State

if TYPE_CHECKING:
    from overcast.cloud.service import Cloud

MIB = 1024 * 1024
REQUESTS = Counter("overcast_api_requests", "API requests answered, by face, action and "
                   "HTTP status.", ["face", "action", "status"])
LATENCY = Histogram("overcast_api_request_duration_seconds", "Time to answer an API request "
                    "(until the response starts), by face and action.", ["face", "action"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
AGENT_TICK = Histogram("overcast_agent_tick_duration_seconds", "Time of one reconciler "
                       "tick of a host's agent.", ["host"],
                       buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels or [])


class CloudCollector(Collector):
    """Gauges read from the database at scrape time: a few cheap aggregate queries."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def collect(self) -> Iterator[Metric]:
        yield self._instances()
        burst_hosts = {t.host_id: t for t in self.cloud.burst.targets()}
        hosts = self.cloud.hosts.list()
        yield from self._hosts([h for h in hosts if h.id not in burst_hosts])
        yield from self._ratios()
        yield from self._burst(burst_hosts, {h.id: h for h in hosts})

    def _instances(self) -> Metric:
        counts = self.cloud.instances.count_by_state()
        gauge = _gauge("overcast_instances", "Instances by state (all projects; terminated "
                       "ones until purged).", ["state"])
        for state in State:
            gauge.add_metric([state.value], counts.get(state.value, 0))
        return gauge

    def _hosts(self, hosts: list) -> Iterator[Metric]:
        labels = ["host", "zone", "driver"]
        families = {
            "vcpus": _gauge("overcast_host_vcpus", "A host's vCPUs.", labels),
            "used_vcpus": _gauge("overcast_host_vcpus_allocated", "vCPUs its instances hold "
                                 "(compare with vcpus × the CPU allocation ratio).", labels),
            "memory_mib": _gauge("overcast_host_memory_bytes", "A host's memory.", labels),
            "used_memory_mib": _gauge("overcast_host_memory_allocated_bytes",
                                      "Memory its instances hold.", labels),
            "disk_gib": _gauge("overcast_host_disk_bytes", "A host's instance disk space.",
                               labels),
            "used_disk_gib": _gauge("overcast_host_disk_allocated_bytes",
                                    "Disk its instances hold.", labels),
        }
        scale = {"memory_mib": MIB, "used_memory_mib": MIB, "disk_gib": 1024 * MIB,
                 "used_disk_gib": 1024 * MIB}
        up = _gauge("overcast_host_up", "1 if the host's agent checked in lately and the host "
                    "is enabled.", labels)
        for host in hosts:
            values = [host.name, host.availability_zone, host.driver]
            for attr, family in families.items():
                family.add_metric(values, getattr(host, attr) * scale.get(attr, 1))
            up.add_metric(values, 1 if host.alive and host.enabled else 0)
        yield from families.values()
        yield up

    def _ratios(self) -> Iterator[Metric]:
        settings = self.cloud.settings
        for kind, value in (("cpu", settings.cpu_allocation_ratio),
                            ("ram", settings.ram_allocation_ratio),
                            ("disk", settings.disk_allocation_ratio)):
            gauge = _gauge(f"overcast_{kind}_allocation_ratio",
                           f"How far the scheduler overcommits hosts' {kind}.")
            gauge.add_metric([], value)
            yield gauge

    def _burst(self, targets: dict, hosts: dict) -> Iterator[Metric]:
        labels = ["target"]
        contact = _gauge("overcast_burst_target_last_contact_timestamp_seconds",
                         "When the target last answered (0: never).", labels)
        errors = _gauge("overcast_burst_target_consecutive_errors",
                        "Failed calls in a row (0: the last call worked).", labels)
        last_error = _gauge("overcast_burst_target_last_error_timestamp_seconds",
                            "When the target last failed (0: never).", labels)
        vcpus = _gauge("overcast_burst_target_vcpus_allocated",
                       "vCPUs of the instances placed on the target.", labels)
        for host_id, target in targets.items():
            name = [target.name]
            contact.add_metric(name, _stamp(target.last_contact))
            errors.add_metric(name, target.error_count or 0)
            last_error.add_metric(name, _stamp(target.last_error_at))
            host = hosts.get(host_id)
            vcpus.add_metric(name, host.used_vcpus if host else 0)
        yield from (contact, errors, last_error, vcpus)


def _stamp(value: datetime | None) -> float:
    return as_utc(value).timestamp() if value is not None else 0.0


class _Exposition:
    """The process-wide registry followed by one cloud's gauges."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = CloudCollector(cloud)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self.cloud.collect()


def exposition(cloud: Cloud) -> _Exposition:
    return _Exposition(cloud)


def render(source: _Exposition) -> bytes:
    return generate_latest(source)
