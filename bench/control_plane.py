"""EC2 control plane at scale, Overcast side by side with moto_server (issue 3's benchmark).

    python -m bench.control_plane [--launch 1000] [--total 10000] [--threads 4]
                                  [--samples 100] [--samples-at-total 30]

One invocation starts both: Overcast (`overcast up`, fake driver, zero boot delay, SQLite with
every commit fsynced, as shipped) and moto_server, and runs the same boto3 workload against
each in turn:

1. launch `--launch` instances with RunInstances calls of 1 from `--threads` client threads,
   until every one of them is `running`: instances per second;
2. the same with calls of 50;
3. DescribeInstances latency (p50, p99 of single calls) with `--launch` instances and again
   with `--total` instances: unfiltered, paged with MaxResults=1000 and NextToken, and
   filtered by a tag that one instance in ten carries.

Every figure gets the ratio Overcast/moto: above 1 is better for launch rates, below 1 is
better for latencies.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ec2_control_plane import start_moto
from tests.conftest import RunningCloud, cloud_env, free_port

INSTANCE_TYPE = "t3.micro"
PAGE = 1000  # MaxResults of the paged listings (EC2's maximum)
TAG_KEY, TAG_VALUES = "bench", 10
READ_TIMEOUT = 900  # seconds: on a loaded machine moto takes minutes for some calls


@contextmanager
def overcast_cloud(tmp: Path) -> Iterator[RunningCloud]:
    """Overcast on the fake driver with room for many thousands of instances: a /18 default
    subnet per zone (a /20 holds only 4091), a huge fake host and huge quotas; the agent
    checks every second when nothing wakes it, as by default (the tests' cloud: 0.2 s)."""
    env = cloud_env(tmp, fake_boot_delay=0, fake_vcpus=10**6, fake_memory_mib=10**9,
                    fake_disk_gib=10**8, default_max_instances=10**6,
                    default_max_vcpus=10**7, default_subnet_prefix=18, agent_interval=1.0)
    env.pop("OVERCAST_DATABASE_URL", None)  # always SQLite: the benchmark is about it
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()


@contextmanager
def moto_cloud() -> Iterator[tuple[int, Callable[[], Any]]]:
    """moto_server's process ID and a factory of clients for it."""
    process, first = start_moto()
    endpoint = first.meta.endpoint_url
    import boto3
    from botocore.config import Config

    def client() -> Any:
        return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(retries={"max_attempts": 1},
                                          read_timeout=READ_TIMEOUT))
    try:
        yield process.pid, client
    finally:
        process.terminate()
        process.wait()


@dataclass
class Side:
    """One cloud under test: a factory of boto3 EC2 clients (one per thread) and its image."""

    name: str
    pid: int
    new_client: Callable[[], Any]
    image: str = ""

    def __post_init__(self) -> None:
        self.ec2 = self.new_client()
        self.image = self.ec2.describe_images()["Images"][0]["ImageId"]

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system, all threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Launch:
    seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds the server spent meanwhile
    instances: int = 0

    def add(self, other: Launch) -> None:
        self.seconds += other.seconds
        self.server_cpu += other.server_cpu
        self.instances += other.instances


def launch(side: Side, calls: list[int], per_call: int, threads: int) -> Launch:
    """One RunInstances call of `per_call` instances for each tag number in `calls`, from
    `threads` threads, until every instance launched is running."""
    pending = list(calls)
    lock = threading.Lock()
    ids: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        ec2 = side.new_client()
        while True:
            with lock:
                if not pending or errors:
                    return
                tag = str(pending.pop() % TAG_VALUES)
            try:
                made = ec2.run_instances(
                    ImageId=side.image, InstanceType=INSTANCE_TYPE, MinCount=per_call,
                    MaxCount=per_call, TagSpecifications=[{"ResourceType": "instance",
                                                           "Tags": [{"Key": TAG_KEY,
                                                                     "Value": tag}]}])
            except BaseException as exc:
                errors.append(exc)
                return
            with lock:
                ids.extend(i["InstanceId"] for i in made["Instances"])

    start, cpu = time.perf_counter(), side.cpu_seconds()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        raise errors[0]
    wait_running(side.ec2, set(ids))
    return Launch(time.perf_counter() - start, side.cpu_seconds() - cpu, len(ids))


