"""`overcast status`: is the cloud up, and what its hosts hold."""

from __future__ import annotations

import argparse
import math
import urllib.error
import urllib.request
from datetime import datetime

from overcast.cli.runtime import add_data_dir, endpoint, open_existing_cloud
from overcast.clock import as_utc
from overcast.cloud.service import Cloud


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="is the cloud up; its hosts and their capacity")
    add_data_dir(parser)
    parser.set_defaults(func=run)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=3)
    except urllib.error.HTTPError:
        return True  # it answered, if only to say the request was unsigned
    except OSError:
        return False
    return True


def run(args: argparse.Namespace) -> int:
    cloud = open_existing_cloud(args)
    url = endpoint(cloud.settings)
    up = _answers(url)
    print(f"cloud: {'up' if up else 'down'} ({url})")
    burst_hosts = {t.host_id for t in cloud.burst.targets()}
    hosts = [h for h in cloud.hosts.list() if h.id not in burst_hosts]
    settings = cloud.settings
    for h in hosts:
        state = "up" if h.alive and up else "down" if h.enabled else "disabled"
        vcpus = _share(h.used_vcpus, h.vcpus, settings.cpu_allocation_ratio)
        memory = _share(h.used_memory_mib, h.memory_mib, settings.ram_allocation_ratio, "MiB")
        disk = _share(h.used_disk_gib, h.disk_gib, settings.disk_allocation_ratio, "GiB")
        print(f"host {h.name} (zone {h.availability_zone}): {state}, "
              f"{h.network_mode} networking\n"
              f"  vCPUs   {vcpus}\n  memory  {memory}\n  disk    {disk}")
    if not hosts:
        print("no hosts yet (a running overcast up registers its own within seconds)")
    _burst_targets(cloud)
    return 0 if up else 1


def _share(used: int, physical: int, ratio: float, unit: str = "") -> str:
    """Used of what the scheduler may place (physical × allocation ratio): '2 of 8 (2 × 4.0)'."""
    total = math.floor(physical * ratio + 1e-9)  # demands are whole units
    return f"{used} of {total}{' ' + unit if unit else ''} ({physical} × {float(ratio)})"


def _limit(value: int | None) -> str:
    return "-" if value is None else str(value)


def _when(value: datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S") if value else "never"


def _burst_targets(cloud: Cloud) -> None:
    """Per burst target: instances, vCPUs used of the limit, last contact, errors."""
    usage = cloud.burst.usage()
    if not usage:
        return
    print(f"\n{'BURST TARGET':<16} {'ZONE':<26} {'INSTANCES':>9} {'VCPUS':>11} "
          f"{'LAST CONTACT':<20} ERRORS")
    for use in usage:
        t = use.target
        errors = (f"failing ({t.error_count} in a row): {t.last_error}" if t.error_count
                  else f"ok (last error {_when(t.last_error_at)}: {t.last_error})"
                  if t.last_error else "none")
        print(f"{t.name:<16} {t.zone:<26} {use.instances:>4}/{_limit(t.max_instances):<4} "
              f"{use.vcpus:>5}/{_limit(t.max_vcpus):<5} {_when(t.last_contact):<20} "
              f"{errors[:200]}")
