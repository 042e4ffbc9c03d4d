"""A real third-party EC2 endpoint (moto_server on loopback) as the burst target, behind a
proxy the tests can close, and Overcast clouds whose only local host holds one t3.micro."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.burst.proxy import TcpProxy
from tests.conftest import RunningCloud, free_port, start_cloud

REMOTE_REGION = "us-east-1"
TARGET = "remote"
BURST_ZONE = f"overcast-1-burst-{TARGET}"
# One t3.micro (2 vCPUs) fills the fake host.
ALL_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
TINY_HOST = {"fake_vcpus": 2, "cpu_allocation_ratio": 1.0}


@dataclass
class Remote:
    url: str
    port: int

    def client(self):
        return boto3.client("ec2", endpoint_url=self.url, region_name=REMOTE_REGION,
                            aws_access_key_id="AKIDREMOTETEST", aws_secret_access_key="x",
                            config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="session")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    """moto_server, refusing unknown AMIs as EC2 does."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    env = {**os.environ, "MOTO_ENABLE_AMI_VALIDATION": "true"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    yield Remote(url, port)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="session")
def remote_ami(remote: Remote) -> str:
    images = remote.client().describe_images(Owners=["amazon"])["Images"]
    return sorted(i["ImageId"] for i in images if "amzn" in i.get("Name", ""))[0]


@dataclass
class Bursting:
    """An Overcast cloud with one burst target (through `proxy`) the admin project may use."""

    cloud: RunningCloud
    proxy: TcpProxy
    remote: Remote
    local_image: str
    remote_ami: str

    @property
    def ec2(self):
        return self.cloud.client()


def start_bursting(tmp: Path, remote: Remote, remote_ami: str, **target: str) -> Bursting:
    proxy = TcpProxy(remote.port)
    proxy.up()
    cloud = start_cloud(tmp, **TINY_HOST)
    extra = [a for k, v in target.items() for a in (f"--{k.replace('_', '-')}", v)]
    cloud.overcast("burst", "add", TARGET, "--endpoint", proxy.url, "--region", REMOTE_REGION,
                   "--access-key", "AKIDREMOTETEST", "--secret-key", "remote-secret", *extra)
    cloud.overcast("burst", "allow", "--project", "admin", TARGET)
    ec2 = cloud.client()
    local_image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    cloud.overcast("burst", "map-image", TARGET, local_image, remote_ami)
    return Bursting(cloud, proxy, remote, local_image, remote_ami)


def stop_bursting(running: Bursting) -> None:
    if running.cloud.process and running.cloud.process.poll() is None:
        running.cloud.stop()
    running.proxy.down()


@pytest.fixture
def bursting(tmp_path: Path, remote: Remote, remote_ami: str) -> Iterator[Bursting]:
    """A cloud of its own, its local host already full."""
    running = start_bursting(tmp_path, remote, remote_ami, max_instances="8")
    fill_local_host(running)
    yield running
    stop_bursting(running)


LIVE = ("pending", "running", "stopping", "stopped")


def remote_instances(remote: Remote, overcast_ids: list[str],
                     states: tuple[str, ...] = LIVE) -> list[dict]:
    return remote_instances_on(remote.client(), overcast_ids, states)


def remote_instances_on(client, overcast_ids: list[str],
                        states: tuple[str, ...] = LIVE) -> list[dict]:
    """The remote instances that carry these Overcast IDs in their tags."""
    found = client.describe_instances(Filters=[
        {"Name": "tag:overcast:instance-id", "Values": overcast_ids},
        {"Name": "instance-state-name", "Values": list(states)}])
    return [i for r in found["Reservations"] for i in r["Instances"]]


def instances(ec2, ids: list[str]) -> dict[str, dict]:
    found = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return {i["InstanceId"]: i for r in found for i in r["Instances"]}


def wait_until(check, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def fill_local_host(bursting: Bursting) -> str:
    """Launch the one instance the local host holds; returns its ID."""
    return fill_local_host_of(bursting.ec2, bursting.local_image)


def fill_local_host_of(ec2, image_id: str) -> str:
    launched = ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1,
                                 MaxCount=1)
    instance = launched["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == "overcast-1a"
    return instance["InstanceId"]