def launch_rates(sides: list[Side], total: int, per_call: int, threads: int,
                 rounds: int = 5) -> dict[str, Launch]:
    """Each side's launches. The sides take turns, `total / rounds` instances at a time (the
    order swapped each round), so the shared machine's load weighs on both alike."""
    done = {side.name: Launch() for side in sides}
    numbers = list(range(total // per_call))
    for index in range(rounds):
        calls = numbers[index::rounds]
        for side in sides if index % 2 == 0 else sides[::-1]:
            done[side.name].add(launch(side, calls, per_call, threads))
    assert len({d.instances for d in done.values()}) == 1, f"unequal launches: {done}"
    return done


def wait_running(ec2: Any, ids: set[str], timeout: float = 600) -> None:
    """Until every instance in `ids` reads `running` (polling the instances not yet seen
    running, at most 1000 IDs per call)."""
    waiting = set(ids)
    deadline = time.monotonic() + timeout
    while waiting:
        batch = sorted(waiting)[:PAGE]
        found = ec2.describe_instances(InstanceIds=batch)
        for reservation in found["Reservations"]:
            for instance in reservation["Instances"]:
                if instance["State"]["Name"] == "running":
                    waiting.discard(instance["InstanceId"])
        if waiting and len(batch) == len(waiting):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(waiting)} instances not running")
            time.sleep(0.1)


def fill(side: Side, total: int) -> None:
    """Bring the cloud to `total` running instances (calls of 100; not measured)."""
    have = count(side.ec2, [])
    for number in range((total - have) // 100):
        made = side.ec2.run_instances(
            ImageId=side.image, InstanceType=INSTANCE_TYPE, MinCount=100, MaxCount=100,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": TAG_KEY, "Value": str(number % TAG_VALUES)}]}])
        wait_running(side.ec2, {i["InstanceId"] for i in made["Instances"]})
    assert count(side.ec2, []) == total, f"{side.name} has not {total} instances"


def count(ec2: Any, filters: list[dict]) -> int:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": PAGE})
    return sum(len(r["Instances"]) for page in pages for r in page["Reservations"])


class Walk:
    """DescribeInstances calls (MaxResults=1000) that follow NextToken through the whole list,
    and begin again at the end."""

    def __init__(self, ec2: Any, filters: list[dict]) -> None:
        self.ec2, self.filters = ec2, filters
        self.token, self.seen, self.walked = "", 0, 0
        self.seconds: list[float] = []

    def step(self) -> None:
        more = {"NextToken": self.token} if self.token else {}
        start = time.perf_counter()
        page = self.ec2.describe_instances(Filters=self.filters, MaxResults=PAGE, **more)
        self.seconds.append(time.perf_counter() - start)
        self.seen += sum(len(r["Instances"]) for r in page["Reservations"])
        self.token = page.get("NextToken", "")
        if not self.token:
            self.walked, self.seen = self.seen, 0


def describe_latencies(sides: list[Side], filters: list[dict],
                       samples: int) -> dict[str, Walk]:
    """`samples` calls on each side, the sides taking turns call by call."""
    walks = {side.name: Walk(side.ec2, filters) for side in sides}
    for _ in range(samples):
        for walk in walks.values():
            walk.step()
    return walks


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


Row = tuple[str, float, float, str]  # label, overcast, moto, unit


def describe_rows(sides: list[Side], instances: int, samples: int) -> list[Row]:
    rows: list[Row] = []
    cases = {"unfiltered": [], "tag filter (1/10)": [
        {"Name": f"tag:{TAG_KEY}", "Values": ["3"]}]}
    for case, filters in cases.items():
        walks = describe_latencies(sides, filters, samples)
        results = {name: walk.seconds for name, walk in walks.items()}
        for name, walk in walks.items():
            print(f"  {name}: {case} at {instances}: a walk sees {walk.walked}, "
                  f"median {statistics.median(walk.seconds) * 1000:.1f} ms", flush=True)
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            ours, theirs = (percentile(results[s.name], fraction) * 1000 for s in sides)
            rows.append((f"DescribeInstances {case}, {instances} instances, {name}",
                         ours, theirs, "ms"))
    return rows


def run(args: argparse.Namespace, tmp: Path) -> list[Row]:
    with overcast_cloud(tmp) as cloud, moto_cloud() as moto:
        assert cloud.process is not None
        sides = [Side("overcast", cloud.process.pid,
                      lambda: cloud.client(max_pool_connections=args.threads,
                                           read_timeout=READ_TIMEOUT)),
                 Side("moto", *moto)]
        rows: list[Row] = []
        for per_call in (1, 50):
            done = launch_rates(sides, args.launch, per_call, args.threads)
            print(f"  {args.launch} instances in calls of {per_call}: {done}", flush=True)
            ours, theirs = done["overcast"], done["moto"]
            label = f"launch {args.launch} to running, calls of {per_call}"
            rows.append((f"{label}, {args.threads} threads", ours.instances / ours.seconds,
                         theirs.instances / theirs.seconds, "inst/s"))
            rows.append((f"{label}: server CPU per instance", ours.server_cpu / ours.instances
                         * 1000, theirs.server_cpu / theirs.instances * 1000, "ms"))
            if per_call == 1:
                rows += describe_rows(sides, args.launch, args.samples)
        for side in sides:
            fill(side, args.total)
        rows += describe_rows(sides, args.total, args.samples_at_total)
        return rows


def report(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
             f"python {sys.version.split()[0]}, threads={args.threads}",
             "", "| | Overcast | moto_server | ratio Overcast/moto |", "| --- | --- | --- | --- |"]
    for label, ours, theirs, unit in rows:
        lines.append(f"| {label} | {ours:.1f} {unit} | {theirs:.1f} {unit} | "
                     f"{ours / theirs:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launch", type=int, default=1000)
    parser.add_argument("--total", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--samples", type=int, default=100,
                        help="DescribeInstances calls per case with --launch instances")
    parser.add_argument("--samples-at-total", type=int, default=30,
                        help="the same with --total instances (moto takes seconds a call)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args, Path(tmp))
    print(report(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
