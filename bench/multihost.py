"""Launch rate to `running` with the agents out of the controller (issue 13's first figure).

    python -m bench.multihost [--launch 300] [--per-call 10] [--threads 4] [--hosts 0,1,2,4]

For each host count: a controller (`overcast up`, fake driver, zero boot delay, SQLite, agents
checking every second when nothing wakes them, as shipped) with its own in-process agent (0)
or with none and that many `overcast agent` processes joined over the agent API; then
`--launch` instances in RunInstances calls of `--per-call` from `--threads` client threads,
until every one is `running`: instances per second, and the controller's CPU seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.control_plane import Side
from tests.conftest import RunningCloud, cloud_env, free_port
from tests.multihost.conftest import join_token, start_agent

HUGE = {"fake_boot_delay": 0, "fake_vcpus": 10**5, "fake_memory_mib": 10**8,
        "fake_disk_gib": 10**7, "default_max_instances": 10**6, "default_max_vcpus": 10**7,
        "default_subnet_prefix": 18, "agent_interval": 1.0}


@contextmanager
def controller(tmp: Path, hosts: int) -> Iterator[RunningCloud]:
    env = cloud_env(tmp, **HUGE)
    env.pop("OVERCAST_DATABASE_URL", None)
    cloud = RunningCloud(tmp / "controller", free_port(), env,
                         up_args=("--no-local-agent",) if hosts else ())
    cloud.start()
    with ExitStack() as agents:
        try:
            for n in range(hosts):
                name = f"node{n + 1}"
                agent = start_agent(cloud, name, tmp / name, join_token(cloud, name))
                agents.callback(agent.stop)
            yield cloud
        finally:
            agents.close()
            cloud.stop()


def launch_all(side: Side, count: int, per_call: int, threads: int) -> float:
    """Seconds from the first call until every instance launched is running."""
    calls = [per_call] * (count // per_call)
    lock, ids = threading.Lock(), []

    def worker() -> None:
        ec2 = side.new_client()
        while True:
            with lock:
                if not calls:
                    return
                n = calls.pop()
            made = ec2.run_instances(ImageId=side.image, InstanceType="t3.micro",
                                     MinCount=n, MaxCount=n)["Instances"]
            with lock:
                ids.extend(i["InstanceId"] for i in made)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    while True:
        found = side.ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                                      "Values": ["pending"]}])
        if not any(r["Instances"] for r in found["Reservations"]):
            return time.perf_counter() - started
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launch", type=int, default=300)
    parser.add_argument("--per-call", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--hosts", default="0,1,2,4")
    args = parser.parse_args()
    print(f"{'hosts':>18} {'instances/s':>12} {'controller CPU s':>17}")
    for hosts in (int(h) for h in args.hosts.split(",")):
        with tempfile.TemporaryDirectory() as tmp, controller(Path(tmp), hosts) as cloud:
            assert cloud.process is not None
            side = Side("overcast", cloud.process.pid, cloud.client)
            cpu = side.cpu_seconds()
            seconds = launch_all(side, args.launch, args.per_call, args.threads)
            label = "in-process agent" if hosts == 0 else f"{hosts} agent process(es)"
            print(f"{label:>18} {args.launch / seconds:>12.1f} "
                  f"{side.cpu_seconds() - cpu:>17.1f}", flush=True)


if __name__ == "__main__":
    main()
