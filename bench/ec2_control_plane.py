"""EC2 control plane, side by side with moto_server: the same boto3 workload against both.

    python -m bench.ec2_control_plane [--instances 200] [--rounds 3]

Overcast runs `overcast up --driver fake` (boot delay 0, so the figures are the control plane,
not a hypervisor); moto_server is the peer. Prints per-operation medians and the ratio
overcast/moto (below 1.0: Overcast is faster).
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
from pathlib import Path

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


def timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def workload(ec2, instances: int, rounds: int) -> dict[str, float]:  # noqa: ANN001
    image = _image(ec2)
    results: dict[str, float] = {}
    ids: list[str] = []

    def run_one() -> None:
        made = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1,
                                 MaxCount=1, TagSpecifications=[{"ResourceType": "instance",
                                 "Tags": [{"Key": "bench", "Value": str(len(ids) % 10)}]}])
        ids.append(made["Instances"][0]["InstanceId"])

    results["RunInstances (1 instance)"] = timed(run_one, instances)
    results[f"DescribeInstances (all {instances})"] = timed(ec2.describe_instances, rounds * 3)
    results["DescribeInstances (tag filter, 1/10)"] = timed(lambda: ec2.describe_instances(
        Filters=[{"Name": "tag:bench", "Values": ["3"]}]), rounds * 5)
    results["DescribeInstances (one ID)"] = timed(lambda: ec2.describe_instances(
        InstanceIds=[ids[0]]), rounds * 10)
    results["DescribeInstances (100 per page, all)"] = timed(lambda: list(
        ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 100})),
        rounds)
    results["CreateTags (1 instance)"] = timed(lambda: ec2.create_tags(
        Resources=[ids[1]], Tags=[{"Key": "k", "Value": "v"}]), rounds * 10)
    results["DescribeImages"] = timed(ec2.describe_images, rounds * 10)
    position = iter(range(len(ids)))
    results["StopInstances (1 instance)"] = timed(lambda: ec2.stop_instances(
        InstanceIds=[ids[next(position)]]), min(50, instances))
    results["TerminateInstances (1 instance)"] = timed(lambda: ec2.terminate_instances(
        InstanceIds=[ids.pop()]), min(50, instances))
    return results


def _image(ec2) -> str:  # noqa: ANN001
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
            ours = workload(overcast_ec2, args.instances, args.rounds)
            theirs = workload(moto_ec2, args.instances, args.rounds)
        finally:
            cloud.stop()
            moto.terminate()
            moto.wait()
    print(f"EC2 control plane, {args.instances} instances, {os.cpu_count()} cores "
          f"(python {sys.version.split()[0]})")
    print(f"{'operation':<40} {'overcast ms':>12} {'moto ms':>10} {'ratio':>7}")
    for name, value in ours.items():
        print(f"{name:<40} {value * 1000:>12.1f} {theirs[name] * 1000:>10.1f} "
              f"{value / theirs[name]:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
