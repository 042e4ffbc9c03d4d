"""`overcast status`: is the cloud up, and what its hosts hold."""

from __future__ import annotations

import argparse
import urllib.error
import urllib.request

from overcast.cli.runtime import add_data_dir, endpoint, open_cloud


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
    cloud = open_cloud(args)
    url = endpoint(cloud.settings)
    up = _answers(url)
    print(f"cloud: {'up' if up else 'down'} ({url})")
    hosts = cloud.hosts.list()
    print(f"{'HOST':<16} {'ZONE':<14} {'STATE':<8} {'VCPUS':>11} {'MEMORY-MIB':>17} "
          f"{'DISK-GIB':>11}")
    for h in hosts:
        state = "up" if h.alive and up else "down" if h.enabled else "disabled"
        print(f"{h.name:<16} {h.availability_zone:<14} {state:<8} "
              f"{h.used_vcpus:>5}/{h.vcpus:<5} {h.used_memory_mib:>8}/{h.memory_mib:<8} "
              f"{h.used_disk_gib:>5}/{h.disk_gib:<5}")
    return 0 if up else 1
