"""EC2 control plane, side by side with moto_server: the same boto3 workload against both.

    python -m bench.ec2_control_plane [--instances 200] [--rounds 3]

Overcast runs `overcast up --driver fake` (boot delay 0, so the figures are the control plane,
not a hypervisor); moto_server is the peer. The two take turns call by call. Prints
per-operation medians and the ratio overcast/moto (below 1.0: Overcast is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.conftest import RunningCloud, cloud_env, free_port

CONFIG = Config(retries={"max_attempts": 1}, max_pool_connections=4)


def start_moto() -> tuple[subprocess.Popen, object]:
    port = free_port()
    process = subprocess.Popen(["moto_server", "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    client = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}",
                          region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=CONFIG)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.describe_regions()
            return process, client
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_overcast(tmp: Path) -> tuple[RunningCloud, object]:
    env = cloud_env(tmp, fake_boot_delay=0, fake_vcpus=100000, fake_memory_mib=10**8,
                    fake_disk_gib=10**7, default_max_instances=100000,
                    default_max_vcpus=1000000)
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    return cloud, cloud.client(max_pool_connections=4)


@dataclass
class Side:
    """One cloud under test, with the instances the workload made in it."""

    ec2: Any
    image: str = ""
    ids: list[str] = field(default_factory=list)


Phase = tuple[str, Callable[[Side], Callable[[], object]], int]


def phases(instances: int, rounds: int) -> list[Phase]:
    """(label, per-cloud operation factory, repetitions), run in this order."""

    def run_one(side: Side) -> Callable[[], object]:
        def run() -> None:
            made = side.ec2.run_instances(
                ImageId=side.image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": "bench", "Value": str(len(side.ids) % 10)}]}])
            side.ids.append(made["Instances"][0]["InstanceId"])
        return run

    def stop_next(side: Side) -> Callable[[], object]:
        position = iter(range(len(side.ids)))
        return lambda: side.ec2.stop_instances(InstanceIds=[side.ids[next(position)]])

    def terminate_last(side: Side) -> Callable[[], object]:
        return lambda: side.ec2.terminate_instances(InstanceIds=[side.ids.pop()])

    tag_filter = [{"Name": "tag:bench", "Values": ["3"]}]
    return [
        ("RunInstances (1 instance)", run_one, instances),
        (f"DescribeInstances (all {instances}, default pages)",
         lambda s: lambda: _all_instances(s), rounds * 3),
        ("DescribeInstances (tag filter, 1/10)",
         lambda s: lambda: s.ec2.describe_instances(Filters=tag_filter), rounds * 5),
        ("DescribeInstances (one ID)",
         lambda s: lambda: s.ec2.describe_instances(InstanceIds=[s.ids[0]]), rounds * 10),
        ("DescribeInstances (100 per page, all)",
         lambda s: lambda: list(s.ec2.get_paginator("describe_instances").paginate(
             PaginationConfig={"PageSize": 100})), rounds),
        ("CreateTags (1 instance)",
         lambda s: lambda: s.ec2.create_tags(Resources=[s.ids[1]],
                                             Tags=[{"Key": "k", "Value": "v"}]), rounds * 10),
        ("DescribeImages", lambda s: s.ec2.describe_images, rounds * 10),
        ("StopInstances (1 instance)", stop_next, min(50, instances)),
        ("TerminateInstances (1 instance)", terminate_last, min(50, instances)),
    ]


def _all_instances(side: Side) -> int:
    """Every instance, following NextToken: moto_server answers 100 reservations per call
    without MaxResults, Overcast all of them."""
    pages = side.ec2.get_paginator("describe_instances").paginate()
    return sum(len(r["Instances"]) for page in pages for r in page["Reservations"])


def workload(sides: dict[str, Side], instances: int,
             rounds: int) -> dict[str, dict[str, float]]:
    """Median seconds per operation and cloud. The clouds take turns call by call, so a change
    in the machine's load (it is shared) weighs on both alike."""
    for side in sides.values():
        side.image = _image(side.ec2)
    results: dict[str, dict[str, float]] = {name: {} for name in sides}
    for label, factory, repeat in phases(instances, rounds):
        calls = {name: factory(side) for name, side in sides.items()}
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(repeat):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - start)
        for name, values in samples.items():
            results[name][label] = statistics.median(values)
        if label.startswith("RunInstances"):
            for name, side in sides.items():
                seen = _all_instances(side)
                assert seen == len(side.ids), f"{name} shows {seen} of {len(side.ids)}"
    return results


def _image(ec2) -> str:
    images = ec2.describe_images()["Images"]
    return images[0]["ImageId"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cloud, overcast_ec2 = start_overcast(Path(tmp))
        moto, moto_ec2 = start_moto()
        try:
            results = workload({"overcast": Side(overcast_ec2), "moto": Side(moto_ec2)},
                               args.instances, args.rounds)
            ours, theirs = results["overcast"], results["moto"]
        finally:
            cloud.stop()
            moto.terminate()
            moto.wait()
    print(f"EC2 control plane, {args.instances} instances, {os.cpu_count()} cores "
          f"(python {sys.version.split()[0]})")
    print(f"{'operation':<44} {'overcast ms':>12} {'moto ms':>10} {'ratio':>7}")
    for name, value in ours.items():
        print(f"{name:<44} {value * 1000:>12.1f} {theirs[name] * 1000:>10.1f} "
              f"{value / theirs[name]:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
